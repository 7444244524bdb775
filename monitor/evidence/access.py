"""Opening a pack: export as a zip (custody line first) and the automatic capture of urgent
mentions (claim, capture, done), on top of capture.py and the evidence tables.

Packs hold the unredacted original. The caller checks the role (head, dsl, dpo: the workspace's
evidence panel, monitor/web/intake.py); the custody line and the audit row are written here,
always.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.evidence import pack
from monitor.evidence.capture import EvidenceError, Pack, capture_for_mention, lease_for
from monitor.store import evidence as rows

if TYPE_CHECKING:
    from monitor.jobs import JobContext
    from monitor.models import Assessment, Mention
    from monitor.runner import NoticeSink
    from monitor.store import Tx

log = logging.getLogger(__name__)


def latest_for_mention(ctx: JobContext, mention_id: int) -> rows.PackRow:
    with ctx.store.transaction() as tx:
        found = [p for p in rows.for_mention(tx, mention_id) if p.status != rows.CAPTURING]
    if not found:
        raise EvidenceError(f"mention {mention_id} has no evidence pack")
    return found[0]


def export_pack(
    ctx: JobContext, pack_row: rows.PackRow, output: Path, actor: str, client: str = "cli"
) -> Path:
    """Append the export to the custody log (and the row's manifest hash) and the audit log
    (action "evidence.export"), then zip the pack. The caller has checked the role."""
    from monitor.store.audit import AuditEntry

    folder = Path(pack_row.path)
    if not folder.is_dir():
        raise EvidenceError(f"pack {pack_row.id}: its folder {folder} is missing")
    now = ctx.now()
    manifest = pack.append_custody(folder, now, "exported", actor, f"to {output.name}")
    with ctx.store.transaction() as tx:
        rows.set_manifest(tx, pack_row.id, manifest)
        tx.audit(
            AuditEntry(
                now,
                actor,
                "evidence.export",
                academy_id=pack_row.academy_id,
                target=f"pack:{pack_row.id}",
                detail=f"mention:{pack_row.mention_id or '-'} to {output.name}",
                client=client,
            )
        )
    return pack.export_zip(folder, output)


def capture_queued(ctx: JobContext, mention_id: int) -> Pack | None:
    """The automatic capture of one urgent mention: claimed with a lease (None when done or
    another capture holds it), captured, and marked done with the pack's row. A crash before
    that commit leaves the claim to expire, and a later sweep captures it again (into a new
    folder) and first removes the half-made pack the dead attempt left ("capturing"). A capture
    that fails with an exception removes its own half-made pack and releases the claim."""
    now = ctx.now()
    with ctx.store.transaction() as tx:
        if not rows.claim(tx, mention_id, now, now + lease_for(ctx.settings)):
            return None
        # What a killed earlier attempt left half-made (its claim has ended, so it is dead).
        leftovers = rows.unfinished_automatic(tx, mention_id)
        for row in leftovers:
            rows.delete_pack(tx, row.id)
    for row in leftovers:
        if row.path:
            shutil.rmtree(row.path, ignore_errors=True)
    try:
        reported = bool(ctx.store.intake.reports_for_mention(mention_id))
        why = "automatic (reported mention)" if reported else "automatic (urgent mention)"
        return capture_for_mention(ctx, mention_id, why, queue_done=True)
    except EvidenceError as exc:
        # Nothing to capture (no URL, refused address): done, with the reason kept.
        with ctx.store.transaction() as tx:
            rows.release(tx, mention_id, str(exc))
            rows.mark_done(tx, mention_id, ctx.now())
        log.warning("urgent mention not captured", extra={"mention": mention_id, "why": str(exc)})
        return None
    except Exception as exc:
        with ctx.store.transaction() as tx:
            rows.release(tx, mention_id, f"{type(exc).__name__}: {exc}")
        raise


def pending_captures(ctx: JobContext) -> list[int]:
    with ctx.store.transaction() as tx:
        return rows.pending(tx, ctx.now())


def remove_orphan_folders(ctx: JobContext) -> int:
    """Pack folders whose rows went with their mention (retention, erasure)."""
    with ctx.store.transaction() as tx:
        keep = rows.all_paths(tx)
    return len(pack.remove_orphans(pack.evidence_dir(ctx.settings), keep))


class UrgentEvidenceSink:
    """Wraps the runner's notice sink: an urgent mention also gets an evidence queue row, in the
    same transaction as the mention and its alert (so the capture can be neither lost nor
    doubled by a crash). The periodic sweep (`monitor.jobs.capture_evidence_sweep`) runs it."""

    def __init__(self, inner: NoticeSink) -> None:
        self.inner = inner

    def enqueue(
        self, tx: Tx, mention: Mention, assessment: Assessment | None, now: datetime
    ) -> int:
        n = self.inner.enqueue(tx, mention, assessment, now)
        if assessment is not None and assessment.urgent and mention.url:
            rows.enqueue(tx, mention.id, now)
        return n
