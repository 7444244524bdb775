"""End to end: a screenshot forwarded to the real IMAP server (dovecot) goes through the real
intake core, becomes a `reported-email` mention, and the evidence sweep gives it a pack that
holds the original mail and the screenshot and passes `evidence verify`."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.evidence import export_pack, verify
from monitor.evidence.access import latest_for_mention
from monitor.jobs import JobContext, capture_evidence_sweep, poll_intake_mailbox
from monitor.store import Store
from monitor.store import evidence as pack_rows
from tests.imap import Dovecot, dovecot
from tests.intake_mail_support import MAIL, imap_settings

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def srv() -> Iterator[Dovecot]:
    with dovecot() as s:
        s.empty("intake")
        yield s


def test_a_forwarded_screenshot_becomes_a_mention_with_a_verified_pack(
    tmp_path: Path, srv: Dovecot
) -> None:
    raw = (MAIL / "apple-inline-image.eml").read_bytes()
    srv.deliver("intake", raw)
    settings = imap_settings(tmp_path, port=srv.port)
    ctx = JobContext(settings, Store.open(settings.database_url), clock=lambda: NOW, score=False)
    try:
        result = poll_intake_mailbox(ctx, force=True)
        assert len(result.reported) == 1, result
        ((mention, _),) = ctx.store.mentions(organisation="ankermoor", limit=5)
        assert mention.source_key == "ankermoor/reported-email"
        with ctx.store.transaction() as tx:
            assert pack_rows.queue_state(tx, mention.id) == (0, None)  # queued with the mention
        assert capture_evidence_sweep(ctx) == 1
        assert capture_evidence_sweep(ctx) == 0  # done: not captured twice
        row = latest_for_mention(ctx, mention.id)
        assert row.status == "ok" and row.requested_by == "automatic (reported mention)"
        folder = Path(row.path)
        assert verify(folder) == []
        names = sorted(p.name for p in folder.iterdir())
        (shot,) = [n for n in names if n.startswith("reported-")]
        assert shot.endswith(".jpeg") or shot.endswith(".jpg")
        kept = (folder / "original.eml").read_bytes().replace(b"\r\n", b"\n")
        assert kept == raw.replace(b"\r\n", b"\n")
        # the export (CLI actor) verifies, is in the custody log and the audit log
        out = export_pack(ctx, row, tmp_path / "pack.zip", "cli:tester")
        assert verify(out) == []
        with zipfile.ZipFile(out) as z:
            assert "original.eml" in z.namelist() and shot in z.namelist()
        (entry,) = ctx.store.audit_entries(action="evidence.export")
        assert entry.entry.actor == "cli:tester" and entry.entry.target == f"pack:{row.id}"
        # tampering with the kept mail is named
        (folder / "original.eml").write_bytes(b"edited")
        assert any(p.startswith("original.eml: SHA-256") for p in verify(folder))
    finally:
        ctx.close()
