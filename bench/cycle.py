"""Benchmark of one full service cycle: collect -> match -> dedup -> score -> store -> enqueue.

A local server on loopback addresses (one per simulated site) serves N feeds x M items, a share
of which mention the example academy, with a fixed latency per response. The cycle runs through
the real Service (worker pool, guarded client, real model, SQLite file). A second, unchanged
cycle follows (every feed answers 304). Prints figures; asserts nothing.

The first cycle's wall time is compared with its bare embedding time: one batched encode of the
same texts, prepared as the scorer prepares them, on all the machine's cores (torch's intra-op
threads = cores), measured in the same process after the model (and its warm-up) is loaded. The
target is a ratio of at most 1.3. The ratio to the same encode on one core is printed too: the
service's workers encode on one thread each (embeddings.share_cores), so that is the baseline a
single worker's model time compares with, but it is not the fastest the texts can be embedded.
Stage times are summed over the worker threads, so on a busy machine they include time spent
waiting for a core. The process's CPU time and the number of SQL statements per cycle are
printed too: the statements are a count that does not vary with the machine's load.

    .venv/bin/python bench/cycle.py [--feeds 200] [--items 25] [--relevant 0.3] [--latency-ms 50]
                                    [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import BUNDLED_EXAMPLE  # noqa: E402

SCHOOL = [
    "Ankermoor Primary",
    "Ankermoor Primary Academy",
    "Anker Moor Primary",
    "#AnkermoorPrimary",
]
GOOD = [
    "Pupils from {s} raised £{n} for the food bank with a sponsored walk on Saturday.",
    "Year {y} at {s} performed their nativity to a packed hall; parents praised the teachers.",
    "{s} has been rated good by Ofsted after a two-day inspection in {m}.",
]
BAD = [
    "Absolutely disgusted with {s}. My son was bullied for weeks and the head did nothing about it.",
    "The Year {y} teacher at {s} posted photos of the class on her personal Instagram again.",
    "Someone shared the {s} Year {y} class list with dates of birth on the parents' group, call 07700 900{n:03d}.",
]
OTHER = [
    "Roadworks on the A{n} near Ankermoor Road will continue until {m}, the council said.",
    "Ankermoor Rovers won {y}-1 at home on Saturday in front of {n} fans.",
    "A new bakery has opened on the high street, selling sourdough and pastries from 7am.",
    "The library's winter reading challenge returns in {m} with prizes for every age.",
]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def feed_body(feed: int, items: int, relevant: float, rng: random.Random) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Site {feed}</title><link>https://site{feed}.example.org/</link>"
    ]
    for i in range(items):
        about = rng.random() < relevant
        tpl = rng.choice(GOOD + BAD) if about else rng.choice(OTHER)
        text = tpl.format(
            s=rng.choice(SCHOOL), n=rng.randint(1, 999), y=rng.randint(1, 6), m=rng.choice(MONTHS)
        )
        text += f" Story {feed}-{i}."
        parts.append(
            f"<item><title>Story {feed}-{i}</title><guid>s{feed}-{i}</guid>"
            f"<link>https://site{feed}.example.org/{i}?utm_source=rss</link>"
            f"<pubDate>Sat, 28 Nov 2026 07:{i % 60:02d}:00 +0000</pubDate>"
            f"<description>{text}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


class Sites:
    """One HTTP server per simulated site (loopback addresses 127.0.0.2, .3, ...)."""

    def __init__(self, hosts: int, bodies: dict[str, bytes], latency: float) -> None:
        self.bytes_sent = 0
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else Nagle + delayed ACK add 40 ms per response

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(latency)
                body = bodies.get(self.path.split("?")[0], b"")
                etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'  # noqa: S324 (an ETag, not security)
                status, payload = (
                    (304, b"") if self.headers.get("if-none-match") == etag else (200, body)
                )
                self.send_response(status)
                self.send_header("etag", etag)
                self.send_header("content-type", "application/rss+xml")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                with outer._lock:
                    outer.bytes_sent += len(payload)
                    outer.requests += 1

        self.servers = []
        for h in range(hosts):
            srv = ThreadingHTTPServer((f"127.0.0.{h + 2}", 0), H)
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers.append(srv)

    def url(self, feed: int) -> str:
        srv = self.servers[feed % len(self.servers)]
        host, port = srv.server_address[:2]
        return f"http://{host}:{port}/feed/{feed}.xml"

    def stop(self) -> None:
        for s in self.servers:
            s.shutdown()


class Phases:
    """Thread-safe time accounting per phase, summed over worker threads: wall time (which
    includes waiting for a core or the GIL) and the calling thread's own CPU time (which does
    not, so it hardly moves with the machine's load; torch runs one intra-op thread per encode
    here, on the calling thread, see embeddings.share_cores)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def clear(self) -> None:
        self.seconds.clear()
        self.cpu.clear()

    @contextmanager
    def timed(self, phase: str) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[phase] += time.perf_counter() - t0
                self.cpu[phase] += time.thread_time() - c0

    def wrap(self, obj: Any, attr: str, phase: str) -> None:
        original = getattr(obj, attr)

        def wrapper(*a: Any, **kw: Any) -> Any:
            with self.timed(phase):
                return original(*a, **kw)

        setattr(obj, attr, wrapper)


