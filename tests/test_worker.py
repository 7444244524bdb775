"""The Procrastinate executor on a real PostgreSQL server: the same jobs end to end (feed -> poll
job in a worker -> mention -> urgent notice -> dispatch job -> mail), two workers never run one
source at once, a killed worker's lease expires; and explicit migrations."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from monitor.cli import cli
from monitor.config import load_settings
from monitor.store import Store
from tests.alerts_support import SmtpServer
from tests.conftest import write_config
from tests.postgres import new_database
from tests.servers import FixtureServer, Reply

LEAK = (
    "Someone posted Mrs Patel's personal mobile for parents at Ankermoor Primary: "
    "07700 900123. Ring her at home."
)
_dbs = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database on the test process's server (tests/conftest.py)."""
    return new_database(pg_server)


def _feed(*items: str) -> bytes:
    body = "".join(
        f"<item><title>Post {i}</title><guid>p{i}</guid><description>{t}</description></item>"
        for i, t in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{body}</channel></rss>'.encode()


def _config(
    tmp_path: Path, server: FixtureServer, pg_url: str, sources: str, extra: str = ""
) -> Path:
    cfg = write_config(tmp_path, server, sources)
    s = cfg.read_text()
    s = s.replace(f'database_url = "sqlite:///{tmp_path}/mm.db"', f'database_url = "{pg_url}"')
    s = s.replace("[network]", f'[queue]\nbackend = "procrastinate"\n{extra}\n[network]', 1)
    cfg.write_text(s)
    return cfg


def _source(name: str) -> str:
    return f'\n[[academies.sources]]\nkind = "feed"\nname = "{name}"\nurl = "{{base}}/{name}.rss"\n'


def _migrate(cfg: Path) -> None:
    got = CliRunner().invoke(cli, ["--config", str(cfg), "migrate"])
    assert got.exit_code == 0, got.output
    assert "procrastinate job queue: created" in got.output


def _worker(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(cfg), "worker", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cfg.parent,
    )


def _wait(what: str, cond: Callable[[], bool], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if cond():
            return
        for p in procs:
            if p.poll() is not None:
                err = p.stderr.read().decode(errors="replace") if p.stderr else ""
                raise AssertionError(
                    f"a worker exited ({p.returncode}) waiting for {what}: {err[-3000:]}"
                )
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


def _one(store: Store, sql: str) -> object:
    with store.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def test_urgent_mention_travels_through_worker_jobs_to_the_mailbox(
    tmp_path: Path, server: FixtureServer, pg_url: str
) -> None:
    server.routes["/news.rss"] = Reply(200, _feed(LEAK), {"content-type": "application/rss+xml"})
    smtp = SmtpServer().start()
    cfg = _config(tmp_path, server, pg_url, _source("news"))
    s = cfg.read_text().replace(
        'outbox_dir = "',
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nsmtp_security = "none"\noutbox_dir = "',
    )
    cfg.write_text(s)
    settings = load_settings(cfg)
    _migrate(cfg)
    store = Store.open(settings.database_url)
    worker = _worker(cfg, "--concurrency", "2")
    try:
        _wait(
            "the urgent notice sent",
            lambda: (
                _one(
                    store, "select count(*) from notices where kind = 'urgent' and status = 'sent'"
                )
                == 1
            ),
            [worker],
        )
    finally:
        _stop(worker)
        smtp.stop()
    assert worker.returncode == 0  # SIGTERM: finishes what it runs, exits cleanly
    assert _one(store, "select count(*) from mentions") == 1
    notice_id = _one(store, "select message_id from notices where kind = 'urgent'")
    (mail,) = [m for m in smtp.handler.received if m.message["Message-ID"] == notice_id]
    assert "07700 900123" not in mail.raw.decode(errors="replace")  # redacted, as ever
    assert set(mail.rcpt) <= {r.lower() for r in settings.academies[0].recipients}
    done = {
        name
        for (name,) in store.engine.connect().execute(
            text("select distinct task_name from procrastinate_jobs where status = 'succeeded'")
        )
    }
    assert {"source_tick", "poll_source", "dispatch_outbox"} <= done
    store.close()


class _Slow:
    """A feed that answers after `delay` seconds, counting requests in flight at once."""

    def __init__(self, delay: float, release: threading.Event | None = None) -> None:
        self.delay, self.release = delay, release
        self.now = self.most = self.started = 0
        self.lock = threading.Lock()

    def __call__(self, _h: object) -> Reply:
        with self.lock:
            self.now += 1
            self.started += 1
            self.most = max(self.most, self.now)
        try:
            if self.release is not None:
                self.release.wait(60)
            else:
                time.sleep(self.delay)
            return Reply(200, _feed("Ankermoor Primary Academy pupils plant trees."), {})
        finally:
            with self.lock:
                self.now -= 1


def test_two_workers_never_run_one_source_at_once(
    tmp_path: Path, server: FixtureServer, pg_url: str
) -> None:
    slow = _Slow(1.0)
    server.routes["/news.rss"] = slow
    cfg = _config(tmp_path, server, pg_url, _source("news"))
    settings = load_settings(cfg)
    _migrate(cfg)
    from monitor.worker import make_app

    # One job at a time per worker: while one worker holds the source (a 1 s fetch: the
    # scheduler's own poll or a forced one), the other must take the remaining polls, so both
    # workers run polls of the source. With several slots each, one worker could drain every
    # forced poll (a lease-refused run ends at once) and the test would not show two workers.
    workers = [_worker(cfg, "--no-score", "--concurrency", "1") for _ in range(2)]
    store = Store.open(settings.database_url)
    try:
        _wait(
            "both workers",
            lambda: _one(store, "select count(*) from procrastinate_workers") == 2,
            workers,
        )
        app, _ = make_app(settings, score=False)
        with app.open():
            for _ in range(8):  # forced runs of one source, no queueing lock: only the lease
                app.tasks["poll_source"].defer(source_key="ankermoor/news", force=True)
        _wait(
            "the forced polls",
            lambda: (
                _one(
                    store,
                    "select count(*) from procrastinate_jobs where task_name = 'poll_source' "
                    "and status in ('succeeded', 'failed') and (args->>'force')::bool",
                )
                == 8
            ),
            workers,
        )
        # Every poll of the source, the scheduler's too: the worker running the periodic poll
        # holds the lease while the other runs (and skips) the forced ones.
        by_worker = _one(
            store,
            "select count(distinct worker_id) from procrastinate_jobs "
            "where task_name = 'poll_source' and args->>'source_key' = 'ankermoor/news'",
        )
        failed = _one(store, "select count(*) from procrastinate_jobs where status = 'failed'")
    finally:
        _stop(*workers)
    assert slow.most == 1  # never two requests for the source at once
    assert 1 <= slow.started < 8  # runs that found the lease taken did nothing
    assert by_worker == 2 and failed == 0
    assert _one(store, "select count(*) from source_leases") == 0  # every lease given back
    store.close()


def test_a_killed_workers_lease_expires_and_another_worker_runs_the_source(
    tmp_path: Path, server: FixtureServer, pg_url: str
) -> None:
    release = threading.Event()
    hang = _Slow(0, release)
    server.routes["/news.rss"] = hang
    cfg = _config(tmp_path, server, pg_url, _source("news"), "lease_seconds = 5")
    settings = load_settings(cfg)
    _migrate(cfg)
    store = Store.open(settings.database_url)
    first = _worker(cfg, "--no-score")
    try:
        _wait("the first poll", lambda: hang.started == 1, [first])
        (lease,) = store.leases.held(store_now := lease_time(store))
        assert f":{first.pid}:" in lease.holder
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        release.set()
        # Until it expires, the dead worker's lease keeps the source from everyone else.
        assert not store.leases.take(
            "ankermoor/news", "someone:1:else", store_now, timedelta(seconds=5)
        )
        assert lease.expires_at - lease.taken_at == timedelta(seconds=5)
        second = _worker(cfg, "--no-score")
        try:
            _wait(
                "the source run by the second worker",
                lambda: _one(store, "select last_success_at from sources") is not None,
                [second],
            )
        finally:
            _stop(second)
    finally:
        release.set()
        _stop(first)
    assert hang.started == 2 and hang.most == 1
    store.close()


def lease_time(store: Store) -> object:
    """The time the lease row itself records, so the check does not depend on the wall clock."""
    with store.engine.connect() as conn:
        return conn.execute(text("select taken_at from source_leases")).scalar()


def test_postgres_schema_is_explicit(tmp_path: Path, server: FixtureServer, pg_url: str) -> None:
    server.routes["/news.rss"] = Reply(200, _feed("Ankermoor Primary Academy news."), {})
    cfg = _config(tmp_path, server, pg_url, _source("news"))
    got = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert got.exit_code == 1
    assert got.output.strip().splitlines()[-1].endswith("run `mention-monitor migrate` first")
    _migrate(cfg)
    got = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert got.exit_code == 0, got.output
    again = CliRunner().invoke(cli, ["--config", str(cfg), "migrate"])
    assert "procrastinate job queue: present" in again.output


def test_procrastinate_needs_postgres(tmp_path: Path, server: FixtureServer) -> None:
    cfg = write_config(tmp_path, server, _source("news"))
    cfg.write_text(
        cfg.read_text().replace("[network]", '[queue]\nbackend = "procrastinate"\n\n[network]', 1)
    )
    got = CliRunner().invoke(cli, ["--config", str(cfg), "check-config"])
    assert got.exit_code == 2
    assert "needs a PostgreSQL database_url" in got.output
