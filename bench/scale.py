"""Benchmark of the Procrastinate executor: W `mention-monitor worker` processes on one PostgreSQL.

Starts a throwaway PostgreSQL (tests/postgres.py), an SMTP catcher (aiosmtpd) and one local
upstream on loopback serving every feed of N academies x S sources. Every source starts due and
with a stored ETag, as in steady state: most feeds answer 304 Not Modified, 5 % answer new items
(one of them a personal phone number, an urgent alert), 1 % are slow (3 s) or fail (HTTP 500).
The workers run for a fixed time (optionally killed with SIGKILL every few seconds and replaced),
then one worker drains the outbox. Prints one JSON object; asserts nothing.

    .venv/bin/python bench/scale.py --academies 300 --sources-per-academy 10 --workers 2 --json
        [--seconds 40] [--kill-every 5] [--concurrency 8]

Figures:
- jobs_per_s: poll_source jobs finished per second of the run (a job that finds its source
  already run or running does nothing: runs_per_s counts sources actually run). Sources become due only once
  every worker has started (loaded the model): start-up is not throughput.
- p95_staleness_s: per source, from when it became due to when a run of it finished (or the end
  of the run if none did), 95th percentile.
- duplicate_runs: requests for a feed that started while another for it was in flight.
- lost_alerts: urgent notices in the database at the end of the window that no email carried
  after the drain; leaking_academies_not_alerted: academies one of whose leaking feeds finished
  a run but that have no urgent notice (a scoring outcome, not a delivery loss); duplicate_alerts: urgent stories (clusters) emailed to one recipient
  under two different Message-IDs (a resend after a crash keeps its Message-ID and is counted
  as resent_same_message_id instead).
- db_connections_max: most PostgreSQL connections seen at once (sampled every 0.25 s).
- worker_cpu_ms_per_job, db_cpu_ms_per_job: CPU time (user + system) of the workers and of
  the PostgreSQL server per finished poll job, in the timed window: the per-job cost,
  independent of how busy the machine was with other work. With --kill-every, replacement
  workers' start-up (loading the model) is included; killed workers' CPU is counted up to the
  kill. Connections that ended (killed workers') leave their CPU out of db_cpu_ms_per_job.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from tests.postgres import postgres_server  # noqa: E402

LEAK = "Someone posted Mrs Patel's personal mobile for parents at {school}: 07700 900{n:03d}. Ring her at home."
GOOD = "Pupils from {school} raised £{n} for the food bank with a sponsored walk on Saturday."


SYLLABLES = [
    "bar",
    "cel",
    "dor",
    "fen",
    "gil",
    "hal",
    "jor",
    "kes",
    "lum",
    "mor",
    "nib",
    "pax",
    "quen",
    "ros",
    "sil",
    "tor",
    "vel",
    "wyn",
    "yar",
    "zed",
]


def school(a: int) -> str:
    """A name per academy that no other academy's name resembles (the matcher is fuzzy): two
    numbers that differ in one base-20 digit differ in both check syllables too."""
    d0, d1, d2 = a % 20, (a // 20) % 20, (a // 400) % 20
    c1, c2 = (d0 + 3 * d1 + 7 * d2) % 20, (3 * d0 + d1 + 11 * d2 + 5) % 20
    s = SYLLABLES
    return f"{(s[d0] + s[c1]).capitalize()} {(s[d1] + s[d2] + s[c2]).capitalize()} Primary Academy"


class Upstream:
    """Every feed on one loopback server; records requests in flight per feed."""

    def __init__(self, academies: int, per: int, rng: random.Random) -> None:
        self.kind: dict[str, str] = {}
        self.leaks: dict[str, str] = {}  # feed path -> urgent item guid
        for a in range(academies):
            for s in range(per):
                path = f"/a{a}/s{s}.rss"
                r = rng.random()
                self.kind[path] = (
                    "slow" if r < 0.005 else "fail" if r < 0.01 else "new" if r < 0.06 else "quiet"
                )
        self.lock = threading.Lock()
        self.inflight: Counter[str] = Counter()
        self.overlaps = 0
        self.requests = 0
        self.served_new: set[str] = set()
        up = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path
                with up.lock:
                    up.requests += 1
                    if up.inflight[path]:
                        up.overlaps += 1
                    up.inflight[path] += 1
                try:
                    up.answer(self, path)
                finally:
                    with up.lock:
                        up.inflight[path] -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, h: BaseHTTPRequestHandler, path: str) -> None:
        kind = self.kind.get(path.split("?")[0], "missing")
        if kind == "slow":
            time.sleep(3)
        if kind in ("fail", "missing"):
            self._send(h, 500, b"error")
            return
        if kind != "new" and h.headers.get("If-None-Match") == '"v1"':
            self._send(h, 304, b"")
            return
        a = int(path.split("/")[1][1:])
        n = (a * 10 + int(path.rsplit("/s", 1)[1].split(".")[0])) % 1000  # Ofcom's drama range
        items = [
            f"<item><title>{school(a)} news {n}</title><guid>{path}#good</guid>"
            f"<description>{GOOD.format(school=school(a), n=n)}</description></item>"
        ]
        if kind == "new":
            guid = f"{path}#leak"
            self.leaks[path] = guid
            with self.lock:
                self.served_new.add(path)
            items.append(
                f"<item><title>{school(a)} parents</title><guid>{guid}</guid>"
                f"<description>{LEAK.format(school=school(a), n=n)}</description></item>"
            )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
            + "".join(items)
            + "</channel></rss>"
        ).encode()
        self._send(h, 200, body, {"ETag": '"v2"', "Content-Type": "application/rss+xml"})

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str, str]] = []  # rcpts, Message-ID, subject
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), str(msg["Message-ID"]), str(msg["Subject"]))
            )
        return "250 OK"


def write_config(tmp: Path, url: str, base: str, academies: int, per: int, smtp: int) -> Path:
    lines = [
        f'database_url = "{url}"',
        'log_level = "WARNING"',
        "[queue]",
        'backend = "procrastinate"',
        "lease_seconds = 30",
        "[network]",
        'allow_private = ["127.0.0.1"]',
        "per_host_interval_seconds = 0",
        "timeout_seconds = 10",
        "[mail]",
        'from_address = "monitor@bench.example.org"',
        'smtp_host = "127.0.0.1"',
        f"smtp_port = {smtp}",
        'smtp_security = "none"',
        f'outbox_dir = "{tmp}/outbox"',
    ]
    for a in range(academies):
        lines += [
            "[[academies]]",
            f'id = "a{a}"',
            f'display_name = "{school(a)}"',
            f'names = ["{school(a)}"]',
            f'recipients = ["head{a}@bench.example.org"]',
            'digest = "off"',
        ]
        for s in range(per):
            lines += [
                "[[academies.sources]]",
                'kind = "feed"',
                f'name = "s{s}"',
                f'url = "{base}/a{a}/s{s}.rss"',
            ]
    path = tmp / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system)


def db_cpu_seconds(since: float) -> float:
    """CPU seconds of the PostgreSQL processes started by this run."""
    return sum(
        cpu_seconds(p.pid)
        for p in psutil.process_iter(["name", "create_time"])
        if p.info["name"] == "postgres" and p.info["create_time"] >= since - 1
    )


def cli(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(cfg), *args],
        cwd=cfg.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--academies", type=int, default=100)
    ap.add_argument("--sources-per-academy", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--kill-every", type=float, default=0, help="SIGKILL a worker this often")
    ap.add_argument("--drain-seconds", type=float, default=20)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bench_start = time.time()

    up = Upstream(args.academies, args.sources_per_academy, rng)
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = int(probe.getsockname()[1])
    smtp = Controller(box, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    with tempfile.TemporaryDirectory() as d, postgres_server() as url:
        tmp = Path(d)
        cfg = write_config(tmp, url, up.base, args.academies, args.sources_per_academy, smtp_port)
        subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(cfg), "migrate"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        libpq = url.replace("postgresql+psycopg", "postgresql")
        conn = psycopg.connect(libpq, autocommit=True)
        # Register every source and give it a stored ETag: steady state, all due now.
        from monitor.config import load_settings
        from monitor.runner import configured_sources, register_sources
        from monitor.store import Store

        settings = load_settings(cfg)
        store = Store.open(settings.database_url)
        t0_db = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        register_sources(store, configured_sources(settings), t0_db)
        store.close()
        # Not due until every worker has started (loaded the model): start-up is not throughput.
        conn.execute("update sources set etag = '\"v1\"', next_check_at = now() + interval '1 day'")

        conns_max = 0
        stop_sampling = threading.Event()

        def sample() -> None:
            nonlocal conns_max
            c = psycopg.connect(libpq, autocommit=True)
            while not stop_sampling.is_set():
                n = c.execute(
                    "select count(*) from pg_stat_activity where backend_type = 'client backend'"
                ).fetchone()[0]  # type: ignore[index]
                conns_max = max(conns_max, int(n))
                time.sleep(0.25)
            c.close()

        threading.Thread(target=sample, daemon=True).start()
        killed_cpu = 0.0
        workers = [
            cli(cfg, "worker", "--concurrency", str(args.concurrency)) for _ in range(args.workers)
        ]
        ready = "select count(*) from procrastinate_workers"
        while conn.execute(ready).fetchone()[0] < len(workers):  # type: ignore[index]
            time.sleep(0.2)
        started = time.monotonic()
        worker_cpu0 = sum(cpu_seconds(w.pid) for w in workers)
        db_cpu0 = db_cpu_seconds(bench_start)
        due = "update sources set next_check_at = now() returning now()"
        t0_db = conn.execute(due).fetchone()[0]  # type: ignore[index]
        kills = 0
        next_kill = started + args.kill_every if args.kill_every else float("inf")
        while time.monotonic() - started < args.seconds:
            time.sleep(0.2)
            if time.monotonic() >= next_kill:
                i = rng.randrange(len(workers))
                killed_cpu += cpu_seconds(workers[i].pid)
                workers[i].send_signal(signal.SIGKILL)
                workers[i].wait()
                workers[i] = cli(cfg, "worker", "--concurrency", str(args.concurrency))
                kills += 1
                next_kill += args.kill_every
        run_seconds = time.monotonic() - started
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers) + killed_cpu - worker_cpu0
        db_cpu = db_cpu_seconds(bench_start) - db_cpu0
        end_db = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        ran = conn.execute(
            "select count(*) from sources where last_checked_at >= %s", (t0_db,)
        ).fetchone()[0]  # type: ignore[index]
        finished = conn.execute(
            "select count(*) from procrastinate_jobs where task_name = 'poll_source' "
            "and status in ('succeeded', 'failed')"
        ).fetchone()[0]  # type: ignore[index]
        staleness = [
            float(r[0])
            for r in conn.execute(
                "select extract(epoch from coalesce(last_checked_at, %s) - %s) from sources",
                (end_db, t0_db),
            )
        ]
        done_paths = {
            f"/{k.split('/')[0]}/{k.split('/')[1]}.rss"
            for (k,) in conn.execute(
                "select key from sources where last_success_at is not null and status = 'ok'"
            )
        }
        # Every urgent alert the database holds at the end of the window must reach its recipient.
        owed = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "select n.message_id, n.recipient, m.cluster_id from notices n "
                "join mentions m on m.id = n.mention_id where n.kind = 'urgent'"
            )
        }
        leaks_stored = conn.execute(
            "select count(*) from mentions where external_id like %s", ("%#leak",)
        ).fetchone()[0]  # type: ignore[index]
        # Let one worker finish sending what is queued (killed runs are retried by ticks later,
        # which a 40 s window may not reach: only items of sources that finished a run count).
        for w in workers[1:]:
            w.send_signal(signal.SIGTERM)
        drain_end = time.monotonic() + args.drain_seconds
        while time.monotonic() < drain_end:
            pending = conn.execute(
                "select count(*) from notices where kind = 'urgent' and status = 'pending'"
            ).fetchone()[0]  # type: ignore[index]
            if not pending:
                break
            time.sleep(0.5)
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                w.kill()
        stop_sampling.set()

        # Near-copies of one story are one cluster and one alert per recipient, by design.
        urgent = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "select n.message_id, n.recipient, m.cluster_id from notices n "
                "join mentions m on m.id = n.mention_id where n.kind = 'urgent'"
            )
        }
        story_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
        reached: set[str] = set()
        per_id: Counter[str] = Counter()
        for rcpts, mid, _subject in box.messages:
            per_id[mid] += 1
            if mid in urgent:
                story_ids[urgent[mid]].add(mid)
                reached.update(r.lower() for r in rcpts)
        # An academy one of whose leaking feeds finished a run must have alerted its head, and
        # every urgent notice owed at the end of the window must have been received.
        expected = {
            f"head{p.split('/')[1][1:]}@bench.example.org" for p in done_paths if p in up.leaks
        }
        lost = sorted(m for m in owed if m not in per_id)
        owed_to = {rcpt for rcpt, _cluster in owed.values()}
        unalerted = sorted(expected - owed_to)  # no urgent notice at all: the scorer's call
        duplicate_alerts = sum(1 for ids in story_ids.values() if len(ids) > 1)
        resent = sum(n - 1 for n in per_id.values() if n > 1)
        conn.close()
    smtp.stop()
    staleness.sort()
    p95 = staleness[int(0.95 * (len(staleness) - 1))] if staleness else 0.0
    out = {
        "academies": args.academies,
        "sources": args.academies * args.sources_per_academy,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "seconds": round(run_seconds, 1),
        "kills": kills,
        "poll_jobs_finished": finished,
        "source_runs": ran,
        "runs_per_s": round(ran / run_seconds, 1),
        "jobs_per_s": round(finished / run_seconds, 1),
        "p95_staleness_s": round(p95, 1),
        "sources_not_run": sum(1 for s in staleness if s >= (end_db - t0_db).total_seconds()),
        "duplicate_runs": up.overlaps,
        "upstream_requests": up.requests,
        "leaks_stored": leaks_stored,
        "urgent_owed": len(owed),
        "urgent_expected": len(expected),
        "lost_alerts": len(lost),
        "leaking_academies_not_alerted": len(unalerted),
        "duplicate_alerts": duplicate_alerts,
        "resent_same_message_id": resent,
        "db_connections_max": conns_max,
        # CPU per finished poll job during the timed window (a replacement's start-up included).
        "worker_cpu_ms_per_job": round(1000 * worker_cpu / finished, 1) if finished else None,
        "db_cpu_ms_per_job": round(1000 * db_cpu / finished, 1) if finished else None,
    }
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
