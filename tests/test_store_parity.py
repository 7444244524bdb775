"""The same store and outbox behaviour on SQLite and on a real PostgreSQL server.

Each test runs twice through the `database_url` fixture: a fresh SQLite file, and a fresh
database on a PostgreSQL server that tests/postgres.py starts once for this module. Covers what
differs between the two engines: case in `erase --containing`, LIKE wildcards, the outbox's
uniqueness, and two dispatchers claiming at once (SKIP LOCKED on PostgreSQL, one writer on SQLite).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from alerts import outbox
from alerts.smtp import SmtpTransport
from monitor.config import Settings
from monitor.store import Store
from tests.alerts_support import free_port, make_settings, smtp_server, store_mention

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/parity.db"
    server: str = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server.rsplit("/", 1)[0] + "/" + name
    Store.migrate(url).close()  # explicit on PostgreSQL, as `mention-monitor migrate` does
    return url


def _settings(tmp_path: Path, database_url: str, **mail: object) -> Settings:
    s = make_settings(tmp_path, mail=mail or None)
    return s.model_copy(update={"database_url": database_url})


def test_erase_containing_ignores_case_and_treats_wildcards_literally(
    tmp_path: Path, database_url: str
) -> None:
    settings = _settings(tmp_path, database_url)
    store = Store.open(database_url)
    try:
        fete, _ = store_mention(
            store, settings, title="Ankermoor Summer FETE", text="A Great Day Out", now=T0
        )
        pct, _ = store_mention(
            store, settings, title="Ankermoor results", text="100% pass_rate this year", now=T0
        )
        other, _ = store_mention(
            store, settings, title="Ankermoor choir", text="1000 pupils sang", now=T0
        )
        assert store.find_mention_ids(text="great day") == [fete.id]
        assert store.find_mention_ids(text="summer fete") == [fete.id]
        assert store.find_mention_ids(text="GREAT DAY OUT") == [fete.id]
        # % and _ are the text itself, not LIKE wildcards.
        assert store.find_mention_ids(text="100%") == [pct.id]
        assert store.find_mention_ids(text="pass_rate") == [pct.id]
        assert store.find_mention_ids(text="10_0") == []
        assert sorted(store.find_mention_ids(text="ANKERMOOR")) == sorted(
            [fete.id, pct.id, other.id]
        )
        assert store.erase(store.find_mention_ids(text="a GREAT day")) == 1
        assert {m.id for m, _ in store.mentions()} == {pct.id, other.id}
    finally:
        store.close()


def test_an_urgent_mention_queues_each_notice_once(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url)
    store = Store.open(database_url)
    try:
        m, queued = store_mention(
            store,
            settings,
            title="Leak",
            text="Ankermoor password: Xy12345!",
            categories=["data_leak"],
            urgent=True,
            now=T0,
        )
        assert queued == 2  # the two configured recipients
        # A second copy of the same story adds no second alert to anyone.
        _, again = store_mention(
            store,
            settings,
            title="Leak again",
            text="Ankermoor password: Xy12345! (copy)",
            categories=["data_leak"],
            urgent=True,
            now=T0,
            cluster=m.cluster_id,
            url="https://other.example.org/copy",
        )
        assert again == 0
        rows = outbox.list_notices(store)
        assert sorted(r.recipient for r in rows) == [
            "dpo@fierte-trust.example.org",
            "head@ankermoor.example.org",
        ]
        assert all(r.status == outbox.PENDING for r in rows)
    finally:
        store.close()


def test_two_dispatchers_at_once_send_each_notice_once(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    settings = _settings(
        tmp_path, database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
    )
    store = Store.open(database_url)
    try:
        queued = 0
        for i in range(8):
            _, q = store_mention(
                store,
                settings,
                title=f"Leak number {i}",
                text=f"Ankermoor password: Secret{i}!",
                categories=["data_leak"],
                urgent=True,
                now=T0,
            )
            queued += q
        assert queued == 16
        results: list[outbox.DispatchResult] = []
        start = threading.Barrier(2)

        def dispatch() -> None:
            start.wait()
            results.append(
                outbox.dispatch_pending(store, settings, SmtpTransport(settings.mail), T0)
            )

        with smtp_server(port=port) as srv:
            workers = [threading.Thread(target=dispatch) for _ in range(2)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            received = srv.handler.messages()
        assert sum(r.sent for r in results) == queued
        ids = Counter(m["Message-ID"] for m in received)
        assert len(ids) == queued and set(ids.values()) == {1}
        assert outbox.counts(store) == {outbox.SENT: queued}
    finally:
        store.close()


def test_bulk_duplicate_lookup_agrees_with_the_single_one(
    tmp_path: Path, database_url: str
) -> None:
    from monitor.models import Match, RawItem
    from monitor.store.repository import Candidate

    def cand(source: str, ext: str, fp: str, url: str | None, org: str = "ankermoor") -> Candidate:
        item = RawItem(f"{org}/{source}", ext, url, "Ankermoor", "x", published_at=T0)
        return Candidate(item, Match(org, "Ankermoor", "title", 0, 9), url, fp, 1, (1, 2, 3, 4))

    store = Store.open(database_url)
    try:
        with store.transaction() as tx:
            assert tx.add_mention(cand("news", "a", "fp-a", "https://x.example/a"), None, T0)
        probes = [
            cand("news", "a", "fp-new1", None),  # same source id
            cand("blog", "b", "fp-a", None),  # same text
            cand("blog", "c", "fp-new2", "https://x.example/a"),  # same page, other source
            cand("news", "d", "fp-new3", "https://x.example/a"),  # same page, same source: new
            cand("news", "e", "fp-new4", "https://x.example/e"),  # new
            cand("news", "a", "fp-a", "https://x.example/a", org="other"),  # other academy
        ]
        with store.transaction() as tx:
            single = [tx.find_duplicate(c) is not None for c in probes]
            bulk = tx.find_duplicates(probes)
        assert bulk == single == [True, True, True, False, False, False]
    finally:
        store.close()
