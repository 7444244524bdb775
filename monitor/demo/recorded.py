"""The demo's recorded public mentions of Ankermoor Primary Academy, and their rendering in the
response shapes of the real public APIs (RSS, Google News RSS, Mastodon, Bluesky, Reddit Atom,
Hacker News Algolia, a review page). Every person, number and address here is fictional."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape


@dataclass(frozen=True)
class Recorded:
    kind: str  # feed | google_news | mastodon | bluesky | reddit | hackernews | reviews
    id: str
    title: str
    text: str
    author: str = "anon"
    minutes_ago: int = 60
    has_media: bool = False
    link: str = ""


MENTIONS: tuple[Recorded, ...] = (
    # The local paper's feed: news, a critical story and two namesakes.
    Recorded(
        "feed",
        "gaz-1",
        "Pupils plant 200 trees along the River Anker",
        "Pupils from Ankermoor Primary Academy's eco-council spent Tuesday morning planting 200 "
        "saplings along the riverbank with volunteers from the Anker Valley Trust. Head teacher "
        "Claire Morgan said the children had worked incredibly hard.",
        "Sarah Collins",
        300,
    ),
    Recorded(
        "feed",
        "gaz-2",
        "Parents protest over teaching assistant cuts",
        "Around 60 parents gathered outside Anker Moor Primary on Friday to protest against "
        "proposals to cut teaching assistant hours. One parent said pupils with special needs "
        "would suffer most and accused the trust of putting money before children.",
        "Sarah Collins",
        240,
    ),
    Recorded(
        "feed",
        "gaz-3",
        "Ankermoor Road to close for three weeks for gas main work",
        "Ankermoor Road will be closed between the roundabout and the canal bridge from Monday "
        "while a gas main is replaced.",
        "Staff reporter",
        200,
    ),
    Recorded(
        "feed",
        "gaz-4",
        "Ankermoor Rovers sign striker from Riverside Town",
        "Ankermoor Rovers have signed forward Dean Marsh on an 18-month deal.",
        "Sports desk",
        180,
    ),
    # News search: the Gazette's tree story again (a syndicated copy) and an Ofsted story.
    Recorded(
        "google_news",
        "gn-1",
        "Pupils plant 200 trees along the River Anker - Ankermoor Gazette",
        "Pupils from Ankermoor Primary Academy's eco-council spent Tuesday morning planting 200 "
        "saplings along the riverbank with volunteers from the Anker Valley Trust. Head teacher "
        "Claire Morgan said the children had worked incredibly hard.",
        "Ankermoor Gazette",
        290,
    ),
    Recorded(
        "google_news",
        "gn-2",
        "Ankermoor Primary Academy told it 'requires improvement' - Midlands Echo",
        "Inspectors have told Ankermoor Primary Academy it requires improvement, saying behaviour "
        "in some classes is disruptive and leaders have been slow to act on bullying.",
        "Midlands Echo",
        150,
    ),
    # Mastodon: a leak of a teacher's personal number, a nativity photo, a teacher oversharing.
    Recorded(
        "mastodon",
        "113560000000000401",
        "",
        "If anyone needs Mrs Patel from #AnkermoorPrimary out of hours, her personal mobile is "
        "07700 900123. She never answers the school phone anyway.",
        "ankerparent",
        45,
    ),
    Recorded(
        "mastodon",
        "113560000000000402",
        "",
        "Proud of the Year 2s at #AnkermoorPrimary tonight, brilliant nativity! Photo of the "
        "whole cast in their uniforms: Ellie, Noah and Priya front row.",
        "ankerdad",
        90,
        True,
    ),
    Recorded(
        "mastodon",
        "113560000000000403",
        "",
        "Year 3 teacher at #AnkermoorPrimary. Views my own. Today: 27 kids, 1 TA off sick, and "
        "little Jacob B in my class told me his dad hasn't been home all week. Send wine.",
        "missk_teaches",
        120,
    ),
    # Bluesky: a threat with a home address, and a happy parent.
    Recorded(
        "bluesky",
        "3lcfqz7xk2s2b",
        "",
        "Mr Hughes from Ankermoor Primary Academy lives at 7 Mill Lane, B79 0XZ. You know what "
        "you did to my son. See you soon.",
        "angryanker.bsky.social",
        30,
    ),
    Recorded(
        "bluesky",
        "3lcfqz7xk2s2c",
        "",
        "Did the Ankermoor Primary Academy fun run with my two this morning. Absolutely "
        "destroyed. The seven-year-old lapped me twice.",
        "runningmum.bsky.social",
        400,
    ),
    # Reddit: a class list posted publicly, and an innocent question.
    Recorded(
        "reddit",
        "t3_1anker1",
        "Ankermoor Primary class list doing the rounds",
        "Someone has posted the Year 6 class list from Ankermoor Primary with every child's "
        "reading age and date of birth: Tom B 12/03/2015 reading age 8, Amira K 04/07/2015 "
        "reading age 7, Josh P 21/01/2015 reading age 9. This should not be public.",
        "u/anker_worried",
        60,
    ),
    Recorded(
        "reddit",
        "t3_1anker2",
        "Moving to the area: anyone have experience of Ankermoor Primary?",
        "We're relocating in the spring with a six-year-old and Ankermoor Primary came up on the "
        "council admissions map. Any parents here who can tell us what it's like?",
        "u/relocating_fam",
        500,
    ),
    # Hacker News: a security write-up that exposes pupils' data.
    Recorded(
        "hackernews",
        "45870001",
        "Ankermoor Primary Academy parent portal leaks pupil data",
        "The parent portal at Ankermoor Primary Academy let any logged-in parent download a CSV "
        "of every pupil's name, date of birth and SEN status. The admin password was "
        "'Ankermoor2026!' in a public config file.",
        "sec_researcher",
        75,
    ),
    # The school's own review page (every review is about the academy, named or not).
    Recorded(
        "reviews",
        "rev-1",
        "★☆☆☆☆ Avoid",
        "Reported bullying three times and nothing was done. The head is too busy doing PR for "
        "the trust to care about children being hurt in the playground.",
        "Parent of two",
        600,
    ),
    Recorded(
        "reviews",
        "rev-2",
        "★★★★★ Couldn't ask for more",
        "Both my kids have been here since Reception. The staff know every child by name and "
        "the SEN support has been fantastic.",
        "Happy parent",
        700,
    ),
)


def _when(r: Recorded, now: datetime) -> datetime:
    return now - timedelta(minutes=r.minutes_ago)


def rss_feed(now: datetime) -> bytes:
    items = "".join(
        f'<item><title>{escape(r.title)}</title><guid isPermaLink="false">{r.id}</guid>'
        f"<link>https://www.ankermoorgazette.example.org/news/{r.id}?utm_source=rss</link>"
        f"<pubDate>{format_datetime(_when(r, now))}</pubDate><author>{escape(r.author)}</author>"
        f"<description>{escape(r.text)}</description></item>"
        for r in MENTIONS
        if r.kind == "feed"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Ankermoor Gazette</title><link>https://www.ankermoorgazette.example.org/</link>"
        f"<description>Local news</description>{items}</channel></rss>"
    ).encode()


def _google_item(r: Recorded, now: datetime) -> str:
    summary = f'<a href="https://news.example.org/{r.id}">{escape(r.text)}</a>'
    return (
        f"<item><title>{escape(r.title)}</title>"
        f"<link>https://news.google.com/rss/articles/{r.id}?oc=5</link>"
        f'<guid isPermaLink="false">{r.id}</guid><pubDate>{format_datetime(_when(r, now))}</pubDate>'
        f"<description>{escape(summary)}</description>"
        f'<source url="https://news.example.org">{escape(r.author)}</source></item>'
    )


def google_news(now: datetime) -> bytes:
    items = "".join(_google_item(r, now) for r in MENTIONS if r.kind == "google_news")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel><title>"Ankermoor Primary" - Google News</title>'
        f"<link>https://news.google.com/</link><language>en-GB</language>{items}</channel></rss>"
    ).encode()


def mastodon(now: datetime) -> bytes:
    out = []
    for r in MENTIONS:
        if r.kind != "mastodon":
            continue
        media = (
            [
                {
                    "id": r.id + "9",
                    "type": "image",
                    "url": f"https://mastodon.example/media/{r.id}.jpg",
                    "preview_url": f"https://mastodon.example/media/{r.id}_s.jpg",
                    "description": "photo",
                }
            ]
            if r.has_media
            else []
        )
        out.append(
            {
                "id": r.id,
                "created_at": _when(r, now).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "visibility": "public",
                "language": "en",
                "sensitive": False,
                "spoiler_text": "",
                "uri": f"https://mastodon.example/users/{r.author}/statuses/{r.id}",
                "url": f"https://mastodon.example/@{r.author}/{r.id}",
                "content": f"<p>{escape(r.text)}</p>",
                "reblog": None,
                "account": {
                    "id": "1",
                    "username": r.author,
                    "acct": r.author,
                    "display_name": r.author,
                    "url": f"https://mastodon.example/@{r.author}",
                },
                "media_attachments": media,
                "mentions": [],
                "tags": [{"name": "ankermoorprimary"}],
            }
        )
    return json.dumps(out).encode()


def bluesky_session() -> bytes:
    return json.dumps(
        {
            "did": "did:plc:demo0000000000000000000",
            "handle": "demo.bsky.social",
            "accessJwt": "demo-access",
            "refreshJwt": "demo-refresh",
            "active": True,
        }
    ).encode()


def bluesky(now: datetime) -> bytes:
    posts = [
        {
            "uri": f"at://did:plc:demo{i:021d}/app.bsky.feed.post/{r.id}",
            "cid": f"bafy{r.id}",
            "author": {"did": f"did:plc:demo{i:021d}", "handle": r.author, "displayName": r.author},
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": _when(r, now).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "langs": ["en"],
                "text": r.text,
            },
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": 1,
            "quoteCount": 0,
            "indexedAt": _when(r, now).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "labels": [],
        }
        for i, r in enumerate(MENTIONS)
        if r.kind == "bluesky"
    ]
    return json.dumps({"posts": posts, "hitsTotal": len(posts)}).encode()


def _reddit_entry(r: Recorded, now: datetime) -> str:
    body = f'<div class="md"><p>{escape(r.text)}</p></div>'
    when = _when(r, now).isoformat()
    return (
        f"<entry><author><name>/{escape(r.author)}</name></author>"
        '<category term="UKParenting" label="r/UKParenting"/>'
        f'<content type="html">{escape(body)}</content><id>{r.id}</id>'
        f'<link href="https://www.reddit.com/r/UKParenting/comments/{r.id[3:]}/x/"/>'
        f"<updated>{when}</updated><published>{when}</published>"
        f"<title>{escape(r.title)}</title></entry>"
    )


def reddit(now: datetime) -> bytes:
    entries = "".join(_reddit_entry(r, now) for r in MENTIONS if r.kind == "reddit")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>reddit.com: search results</title><id>/search.rss</id>{entries}</feed>"
    ).encode()


def hackernews(now: datetime) -> bytes:
    hits = [
        {
            "objectID": r.id,
            "title": r.title,
            "story_text": r.text,
            "author": r.author,
            "url": f"https://blog.example.org/{r.id}",
            "created_at": _when(r, now).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_at_i": int(_when(r, now).timestamp()),
            "_tags": ["story", f"author_{r.author}", f"story_{r.id}"],
            "points": 12,
            "num_comments": 3,
        }
        for r in MENTIONS
        if r.kind == "hackernews"
    ]
    return json.dumps(
        {"hits": hits, "nbHits": len(hits), "page": 0, "nbPages": 1, "hitsPerPage": 50}
    ).encode()


def reviews_page() -> bytes:
    cards = "".join(
        f'<div class="review" itemprop="review" itemscope itemtype="https://schema.org/Review">'
        f'<h3 itemprop="name">{escape(r.title)}</h3><span itemprop="author">{escape(r.author)}</span>'
        f'<p itemprop="reviewBody">{escape(r.text)}</p></div>'
        for r in MENTIONS
        if r.kind == "reviews"
    )
    return (
        "<!doctype html><html><head><title>Ankermoor Primary Academy – reviews</title></head>"
        f"<body><h1>Reviews</h1>{cards}</body></html>"
    ).encode()


def routes(now: datetime | None = None) -> dict[str, tuple[str, bytes]]:
    """Path -> (content type, body) for the replay server."""
    t = now or datetime.now(UTC)
    return {
        "/gazette/rss": ("application/rss+xml", rss_feed(t)),
        "/rss/search": ("application/rss+xml", google_news(t)),
        "/api/v1/timelines/tag/AnkermoorPrimary": ("application/json", mastodon(t)),
        "/xrpc/com.atproto.server.createSession": ("application/json", bluesky_session()),
        "/xrpc/app.bsky.feed.searchPosts": ("application/json", bluesky(t)),
        "/search.rss": ("application/atom+xml", reddit(t)),
        "/api/v1/search_by_date": ("application/json", hackernews(t)),
        "/reviews": ("text/html; charset=utf-8", reviews_page()),
    }
