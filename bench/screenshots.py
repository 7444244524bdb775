"""Screenshots of the workspace for the README: the inbox at phone (390 px) and desktop
(1280 px) widths, and a mention page at phone width, into docs/screenshots/*.png.

The data is made up (demo academies, invented posts, no real person); the app runs on a
temporary SQLite file under uvicorn and Debian's Chromium takes the pictures.

    python bench/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import settings_from_mapping  # noqa: E402
from monitor.models import Evidence, Severity  # noqa: E402
from monitor.roles import Role  # noqa: E402
from monitor.service import collect_health  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.triage import Acknowledge, AddNote, Assign, MuteAuthor  # noqa: E402
from monitor.web import create_app  # noqa: E402
from monitor.web.auth import COOKIE, start_session  # noqa: E402
from tests.browser import DESKTOP, PHONE, chromium, serve  # noqa: E402
from tests.inbox_support import add_mention  # noqa: E402

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
HEAD = "head@ankermoor.example.org"
POSTS = [
    # (hours ago, academy, source, title, text, author, severity, categories, evidence phrase)
    (
        1,
        "ankermoor",
        "parents-forum",
        "Ankermoor teacher named and called a disgrace",
        "The Year 4 teacher at Ankermoor is a disgrace and should be sacked, ring 07700 900123.",
        "@angry.parent",
        Severity.URGENT,
        ["harassment", "reputation"],
        "is a disgrace",
    ),
    (
        3,
        "ankermoor",
        "local-news",
        "Ankermoor Primary wins regional reading award",
        "Pupils at Ankermoor Primary celebrated a reading award this week.",
        None,
        Severity.DIGEST,
        ["reputation"],
        "",
    ),
    (
        5,
        "ankermoor",
        "mastodon",
        "Photo of Ankermoor class list posted online",
        "Someone posted the Ankermoor class list with names and dates of birth.",
        "@someone@example.social",
        Severity.URGENT,
        ["data_leak"],
        "class list",
    ),
    (
        9,
        "ankermoor",
        "local-news",
        "Ankermoor summer fete raises £900 for the library",
        "The summer fete at Ankermoor raised £900 for new library books.",
        None,
        None,
        [],
        "",
    ),
    (
        20,
        "ankermoor",
        "reddit",
        "Traffic outside Ankermoor at pick-up time",
        "Cars parked on the zigzags outside Ankermoor again at pick-up.",
        "u/local_driver",
        Severity.DIGEST,
        ["reputation"],
        "",
    ),
    (
        30,
        "ankermoor",
        "bluesky",
        "Ankermoor choir at the town carol concert",
        "Lovely to hear the Ankermoor choir tonight.",
        "@choirfan.bsky.social",
        Severity.DIGEST,
        [],
        "",
    ),
]


def build(store: Store) -> int:
    first = 0
    for hours, academy, source, title, text, author, severity, cats, phrase in POSTS:
        start = text.find(phrase) if phrase else -1
        evidence = (
            [Evidence(start, start + len(phrase), "phrase", cats[0], phrase)] if start >= 0 else []
        )
        mid = add_mention(
            store,
            NOW - timedelta(hours=hours),
            academy=academy,
            source=source,
            title=title,
            text=text,
            author=author,
            severity=severity,
            categories=cats,
            evidence=evidence,
        )
        first = first or mid
    with store.transaction() as tx:
        tx.triage(first, Acknowledge(), HEAD, NOW)
        tx.triage(first, Assign(HEAD), HEAD, NOW)
        tx.triage(first, AddNote("Reported to the forum moderators."), HEAD, NOW)
        tx.triage(first + 4, MuteAuthor("u/local_driver"), HEAD, NOW)
    return first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mm-shots-"))
    sources = [
        {"kind": "feed", "name": n, "url": "https://news.example.org/feed"}
        for n in ("local-news", "parents-forum", "mastodon", "reddit", "bluesky")
    ]
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp / 'demo.db'}",
            "mail": {"from_address": "monitor@trust.example.org", "outbox_dir": str(tmp / "out")},
            "academies": [
                {
                    "id": "ankermoor",
                    "display_name": "Ankermoor Primary",
                    "names": ["Ankermoor"],
                    "recipients": [HEAD],
                    "sources": sources,
                }
            ],
        }
    )
    store = Store.open(settings.database_url)
    with store.transaction() as tx:
        user, _ = tx.add_user(HEAD, "Head", NOW)
        tx.grant_role(user.id, "ankermoor", Role.HEAD)
    first = build(store)
    cookie, _csrf = start_session(store, settings, user.id, NOW)
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], NOW, scheduler_alive=True),
        clock=lambda: NOW,
    )
    shots = [
        ("inbox-phone.png", PHONE, "/"),
        ("inbox-desktop.png", DESKTOP, "/"),
        ("mention-phone.png", PHONE, f"/mentions/{first}"),
    ]
    with serve(app) as url, chromium() as browser:
        for name, viewport, path in shots:
            context = browser.new_context(viewport=viewport)
            context.add_cookies([{"name": COOKIE, "value": cookie, "url": url}])
            page = context.new_page()
            page.goto(url + path)
            page.screenshot(path=str(out / name), full_page=True)
            context.close()
            print(out / name)
    store.close()


if __name__ == "__main__":
    main()
