"""The service: misfires after downtime, one run per source at a time, overdue sources run once,
graceful shutdown on SIGTERM, and /healthz."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from monitor.app import App
from monitor.config import Settings
from monitor.service import Service
from monitor.store import Store
from monitor.store.schema import NoticeRecord
from tests.alerts_support import free_port
from tests.conftest import write_config
from tests.servers import FixtureServer, Reply

LONDON = ZoneInfo("Europe/London")


def _service(settings: Settings, tmp_path: Path, now: Callable[[], datetime]) -> Service:
    app = App(tmp_path / "monitor.toml")
    app._settings = settings
    return Service(app, clock=now, score=False, serve_web=False)


def _digests(service: Service) -> int:
    with service.store.session() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(NoticeRecord).where(NoticeRecord.kind == "digest")
            )
            or 0
        )


def test_missed_digest_is_sent_exactly_once_after_downtime(
    feed_settings: Settings, tmp_path: Path
) -> None:
    def at(day: int, hh: int, mm: int = 0) -> datetime:
        return datetime(2026, 11, day, hh, mm, tzinfo=LONDON).astimezone(UTC)

    def run_once(t: datetime) -> int:
        svc = _service(feed_settings, tmp_path, lambda: t)
        try:
            svc.digests()
            return _digests(svc)
        finally:
            svc.stop()

    # First configured at noon on the 9th: the 9th's 07:00 digest was due before the academy
    # existed, so the first digest is the 10th's.
    assert run_once(at(9, 12, 0)) == 0
    assert run_once(at(10, 7, 1)) == 1  # the service was up at 07:00 on the 10th
    assert run_once(at(10, 7, 30)) == 1  # nothing more that day
    assert run_once(at(11, 10, 0)) == 2  # down over 07:00 for 3 h: exactly one, on restart
    assert run_once(at(12, 6, 0)) == 2  # restarted before 07:00: nothing yet
    assert run_once(at(13, 7, 5)) == 3  # down 25 h over two 07:00s: one digest, not two
    for i in range(100):  # 100 restarts in a row: no duplicate
        assert run_once(at(13, 7, 6) + timedelta(seconds=i)) == 3


def test_digest_across_the_dst_change(feed_settings: Settings, tmp_path: Path) -> None:
    # Clocks go back at 01:00 UTC on Sunday 25 Oct 2026: 07:00 in London is 06:00 UTC on the 24th
    # (BST) and 07:00 UTC on the 25th (GMT).
    expected = [
        (datetime(2026, 10, 22, 12, 0, tzinfo=UTC), 0),  # first configured: nothing due yet
        (datetime(2026, 10, 24, 5, 59, tzinfo=UTC), 1),  # the 23rd's digest (missed, sent now)
        (datetime(2026, 10, 24, 6, 0, tzinfo=UTC), 2),  # 07:00 BST: the 24th's
        (datetime(2026, 10, 25, 6, 59, tzinfo=UTC), 2),  # 06:59 GMT: not yet
        (datetime(2026, 10, 25, 7, 0, tzinfo=UTC), 3),  # 07:00 GMT: the 25th's
    ]
    for now, count in expected:
        svc = _service(feed_settings, tmp_path, lambda now=now: now)  # type: ignore[misc]
        try:
            svc.digests()
            assert _digests(svc) == count, now
        finally:
            svc.stop()
    store = Store.open(feed_settings.database_url)
    with store.session() as s:
        dates = sorted(s.scalars(select(NoticeRecord.scope).where(NoticeRecord.kind == "digest")))
    store.close()
    assert dates == ["2026-10-23", "2026-10-24", "2026-10-25"]


def test_overdue_sources_run_once_and_never_overlap(tmp_path: Path, server: FixtureServer) -> None:
    release = threading.Event()

    def slow(_h: object) -> Reply:
        release.wait(10)
        return Reply(200, (Path(__file__).parent / "fixtures/feeds/gazette.rss").read_bytes(), {})

    server.routes["/slow.rss"] = slow
    from monitor.config import load_settings

    settings = load_settings(
        write_config(
            tmp_path,
            server,
            '\n[[academies.sources]]\nkind = "feed"\nname = "slow"\nurl = "{base}/slow.rss"\n',
        )
    )
    clock = [datetime(2026, 11, 28, 12, 0, tzinfo=UTC)]
    svc = _service(settings, tmp_path, lambda: clock[0])
    try:
        assert svc.tick_sources() == 1
        # The run is still in flight: further ticks (a cycle longer than the interval) start nothing.
        for _ in range(5):
            clock[0] += timedelta(minutes=20)
            assert svc.tick_sources() == 0
        release.set()
        svc.wait_idle(20)
        assert server.hits["/slow.rss"] == 1
        # Down for 3 h (12 intervals of 15 min): the overdue source runs once, not 12 times.
        clock[0] += timedelta(hours=3)
        assert svc.tick_sources() == 1
        svc.wait_idle(20)
        assert svc.tick_sources() == 0
        assert server.hits["/slow.rss"] == 2
    finally:
        release.set()
        svc.stop()


def test_run_serves_healthz_and_stops_cleanly_on_sigterm(
    tmp_path: Path, server: FixtureServer
) -> None:
    server.serve_file("/gazette.rss", "feeds/gazette.rss")
    port = free_port()
    cfg = write_config(
        tmp_path,
        server,
        '\n[[academies.sources]]\nkind = "feed"\nname = "gazette"\nurl = "{base}/gazette.rss"\n',
    )
    cfg.write_text(cfg.read_text().replace("port = 8080", f"port = {port}"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(cfg), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if r.status_code == 200 and r.json().get("last_cycle_at"):
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        assert health is not None, (
            proc.stderr.read().decode() if proc.poll() is not None else "no /healthz"
        )
        assert health["scheduler_alive"] is True and health["sources"] == 1
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
        stopped_in = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    assert rc == 0, err
    assert stopped_in < 10
    assert '"event": "service stopped"' in err  # JSON lines when not on a terminal
    assert "Pupils from" not in err  # mention texts are never logged at INFO


def test_status_reports_health_from_the_database(
    feed_settings: Settings, tmp_path: Path, server: FixtureServer
) -> None:
    import json as _json

    from click.testing import CliRunner

    from monitor.cli import cli

    cfg = tmp_path / "monitor.toml"
    server.routes["/forum.atom"] = Reply(500, b"down", {})
    CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    result = CliRunner().invoke(cli, ["--config", str(cfg), "status", "--json"])
    assert result.exit_code == 1  # no scheduler heartbeat, and a source failing
    doc = _json.loads(result.output)
    assert doc["scheduler_alive"] is False and doc["sources"] == 3
    assert [f["source"] for f in doc["failing_sources"]] == ["ankermoor/parents-forum"]
    assert "HTTP 500" in doc["failing_sources"][0]["reason"]
    # A fresh heartbeat (as the running service writes every tick) makes the scheduler alive.
    svc = _service(feed_settings, tmp_path, lambda: datetime.now(UTC))
    try:
        svc.tick_sources()
        svc.wait_idle(20)
    finally:
        svc.stop()
    text = CliRunner().invoke(cli, ["--config", str(cfg), "status"])
    assert "scheduler: running" in text.output and "ankermoor/parents-forum" in text.output
