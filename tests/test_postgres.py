"""PostgreSQL works by URL: migrations, the schema check and a full collection on a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitor.app import App
from monitor.config import Settings
from monitor.service import build_runner
from monitor.store import Store
from monitor.store.schema import Base
from tests.postgres import new_database


@pytest.fixture(scope="module")
def pg_url(pg_server: str) -> str:
    """This module's own database on the test process's PostgreSQL server."""
    return new_database(pg_server)


def test_migrations_match_models_on_postgres(pg_url: str) -> None:
    store = Store.migrate(pg_url)  # explicit on PostgreSQL (`mention-monitor migrate`)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert diff == []


def test_collect_into_postgres(pg_url: str, feed_settings: Settings, tmp_path: Path) -> None:
    # Migrated here too, not only by the test above: pytest may run this test alone or elsewhere.
    Store.migrate(pg_url).close()
    settings = feed_settings.model_copy(update={"database_url": pg_url})
    app = App(tmp_path / "monitor.toml")
    app._settings = settings
    runner, close = build_runner(app, score=False)
    try:
        first = runner.run_due()
        assert sum(s.new for s in first) >= 5
        again = [runner.run_source(s) for s in runner.sources]
        assert all(s.not_modified for s in again)
        rows = runner.store.mentions()
        assert all(m.first_seen_at.tzinfo is not None for m, _ in rows)
        assert len({m.cluster_id for m, _ in rows if m.title.startswith("Pupils plant")}) == 1
    finally:
        close()
