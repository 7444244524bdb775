"""The outbox sink reads the rows every urgent notice needs (providers, mutes, each recipient's
consent row) once per transaction, not once per mention, and never carries them into the next
transaction: a mute made in between is obeyed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from alerts import outbox, subscriptions
from alerts.outbox import OutboxSink
from monitor.models import Match, RawItem
from monitor.store import Store
from monitor.store.repository import Candidate
from tests.alerts_support import assess, make_settings

NOW = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
HEAD, DPO = "head@ankermoor.example.org", "dpo@fierte-trust.example.org"


def _candidate(n: int) -> Candidate:
    item = RawItem("ankermoor/forum", f"ext-{n}", f"https://f.example/{n}", "", f"leak {n}")
    return Candidate(
        item=item,
        match=Match("ankermoor", "Ankermoor Primary Academy", "text", 0, 5),
        canonical_url=f"https://f.example/{n}",
        fingerprint=f"fp{n:08d}",
        simhash=n * 7919,
        bands=(n, n + 1, n + 2, n + 3),
    )


def _store_batch(store: Store, sink: OutboxSink, first: int, count: int) -> tuple[int, list[str]]:
    """Store `count` urgent leaks in ONE transaction, as a source run does; (notices queued, the
    SQL run against the subscribers table)."""
    seen: list[str] = []

    def spy(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "FROM subscribers" in statement:
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", spy)
    try:
        queued = 0
        with store.transaction() as tx:
            for n in range(first, first + count):
                m = tx.add_mention(_candidate(n), None, NOW)
                assert m is not None
                a = assess("", f"leak {n}", ["data_leak"], urgent=True)
                tx.add_assessment(m.id, a, NOW)
                queued += sink.enqueue(tx, m, a, NOW)
    finally:
        event.remove(store.engine, "before_cursor_execute", spy)
    return queued, seen


def test_a_batch_reads_the_subscribers_once_and_a_later_mute_is_obeyed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    sink = OutboxSink(settings)

    queued, reads = _store_batch(store, sink, 1, 5)
    assert queued == 10  # every mention alerts both recipients
    # Providers, recipients (for mutes), and one consent row per recipient: not per mention.
    assert len(reads) == 4, reads

    # A mute in a transaction of its own is seen by the next batch (nothing memoised across).
    subscriptions.mute(store, settings, DPO, urgent_academies=["ankermoor"], digest=False, now=NOW)
    queued, _ = _store_batch(store, sink, 6, 3)
    assert queued == 3
    by_recipient = Counter(r.recipient for r in outbox.list_notices(store))
    assert by_recipient == {HEAD: 8, DPO: 5}
    store.close()