def bare_embedding_seconds(service: Any, n: int, threads: int) -> tuple[float, float]:
    """The bare embedding cost of the stored mentions' texts: one batched encode of exactly what
    the scorer sends to the model (the same scoring text, cut at scoring.max_chars, control
    characters blanked, glossed, the same batch size and normalisation), in this process, model loaded,
    with torch's intra-op threads set to `threads` for it. Returns wall and process CPU seconds."""
    import torch

    from monitor.models import ScoringInput
    from monitor.scoring.pipeline import encoder_text, prepare_text

    scorer = service.runner.scorer
    max_chars = scorer.settings.max_chars
    texts = [
        encoder_text(prepare_text(ScoringInput(m.title, m.text), max_chars)[0])
        for m, _ in service.store.mentions(limit=n)
    ]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        scorer.embedder.encode(["warm-up"])  # a changed thread count starts its pool here
        t0, c0 = time.perf_counter(), time.process_time()
        scorer.embedder.encode(texts)
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        torch.set_num_threads(before)


def by_stage(sec: dict[str, float]) -> dict[str, float]:
    """Exclusive time per stage from the nested phases' inclusive sums."""
    stages = {
        "fetch": sec["fetch"],
        "parse": sec["parse"],
        "match": sec["match"],
        "dedup ids": sec["dedup ids"],
        "model encode": sec["model encode"],
        "embedding cache+prep": sec["embedding"] - sec["model encode"],
        "heads+pii": sec["heads+pii"],
        "severity+evidence": sec["score"] - sec["embedding"] - sec["heads+pii"],
        "notices": sec["notices"],
    }
    stages["store+rest"] = (sec["source total"] or 1e-9) - sum(stages.values())
    return stages


def write_config(tmp: Path, sites: Sites, feeds: int, workers: int, hosts: int) -> Path:
    example = BUNDLED_EXAMPLE.read_text(encoding="utf-8").split("[[academies.sources]]", 1)[0]
    example = example.replace(
        'database_url = "sqlite:///mention-monitor.db"',
        f'database_url = "sqlite:///{tmp}/bench.db"',
    )
    example = example.replace('outbox_dir = "outbox"', f'outbox_dir = "{tmp}/outbox"')
    allow = ", ".join(f'"127.0.0.{h + 2}"' for h in range(hosts))
    example = example.replace(
        "allow_private = []", f"allow_private = [{allow}]\nper_host_interval_seconds = 0"
    )
    example = example.replace(
        'digest_time = "07:00"', f'digest_time = "07:00"\nworkers = {workers}'
    )
    srcs = "".join(
        f'\n[[academies.sources]]\nkind = "feed"\nname = "site-{f}"\nurl = "{sites.url(f)}"\n'
        for f in range(feeds)
    )
    path = tmp / "bench.toml"
    path.write_text(example + srcs, encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=25)
    ap.add_argument(
        "--relevant", type=float, default=0.3, help="share of items that mention the academy"
    )
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument(
        "--hosts", type=int, default=8, help="simulated sites (one request in flight per site)"
    )
    ap.add_argument(
        "--workers", type=int, default=8, help="the service's worker pool (schedule.workers)"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the whole measurement N times (a fresh database and service each) and print "
        "the median ratio: on a shared machine one run's ratio moves by about 0.2 either way",
    )
    args = ap.parse_args()

    rng = random.Random(1)  # noqa: S311 - reproducible test data
    bodies = {
        f"/feed/{f}.xml": feed_body(f, args.items, args.relevant, rng) for f in range(args.feeds)
    }
    sites = Sites(args.hosts, bodies, args.latency_ms / 1000)
    ratios = []
    for n in range(args.repeat):
        if args.repeat > 1:
            print(f"\n=== run {n + 1} of {args.repeat}")
        ratios.append(run_once(args, sites))
    sites.stop()
    if args.repeat > 1:
        for label, rs in (
            ("all cores", [r[0] for r in ratios]),
            ("one core", [r[1] for r in ratios]),
        ):
            print(
                f"\nfirst cycle / bare embedding on {label}, per run: "
                f"{', '.join(f'{r:.2f}' for r in rs)}; median {statistics.median(rs):.2f}\u00d7"
            )


