"""Storage: migrations build exactly the schema the code declares; SQLite runs in WAL mode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from monitor.store import Store
from monitor.store.schema import Base


def test_migrations_match_the_models(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"schema.py and the migrations differ: {diff}"
    store.close()


def test_open_twice_is_idempotent_and_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    Store.open(url).close()
    store = Store.open(url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("select version_num from alembic_version")).scalar()
    store.close()


def test_scheduling_state_round_trip(tmp_path: Path) -> None:
    from sources.base import SourceState

    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    store.sync_sources([("a/one", "a", "feed")], now)
    assert [r.key for r in store.due_sources(now, ["a/one"])] == ["a/one"]
    later = datetime(2026, 11, 28, 7, 15, tzinfo=UTC)
    with store.transaction() as tx:
        tx.source_succeeded(
            "a/one",
            SourceState('"e1"', "Sat, 28 Nov 2026 07:00:00 GMT", "c"),
            now,
            later,
            not_modified=False,
            newest_item=None,
        )
    row = store.source("a/one")
    assert row.state == SourceState('"e1"', "Sat, 28 Nov 2026 07:00:00 GMT", "c")
    assert row.next_check_at == later and row.last_success_at == now
    assert store.due_sources(now, ["a/one"]) == []
    with store.transaction() as tx:
        assert (
            tx.source_failed(
                "a/one",
                "timed out",
                later,
                later,
            )
            == 1
        )
        assert tx.source_failed("a/one", "timed out", later, later) == 2
    assert store.source("a/one").last_error == "timed out"
    store.close()
