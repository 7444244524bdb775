"""Benchmark of the inbox query (monitor/store/inbox.py) on a SQLite file of 10,000 mentions.

Builds the file through the store's own API (3 academies, 6 sources each, ~3 % urgent, ~25 % not
yet scored, statuses spread over new/acknowledged/action taken/closed, some clustered copies,
a few author mutes; synthetic text), then times each query over repeats and prints the median
and 95th percentile in milliseconds. Asserts nothing.

    python bench/inbox.py [--mentions 10000] [--repeats 50] [--db PATH]

Queries (each as the page runs it: rows, cluster sizes, mutes and the counts per status):
- first page: one academy's viewer (a head), page of 50
- filtered: two academies, status new, category harassment, last 30 days
- search: a word in the text (LIKE over title and text)
- page 5: the fifth page of the first-page query, reached by cursor
- counts: the GROUP BY of the counts alone, for every academy

Then the inbox page's full server time: GET / (and the same filters as above) through the real
app (Starlette's TestClient, a signed-in head's session): session check, query, redaction of the
titles and the Jinja2 page.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.models import CATEGORIES, Assessment, Match, RawItem, Severity  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.store.inbox import InboxQuery  # noqa: E402
from monitor.store.repository import Candidate  # noqa: E402
from monitor.triage import (  # noqa: E402
    Acknowledge,
    MuteAuthor,
    SetStatus,
    Status,
)

ACADEMIES = ("ankermoor", "bramley", "carrow")
SOURCES = ("gazette", "bbc-local", "mastodon", "bluesky", "reddit", "parents-forum")
WORDS = [
    "school",
    "fete",
    "pupils",
    "teacher",
    "parents",
    "trip",
    "uniform",
    "headteacher",
    "ofsted",
    "governors",
    "lunch",
    "playground",
    "bus",
    "homework",
    "concert",
    "sports",
    "detention",
    "complaint",
    "award",
    "library",
    "charity",
]
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
HEAD = "head@example.org"


def build(store: Store, n: int, rng: random.Random) -> None:
    at = NOW - timedelta(days=180)
    step = timedelta(days=180) / n
    authors = [f"@parent{i}" for i in range(400)]
    clustered: dict[str, str] = {}
    made: list[tuple[int, str]] = []
    with store.transaction() as tx:
        for i in range(n):
            at += step
            org = rng.choice(ACADEMIES)
            text = " ".join(rng.choices(WORDS, k=30))
            item = RawItem(
                f"{org}/{rng.choice(SOURCES)}",
                f"x{i}",
                f"https://example.org/{i}",
                f"{org.title()} {' '.join(rng.choices(WORDS, k=6))}",
                text,
                author=rng.choice(authors),
                published_at=at - timedelta(hours=1),
            )
            cand = Candidate(
                item, Match(org, org, "title", 0, 5), item.url, f"fp{i:08d}", i, (i, i, i, i)
            )
            # One in ten is a copy of a recent story of the same academy.
            cluster = clustered.get(org) if rng.random() < 0.1 else None
            m = tx.add_mention(cand, cluster, at)
            assert m is not None
            clustered[org] = m.cluster_id
            made.append((m.id, org))
            r = rng.random()
            if r < 0.75:
                urgent = r < 0.03
                cats = tuple(c for c in CATEGORIES if rng.random() < (0.5 if urgent else 0.15))
                tx.add_assessment(
                    m.id,
                    Assessment(
                        {c: 0.8 for c in cats},
                        cats,
                        Severity.URGENT if urgent else Severity.DIGEST,
                        "bench",
                        (),
                        "bench",
                    ),
                    at,
                )
    # Older mentions are mostly handled; the last weeks mostly new.
    with store.transaction() as tx:
        for k, (mid, _org) in enumerate(made):
            age = 1 - k / len(made)
            if rng.random() < age * 0.9:
                tx.triage(mid, Acknowledge(), HEAD, NOW)
                if rng.random() < 0.3:
                    tx.triage(mid, SetStatus(Status.ACTION_TAKEN), HEAD, NOW)
                if rng.random() < 0.8:
                    tx.triage(mid, SetStatus(Status.CLOSED), HEAD, NOW)
        for mid, _org in rng.sample(made, 10):
            with contextlib.suppress(ValueError):  # already muted in that academy
                tx.triage(mid, MuteAuthor(rng.choice(authors)), HEAD, NOW)


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm the page cache
    ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mentions", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--db", help="SQLite file to build (default: a temporary one)")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="mm-inbox-")
    db = Path(args.db) if args.db else Path(folder) / "inbox.db"
    db.unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{db}")
    t = time.perf_counter()
    build(store, args.mentions, random.Random(12))
    print(f"built {args.mentions} mentions in {time.perf_counter() - t:.1f} s: {db}")

    head = InboxQuery(academies=("ankermoor",))
    cursor = None
    for _ in range(4):
        cursor = store.inbox(InboxQuery(academies=("ankermoor",), cursor=cursor)).next_cursor
    page5 = InboxQuery(academies=("ankermoor",), cursor=cursor)
    filtered = InboxQuery(
        academies=("ankermoor", "bramley"),
        status=Status.NEW,
        category="harassment",
        seen_from=NOW - timedelta(days=30),
    )
    search = InboxQuery(academies=ACADEMIES, search="detention")

    from monitor.store import inbox as inbox_rows

    def counts() -> object:
        with store.session() as session:
            return inbox_rows.status_counts(session, InboxQuery(academies=ACADEMIES))

    queries: list[tuple[str, Callable[[], object]]] = [
        ("first page", lambda: store.inbox(head)),
        ("filtered page", lambda: store.inbox(filtered)),
        ("search", lambda: store.inbox(search)),
        ("page 5 (cursor)", lambda: store.inbox(page5)),
        ("counts only", counts),
    ]
    print(f"{'query':<18} {'median ms':>10} {'p95 ms':>8}   rows  ({args.repeats} repeats)")
    for name, fn in queries:
        med, p95 = timed(fn, args.repeats)
        got = fn()
        rows = len(got.rows) if hasattr(got, "rows") else "-"
        print(f"{name:<18} {med:>10.1f} {p95:>8.1f}   {rows}")
    pages(store, args.repeats)
    store.close()


def pages(store: Store, repeats: int) -> None:
    """The inbox page through the app, as a signed-in head of every academy sees it."""
    from starlette.testclient import TestClient

    from monitor.config import settings_from_mapping
    from monitor.roles import Role
    from monitor.service import collect_health
    from monitor.web import create_app
    from monitor.web.auth import COOKIE, start_session

    settings = settings_from_mapping(
        {
            "database_url": "sqlite://",  # unused: the app gets the bench's store
            "mail": {"from_address": "bench@example.org", "outbox_dir": tempfile.mkdtemp()},
            "academies": [
                {"id": a, "display_name": a.title(), "names": [a.title()]} for a in ACADEMIES
            ],
        }
    )
    with store.transaction() as tx:
        user, _ = tx.add_user("page@example.org", "", NOW)
        for a in ACADEMIES:
            tx.grant_role(user.id, a, Role.HEAD)
    cookie, _ = start_session(store, settings, user.id, NOW)
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], NOW, scheduler_alive=True),
        clock=lambda: NOW,
    )
    urls = [
        ("page: inbox", "/"),
        ("page: filtered", "/?status=new&category=harassment&from=2026-12-16"),
        ("page: search", "/?q=detention"),
        ("page: one academy", "/?academy=ankermoor"),
    ]
    with TestClient(app, base_url="http://testserver", cookies={COOKIE: cookie}) as client:
        print(f"{'page (GET)':<18} {'median ms':>10} {'p95 ms':>8}   rows  ({repeats} repeats)")
        for name, url in urls:

            def get(url: str = url) -> object:
                r = client.get(url)
                assert r.status_code == 200, r.status_code
                return r

            med, p95 = timed(get, repeats)
            rows = client.get(url).text.count('<td class="title">')
            print(f"{name:<18} {med:>10.1f} {p95:>8.1f}   {rows}")


if __name__ == "__main__":
    main()