def run_once(args: argparse.Namespace, sites: Sites) -> tuple[float, float]:
    """A fresh database and service: the first cycle, its bare embedding, the unchanged cycle.
    Returns the first cycle's ratios to its bare embedding on all cores and on one."""
    from sqlalchemy import event, update

    from monitor import runner as runner_module
    from monitor.service import Service
    from sources import feeds as feeds_module

    ratio = (0.0, 0.0)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        app = App(write_config(tmp, sites, args.feeds, args.workers, args.hosts))
        t_load = time.perf_counter()
        service = Service(app, serve_web=False)
        load_s = time.perf_counter() - t_load
        phases = Phases()
        runner = service.runner
        scorer = runner.scorer
        assert scorer is not None
        phases.wrap(runner.client, "request", "fetch")
        phases.wrap(feeds_module, "parse_feed", "parse")
        phases.wrap(runner.matcher, "match", "match")
        phases.wrap(runner_module, "identify", "dedup ids")
        phases.wrap(runner_module, "simhash_bands", "dedup ids")
        phases.wrap(scorer, "assess", "score")
        phases.wrap(scorer, "embed", "embedding")
        phases.wrap(scorer.embedder, "encode", "model encode")
        phases.wrap(scorer, "probabilities", "heads+pii")
        phases.wrap(runner.notices, "enqueue", "notices")
        phases.wrap(runner, "run_source", "source total")
        statements = [0]

        @event.listens_for(service.store.engine, "before_cursor_execute")
        def _count(*_a: Any) -> None:
            statements[0] += 1  # under the GIL; a lost increment would only blur a count

        print(
            f"feeds={args.feeds} items/feed={args.items} relevant={args.relevant:.0%} latency={args.latency_ms:.0f} ms "
            f"sites={args.hosts} workers={args.workers}; model load {load_s:.1f} s"
        )
        for label in ("first cycle", "unchanged cycle"):
            phases.clear()
            sites.bytes_sent = sites.requests = 0
            before = service.store.count_mentions()
            statements[0] = 0
            t0, cpu0 = time.perf_counter(), time.process_time()
            service.tick_sources()
            service.wait_idle(timeout=3600)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            stored = service.store.count_mentions() - before
            # Before the bare encode below, which goes through the same wrapped encode.
            per_phase = {"worker time": dict(phases.seconds), "worker CPU": dict(phases.cpu)}
            items = args.feeds * args.items if label == "first cycle" else 0
            print(
                f"\n{label}: wall {wall:.2f} s, {sites.requests} requests, {sites.bytes_sent / 1024:.0f} KiB transferred; "
                f"process CPU {cpu:.2f} s ({cpu / wall:.2f} cores busy); {statements[0]} SQL statements"
            )
            if items:
                print(
                    f"  items/s {items / wall:,.0f}; mentions stored and scored {stored} "
                    f"({stored / wall:,.1f}/s of wall time)"
                )
                cores = os.cpu_count() or 1
                bare, bare_cpu = bare_embedding_seconds(service, stored, cores)
                one, _ = bare_embedding_seconds(service, stored, 1)
                ratio = (wall / bare, wall / one)
                print(
                    f"  first cycle {wall:.2f} s, bare embedding {bare:.2f} s "
                    f"(the same {stored} texts, one batched encode on all {cores} cores), "
                    f"ratio {wall / bare:.2f}\u00d7"
                )
                print(
                    f"  against the bare embedding on one core ({one:.2f} s; a worker's encode "
                    f"runs on one thread): {wall / one:.2f}\u00d7"
                )
                print(
                    f"  CPU: cycle {cpu:.2f} s, bare embedding {bare_cpu:.2f} s, "
                    f"ratio {cpu / bare_cpu:.2f}\u00d7 (both scale with the machine's speed)"
                )
            for what, sums in per_phase.items():
                stages = by_stage(defaultdict(float, sums))
                total = sum(stages.values()) or 1e-9
                print(
                    f"  {what} by stage (summed over threads): "
                    + ", ".join(
                        f"{name} {secs / total:.0%} ({secs:.2f} s)"
                        for name, secs in stages.items()
                        if secs > 0.005
                    )
                )
            # Make every source due again for the unchanged cycle.
            from monitor.store.schema import SourceRecord

            with service.store.session() as s:
                s.execute(update(SourceRecord).values(next_check_at=None))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak RSS {peak:.0f} MiB")
        service.stop()
    return ratio


if __name__ == "__main__":
    main()
