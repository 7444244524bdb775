"""A full disk, for real: SQLite's own SQLITE_FULL ("database or disk is full"), raised by
`PRAGMA max_page_count` holding the database file at its size on every connection the program
checks out, exactly as a full file system refuses the file's growth. (The same was checked by
hand on a 1 MB tmpfs, which needs root to mount, so the tests use the pragma.)

One clear line for `collect --once`, no crash and a retry for the service, nothing stored lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, text
from sqlalchemy.pool import Pool

from monitor.app import App
from monitor.cli import cli
from monitor.service import Service, _store_guarded
from monitor.store import StoreFull
from tests.conftest import write_config
from tests.servers import FixtureServer, Reply

SOURCES = '\n[[academies.sources]]\nkind = "feed"\nname = "gazette"\nurl = "{base}/gazette.rss"\n'


def _feed(first: int, n: int) -> bytes:
    items = "".join(
        f"<item><title>Ankermoor Primary news {i}</title><link>https://example.org/{i}</link>"
        f"<description>Pupils at Ankermoor Primary did thing number {i}. {'More. ' * 400}"
        "</description></item>"
        for i in range(first, first + n)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>G</title>{items}</channel></rss>'.encode()


@contextmanager
def full_disk() -> Iterator[dict[str, bool]]:
    """While state["full"], every checked-out SQLite connection may not grow its database."""
    state = {"full": True}

    def checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if "sqlite" in type(dbapi_conn).__module__:
            dbapi_conn.execute(f"PRAGMA max_page_count = {1 if state['full'] else 1073741823}")

    event.listen(Pool, "checkout", checkout)
    try:
        yield state
    finally:
        event.remove(Pool, "checkout", checkout)


def _count(cfg: Path) -> int:
    store = App(cfg).store()
    try:
        return store.count_mentions()
    finally:
        store.close()


def test_collect_once_prints_one_line_and_loses_nothing(
    tmp_path: Path, server: FixtureServer
) -> None:
    server.routes["/gazette.rss"] = Reply(200, _feed(0, 5), {})
    cfg = write_config(tmp_path, server, SOURCES)
    args = ["--config", str(cfg), "collect", "--once", "--all", "--no-score"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = _count(cfg)
    assert before == 5
    server.routes["/gazette.rss"] = Reply(200, _feed(5, 40), {})
    with full_disk() as disk:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, (result.exception, result.output)
        assert "database error: the database is full" in lines[0]
        disk["full"] = False
        assert CliRunner().invoke(cli, args).exit_code == 0  # space freed: it carries on
    assert _count(cfg) == before + 40


def test_service_logs_one_line_and_retries_on_the_next_tick(
    tmp_path: Path, server: FixtureServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.routes["/gazette.rss"] = Reply(200, _feed(0, 5), {})
    cfg = write_config(tmp_path, server, SOURCES)
    service = Service(App(cfg), score=False, serve_web=False)
    try:
        service.tick_sources()
        service.wait_idle()
        assert service.store.count_mentions() == 5
        server.routes["/gazette.rss"] = Reply(200, _feed(5, 40), {})
        with service.store.transaction() as tx:  # make the source due again now
            tx.session.execute(text("UPDATE sources SET next_check_at = NULL"))
        with full_disk() as disk, caplog.at_level(logging.ERROR):
            with pytest.raises(StoreFull):  # the store's own error, not a raw OperationalError
                service.store.set_state("probe", "y" * 100_000, service.clock())
            _store_guarded(service.tick_sources)()  # the scheduler's job: must not raise
            service.wait_idle()
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors and all(r.getMessage() == "database unavailable" for r in errors)
            assert all(r.exc_info is None for r in errors)  # one line, no traceback
            assert service.store.count_mentions() == 5  # nothing lost
            disk["full"] = False
            _store_guarded(service.tick_sources)()  # the next tick retries
            service.wait_idle()
        assert service.store.count_mentions() == 45
    finally:
        service.stop(timeout=2)
