"""Source leases on SQLite: two threads racing for one source never both hold it, a lease ends
when given back or when it expires, and a restarted service frees the leases of dead processes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import Settings
from monitor.store import Store
from monitor.store.leases import Holder
from tests.servers import FixtureServer

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)


def _store(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    store.sync_sources([("a/one", "a", "feed")], NOW)
    return store


def test_two_threads_never_hold_one_source_at_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    rounds = 40
    start = threading.Barrier(2)
    wins: list[list[str]] = [[] for _ in range(rounds)]
    lock = threading.Lock()

    def racer(name: str) -> None:
        for r in range(rounds):
            start.wait()
            if store.leases.take("a/one", f"{name}:1:{r}", NOW, TTL):
                with lock:
                    wins[r].append(name)
            start.wait()  # both have tried: the winner gives it back
            if name in wins[r]:
                assert store.leases.release("a/one", f"{name}:1:{r}")

    threads = [threading.Thread(target=racer, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(len(w) == 1 for w in wins), wins
    # (Which thread wins is up to the scheduler: on a loaded machine one may win every round, so
    # only exclusivity is asserted; the barrier makes both try in every round.)
    store.close()


def test_a_lease_expires_and_only_its_holder_gives_it_back(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.leases.take("a/one", "dead:1:x", NOW, TTL)
    assert [lease.holder for lease in store.leases.held(NOW)] == ["dead:1:x"]
    assert not store.leases.take("a/one", "live:2:y", NOW + TTL - timedelta(seconds=1), TTL)
    assert store.leases.take("a/one", "live:2:y", NOW + TTL, TTL)
    assert not store.leases.release("a/one", "dead:1:x")  # no longer the holder's to give back
    assert store.leases.release("a/one", "live:2:y")
    assert store.leases.held(NOW) == []
    store.close()


def test_restart_frees_leases_of_dead_local_processes_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.sync_sources([("a/two", "a", "feed"), ("a/three", "a", "feed")], NOW)
    me = Holder("box", 100, "me")
    store.leases.take("a/one", "box:200:gone-1", NOW, TTL)  # a killed `run` on this box
    store.leases.take("a/two", "box:300:alive-1", NOW, TTL)  # a `collect --once` still running
    store.leases.take("a/three", "other:200:w-1", NOW, TTL)  # a worker on another machine
    assert store.leases.release_dead("box", lambda pid: pid == 300, me) == 1
    assert sorted(lease.source_key for lease in store.leases.held(NOW)) == ["a/three", "a/two"]
    store.close()


def test_collect_once_skips_a_source_another_process_is_running(
    feed_settings: Settings, tmp_path: Path, server: FixtureServer
) -> None:
    """`collect --once` next to a running service or worker: a source whose lease is held (by a
    live process elsewhere) is reported and not fetched; the others run."""
    from click.testing import CliRunner

    from monitor.cli import cli

    store = Store.open(feed_settings.database_url)
    store.sync_sources([("ankermoor/gazette", "ankermoor", "feed")], NOW)
    far = datetime.now(UTC) + timedelta(days=1)  # held until tomorrow, whatever today is
    assert store.leases.take("ankermoor/gazette", "elsewhere:1:w-1", far - TTL, TTL)
    got = CliRunner().invoke(
        cli,
        ["--config", str(tmp_path / "monitor.toml"), "collect", "--once", "--all", "--no-score"],
    )
    assert got.exit_code == 0, got.output
    assert "running in another process: skipped" in got.output
    assert server.hits["/gazette.rss"] == 0 and server.hits["/forum.atom"] == 1
    assert [lease.holder for lease in store.leases.held(far - TTL)] == ["elsewhere:1:w-1"]
    store.close()
