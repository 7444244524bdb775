"""The evidence tables: packs (one row per captured folder) and the queue of urgent mentions
waiting for their automatic pack. Rows only; monitor/evidence/ captures and checks the files.

Every function takes the caller's `Tx`. The queue row of an urgent mention is written in the
transaction that stores the mention (`enqueue`), claimed with a lease (`claim`), and marked done
in the transaction that records the finished pack (`finish_pack(..., queue_done=True)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from monitor.store.repository import Tx
from monitor.store.schema import EvidencePackRecord, EvidenceQueueRecord

CAPTURING, OK, PARTIAL, FAILED = "capturing", "ok", "partial", "failed"


@dataclass(frozen=True)
class PackRow:
    id: int
    mention_id: int | None
    academy_id: str
    url: str
    path: str
    created_at: datetime
    requested_by: str
    manifest_sha256: str
    status: str
    cut_at_deadline: bool


def _row(r: EvidencePackRecord) -> PackRow:
    return PackRow(
        r.id,
        r.mention_id,
        r.academy_id,
        r.url,
        r.path,
        r.created_at,
        r.requested_by,
        r.manifest_sha256,
        r.status,
        bool(r.cut_at_deadline),
    )


# --- packs -----------------------------------------------------------------------------------


def start_pack(
    tx: Tx, mention_id: int | None, academy_id: str, url: str, requested_by: str, now: datetime
) -> int:
    """A row for a pack about to be captured (status "capturing"); its id names the folder."""
    rec = EvidencePackRecord(
        mention_id=mention_id,
        academy_id=academy_id,
        url=url,
        path="",
        created_at=now,
        requested_by=requested_by,
        manifest_sha256="",
        status=CAPTURING,
        cut_at_deadline=False,
    )
    tx.session.add(rec)
    tx.session.flush()
    return rec.id


def set_path(tx: Tx, pack_id: int, path: str) -> None:
    tx.session.execute(
        update(EvidencePackRecord).where(EvidencePackRecord.id == pack_id).values(path=path)
    )


def finish_pack(
    tx: Tx, pack_id: int, status: str, manifest_sha256: str, cut_at_deadline: bool
) -> None:
    tx.session.execute(
        update(EvidencePackRecord)
        .where(EvidencePackRecord.id == pack_id)
        .values(status=status, manifest_sha256=manifest_sha256, cut_at_deadline=cut_at_deadline)
    )


def delete_pack(tx: Tx, pack_id: int) -> None:
    """The row of a capture that did not finish (its folder is removed by the caller)."""
    tx.session.execute(delete(EvidencePackRecord).where(EvidencePackRecord.id == pack_id))


def unfinished_automatic(tx: Tx, mention_id: int) -> list[PackRow]:
    """Packs of this mention left "capturing" by an automatic capture that died (a process
    killed midway). Only the holder of the mention's queue claim may call this: while it holds
    the claim no other automatic capture of the mention is running."""
    q = select(EvidencePackRecord).where(
        EvidencePackRecord.mention_id == mention_id,
        EvidencePackRecord.status == CAPTURING,
        EvidencePackRecord.requested_by.startswith("automatic"),
    )
    return [_row(r) for r in tx.session.scalars(q)]


def set_manifest(tx: Tx, pack_id: int, manifest_sha256: str) -> None:
    """The manifest changes when the custody log grows (an export); the row follows it."""
    tx.session.execute(
        update(EvidencePackRecord)
        .where(EvidencePackRecord.id == pack_id)
        .values(manifest_sha256=manifest_sha256)
    )


def get(tx: Tx, pack_id: int) -> PackRow | None:
    rec = tx.session.get(EvidencePackRecord, pack_id)
    return _row(rec) if rec is not None else None


def for_mention(tx: Tx, mention_id: int) -> list[PackRow]:
    q = (
        select(EvidencePackRecord)
        .where(EvidencePackRecord.mention_id == mention_id)
        .order_by(EvidencePackRecord.id.desc())
    )
    return [_row(r) for r in tx.session.scalars(q)]


def list_packs(tx: Tx, academy_id: str | None = None, limit: int = 200) -> list[PackRow]:
    q = select(EvidencePackRecord).order_by(EvidencePackRecord.id.desc()).limit(limit)
    if academy_id is not None:
        q = q.where(EvidencePackRecord.academy_id == academy_id)
    return [_row(r) for r in tx.session.scalars(q)]


def all_paths(tx: Tx) -> set[str]:
    return set(tx.session.scalars(select(EvidencePackRecord.path)))


def delete_for_mentions(tx: Tx, mention_ids: Sequence[int]) -> int:
    """Rows of the packs (and queue entries) of mentions being purged or erased; their folders
    are removed after the commit by the orphan sweep (monitor/evidence/pack.py)."""
    if not mention_ids:
        return 0
    ids = list(mention_ids)
    tx.session.execute(delete(EvidenceQueueRecord).where(EvidenceQueueRecord.mention_id.in_(ids)))
    res = tx.session.execute(
        delete(EvidencePackRecord).where(EvidencePackRecord.mention_id.in_(ids))
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


# --- the queue of automatic captures ----------------------------------------------------------


def enqueue(tx: Tx, mention_id: int, now: datetime) -> None:
    """Inside the transaction that stores the urgent mention (a new mention: never a repeat)."""
    if tx.session.get(EvidenceQueueRecord, mention_id) is None:
        tx.session.add(EvidenceQueueRecord(mention_id=mention_id, enqueued_at=now, attempts=0))


def pending(tx: Tx, now: datetime, limit: int = 50) -> list[int]:
    """Mentions waiting for a capture and not claimed by a live capture."""
    q = (
        select(EvidenceQueueRecord.mention_id)
        .where(
            EvidenceQueueRecord.done_at.is_(None),
            or_(
                EvidenceQueueRecord.claimed_until.is_(None),
                EvidenceQueueRecord.claimed_until <= now,
            ),
        )
        .order_by(EvidenceQueueRecord.enqueued_at, EvidenceQueueRecord.mention_id)
        .limit(limit)
    )
    return list(tx.session.scalars(q))


def claim(tx: Tx, mention_id: int, now: datetime, lease_until: datetime) -> bool:
    """Take the capture of this mention until `lease_until`; False when it is done, or another
    capture holds a lease that has not ended (one UPDATE, so two claimers cannot both win)."""
    res = tx.session.execute(
        update(EvidenceQueueRecord)
        .where(
            EvidenceQueueRecord.mention_id == mention_id,
            EvidenceQueueRecord.done_at.is_(None),
            or_(
                EvidenceQueueRecord.claimed_until.is_(None),
                EvidenceQueueRecord.claimed_until <= now,
            ),
        )
        .values(claimed_until=lease_until, attempts=EvidenceQueueRecord.attempts + 1)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def mark_done(tx: Tx, mention_id: int, now: datetime) -> None:
    tx.session.execute(
        update(EvidenceQueueRecord)
        .where(EvidenceQueueRecord.mention_id == mention_id)
        .values(done_at=now, claimed_until=None)
    )


def release(tx: Tx, mention_id: int, error: str) -> None:
    """A capture that could not finish: let a later sweep try again."""
    tx.session.execute(
        update(EvidenceQueueRecord)
        .where(EvidenceQueueRecord.mention_id == mention_id)
        .values(claimed_until=None, last_error=error[:2000])
    )


def queue_state(tx: Tx, mention_id: int) -> tuple[int, datetime | None] | None:
    """(attempts, done_at) of a queued mention, for `evidence list` and the tests."""
    rec = tx.session.get(EvidenceQueueRecord, mention_id)
    return (rec.attempts, rec.done_at) if rec is not None else None
