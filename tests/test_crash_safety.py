"""Crash safety: SIGKILL the real service 12 times at random moments while it collects and alerts.

Afterwards the database is consistent, no mention and no alert is lost, and any alert delivered
twice carries the same Message-ID both times.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.matching import Matcher, Watch
from sources.feeds import parse_feed
from tests.alerts_support import SmtpServer, free_port
from tests.conftest import write_config
from tests.servers import FixtureServer, Reply

# Each start loads the real model (about 10 s), so each kill costs a start; 12 random moments
# plus the outbox kill test's 20 kills while sending (tests/test_outbox_kill.py) cover the cycle.
KILLS = 12
FEEDS = 8
PER_FEED = 6
LEAK = "Someone posted Mrs {name}'s personal mobile for parents at Ankermoor Primary: 07700 900{n:03d}. Ring her at home."
GOOD = (
    "Ankermoor Primary Academy pupils raised £{n} for the food bank, said head teacher Mrs {name}."
)
NOISE = "Ankermoor Road will be closed for resurfacing near house number {n} from Monday."
NAMES = ["Patel", "Hughes", "Okafor", "Smith", "Nowak", "Evans", "Khan", "Brown"]


def _feed(f: int) -> bytes:
    items = []
    for i in range(PER_FEED):
        n = f * 100 + i
        tpl = (LEAK, GOOD, NOISE)[i % 3]
        text = tpl.format(n=n, name=NAMES[(f + i) % len(NAMES)])
        items.append(
            f"<item><title>Post {n}</title><guid>p{n}</guid><description>{text}</description></item>"
        )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{f}</title>{"".join(items)}</channel></rss>'.encode()


def _start(cfg: Path, tmp: Path) -> tuple[subprocess.Popen[bytes], threading.Event, list[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(cfg), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp,
    )
    started = threading.Event()
    lines: list[bytes] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if b'"service started"' in line:
                started.set()
        started.set()  # the process ended: stop waiting (the caller checks why)

    threading.Thread(target=watch, daemon=True).start()
    return proc, started, lines


def _wait_started(
    proc: subprocess.Popen[bytes], started: threading.Event, lines: list[bytes]
) -> None:
    ok = started.wait(120) and any(b'"service started"' in line for line in lines)
    assert ok, b"".join(lines[-20:]).decode(errors="replace") or "the service did not start"


# 20 kills, each followed by a start that loads the model: on a loaded 2-core machine this runs
# close to the suite's 300 s hang guard, so it gets a longer one (a guard, not a speed goal).
@pytest.mark.timeout(900)
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, server: FixtureServer) -> None:
    rng = random.Random(20261128)
    for f in range(FEEDS):
        server.routes[f"/f{f}.rss"] = Reply(200, _feed(f), {"content-type": "application/rss+xml"})
    smtp = SmtpServer().start()
    sources = "".join(
        f'\n[[academies.sources]]\nkind = "feed"\nname = "f{f}"\nurl = "{{base}}/f{f}.rss"\n'
        for f in range(FEEDS)
    )
    cfg = write_config(tmp_path, server, sources)
    text = cfg.read_text()
    text = text.replace(
        'outbox_dir = "',
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nsmtp_security = "none"\noutbox_dir = "',
    )
    text = text.replace(
        'digest_time = "07:00"', 'digest_time = "07:00"\noutbox_interval_seconds = 1\nworkers = 2'
    )
    text = text.replace("port = 8080", f"port = {free_port()}")
    cfg.write_text(text)
    settings = load_settings(cfg)

    kills_during_work = 0
    for _ in range(KILLS):
        proc, started, lines = _start(cfg, tmp_path)
        _wait_started(proc, started, lines)
        time.sleep(rng.uniform(0.0, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills_during_work += 1
        proc.wait(10)

    # A last, undisturbed run finishes whatever is left; then stop it properly.
    proc, started, lines = _start(cfg, tmp_path)
    _wait_started(proc, started, lines)
    db = settings.database_url.removeprefix("sqlite:///")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            pending = conn.execute(
                "select count(*) from notices where status != 'sent'"
            ).fetchone()[0]
            unfinished = conn.execute(
                "select count(*) from sources where last_success_at is null"
            ).fetchone()[0]
        if pending == 0 and unfinished == 0:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    smtp.stop()

    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        stored = Counter(r[0] for r in conn.execute("select external_id from mentions"))
        unscored = conn.execute(
            "select count(*) from mentions m left join assessments a on a.mention_id = m.id where a.mention_id is null"
        ).fetchone()[0]
        notices = conn.execute(
            "select kind, recipient, message_id, status, mention_id from notices"
        ).fetchall()
        urgent_mentions = {
            r[0]
            for r in conn.execute("select mention_id from assessments where severity = 'urgent'")
        }

    # 0 mentions lost, none stored twice: exactly the items the matcher accepts.
    matcher = Matcher([Watch.from_config(a) for a in settings.academies])
    expected = {
        it.external_id
        for f in range(FEEDS)
        for it in parse_feed(_feed(f), "x", server.url(f"/f{f}.rss"))
        if matcher.match(it.title, it.text)
    }
    assert set(stored) == expected and max(stored.values()) == 1
    assert unscored == 0  # a mention and its assessment are written together
    # 0 alerts lost: every urgent mention has its alert, every notice was delivered.
    alerted = {m for kind, _r, _id, _s, m in notices if kind == "urgent"}
    assert urgent_mentions and urgent_mentions <= alerted
    assert all(status == "sent" for *_x, status, _m in notices)
    db_ids = {mid for _k, _r, mid, _s, _m in notices}
    received = Counter(str(r.message["Message-ID"]) for r in smtp.handler.received)
    assert db_ids == set(received), (
        "every notice delivered, and nothing delivered that is not a notice"
    )
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    # A duplicate can only be a resend of the same stored message: same Message-ID, by design.
    print(
        f"\ncrash test: {KILLS} kills ({kills_during_work} while running), {len(expected)} mentions, "
        f"{len(db_ids)} notices, {len(smtp.handler.received)} deliveries, {len(duplicates)} resent with the same Message-ID"
    )
