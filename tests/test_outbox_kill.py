"""Crash safety: the `dispatch` command killed with SIGKILL 20 times at random points while it sends
200 notices to a real SMTP server. Nothing is lost, and any message delivered twice carries the
same Message-ID as its twin (mail clients collapse it)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from alerts import outbox
from monitor.config import load_settings
from monitor.store import Store
from tests.alerts_support import smtp_server, store_mention

REPO = Path(__file__).resolve().parent.parent
# The child imports first, then waits for "go" on stdin: the next child is always warmed up while
# the current one runs, so twenty restarts fit in well under a minute.
CHILD = (
    "import sys\n"
    "from monitor.app import App\n"
    "from monitor.commands.alerts import dispatch_cmd\n"
    "sys.stdin.readline()\n"
    "dispatch_cmd.main([], obj=App(sys.argv[1]), prog_name='mention-monitor dispatch')\n"
)
NOTICES = 200
KILLS = 20
LEASE = 1.0


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
database_url = "sqlite:///{tmp_path}/mm.db"
[mail]
from_address = "monitor@ankermoor.example.org"
smtp_host = "127.0.0.1"
smtp_port = {port}
smtp_security = "none"
claim_seconds = {LEASE}
max_attempts = 100
[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
recipients = ["head@ankermoor.example.org"]
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
# 20 kills, each followed by a start that loads the model: on a loaded 2-core machine this runs
# close to the suite's 300 s hang guard, so it gets a longer one (a guard, not a speed goal).
@pytest.mark.timeout(900)
def test_sigkill_twenty_times_while_sending_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    with smtp_server() as srv:
        cfg = _config(tmp_path, srv.port)
        settings = load_settings(cfg)
        store = Store.open(settings.database_url)
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        for i in range(NOTICES):
            store_mention(
                store,
                settings,
                title=f"Leak {i:03d} at Ankermoor",
                text=f"Ankermoor password: Key{i:03d}!",
                categories=["data_leak"],
                urgent=True,
                now=now,
            )
        assert len(outbox.list_notices(store, "pending", limit=1000)) == NOTICES

        # Keep any PYTHONPATH already set (make test-future moves the children's clock with it).
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        received = srv.handler.received
        kills = finished_runs = 0

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-c", CHILD, str(cfg)],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        def go(child: subprocess.Popen[bytes]) -> None:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            child.stdin.close()

        warm = spawn()
        while kills < KILLS:
            target = len(received) + rng.randint(1, 6)
            child, warm = warm, spawn()
            go(child)
            while child.poll() is None and len(received) < target:
                time.sleep(0.001)
            if child.poll() is None:
                time.sleep(
                    rng.random() * 0.01
                )  # somewhere in the next message: render, send, record
                child.send_signal(signal.SIGKILL)
                child.wait()
                kills += 1
            else:
                finished_runs += 1
                if not outbox.list_notices(store, "pending", limit=1):
                    break
                time.sleep(LEASE)  # what a killed run had claimed becomes due again
        # Then let it finish (leases of the last killed run expire first).
        for _ in range(10):
            if not outbox.list_notices(store, "pending", limit=1):
                break
            time.sleep(LEASE)
            child, warm = warm, spawn()
            go(child)
            child.wait(timeout=60)
        warm.kill()
        warm.wait()

        rows = outbox.list_notices(store, limit=1000)
        store.close()
    assert kills == KILLS
    assert len(rows) == NOTICES and all(r.status == "sent" for r in rows)
    by_subject: dict[str, set[str]] = defaultdict(set)
    for r in received:
        msg = r.message
        by_subject[str(msg["Subject"]).strip()].add(str(msg["Message-ID"]))
    assert len(by_subject) == NOTICES  # 0 lost
    assert all(
        len(ids) == 1 for ids in by_subject.values()
    )  # a duplicate has its twin's Message-ID
    assert {i for ids in by_subject.values() for i in ids} == {r.message_id for r in rows}
    duplicates = len(received) - NOTICES
    print(
        f"kills={kills} delivered={len(received)} distinct={len(by_subject)} duplicates={duplicates}"
    )
