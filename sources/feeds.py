"""RSS, Atom and JSON Feed: the `feed` source kind.

`parse_feed` is pure: bytes in, RawItems out. It always parses the fetched bytes (feedparser is
never handed a URL, so it never fetches anything itself) after `feedsafety.defuse` has removed
entity declarations that could blow up memory.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import feedparser
from pydantic import BaseModel, ConfigDict, HttpUrl

from sources.base import Collected, FeedParseError, RawItem, SourceSpec, SourceState
from sources.bounded import check_document, fragment_text, load_json
from sources.feedsafety import defuse
from sources.http import GuardedClient, NotModified

# feedparser would otherwise resolve relative links against a URL it might fetch: never.
feedparser.RESOLVE_RELATIVE_URIS = 1

_MAX_ITEMS = 500  # a feed with more entries than this is truncated; the newest come first
_MAX_TEXT = 50_000


class FeedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed (within sources/bounded.py budgets)."""
    return fragment_text(html)


def _has_img(html: str) -> bool:
    return "<img" in html.lower() or "<video" in html.lower()


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        st = entry.get(key)
        if st:
            try:
                return datetime.fromtimestamp(calendar.timegm(st), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _content_hash(*parts: str) -> str:
    return (
        "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:32]
    )


def _looks_like_json(data: bytes) -> bool:
    head = data.lstrip()[:1]
    return head in (b"{", b"[")


def parse_json_feed(data: bytes, source_key: str) -> list[RawItem]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    doc = load_json(data, "the JSON Feed")
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise FeedParseError("JSON document is not a JSON Feed (no 'items' list)")
    out: list[RawItem] = []
    for raw in doc["items"][:_MAX_ITEMS]:
        if not isinstance(raw, dict):
            continue
        html = _as_str(raw.get("content_html"))
        text = _as_str(raw.get("content_text")) or html_to_text(html) or _as_str(raw.get("summary"))
        title = " ".join(_as_str(raw.get("title")).split())
        url = _as_str(raw.get("url")) or None
        published = None
        if isinstance(raw.get("date_published"), str):
            try:
                published = datetime.fromisoformat(raw["date_published"]).astimezone(UTC)
            except ValueError:
                published = None
        author = raw.get("author") or (raw.get("authors") or [None])[0]
        author_name = _as_str(author.get("name")) if isinstance(author, dict) else None
        ext = _as_str(raw.get("id")) or url or _content_hash(title, text)
        media = bool(raw.get("image") or raw.get("banner_image") or _has_img(html)) or any(
            isinstance(a, dict) and _as_str(a.get("mime_type")).startswith(("image/", "video/"))
            for a in raw.get("attachments") or []
        )
        out.append(
            RawItem(
                source_key=source_key,
                external_id=ext[:500],
                url=url,
                title=title[:1000],
                text=text[:_MAX_TEXT],
                author=author_name or None,
                published_at=published,
                has_media=media,
            )
        )
    return out


def parse_feed(
    data: bytes, source_key: str, base_url: str = "", charset: str | None = None
) -> list[RawItem]:
    """Parse RSS/Atom/JSON Feed bytes into items, or raise FeedParseError with a one-line reason."""
    if not data.strip():
        raise FeedParseError("the response was empty")
    if _looks_like_json(data):
        return parse_json_feed(data, source_key)
    safe = defuse(data, charset)
    check_document(safe.decode("utf-8", "replace"), "the feed")
    # defuse returns UTF-8 whatever came in, so tell feedparser exactly that (and never the
    # server's charset, which no longer applies).
    headers = {"content-type": "application/xml; charset=utf-8"}
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(safe, response_headers=headers)
    entries = parsed.get("entries") or []
    items = [
        i
        for i in (_item(e, source_key) for e in entries[:_MAX_ITEMS])
        if i.title or i.text or i.url
    ]
    if items:
        return items  # lenient: a slightly broken feed that still yields items loses nothing
    exc = parsed.get("bozo_exception")
    if parsed.get("version") and not (parsed.get("bozo") and _is_syntax_error(exc)):
        return []  # a valid feed with no entries: nothing new, not an error
    head = data[:1024].lower()  # the original: defuse removes every DOCTYPE
    if b"<html" in head or b"<!doctype html" in head:
        raise FeedParseError("the URL returned an HTML page, not a feed")
    detail = str(exc).splitlines()[0] if exc and str(exc) else "no RSS, Atom or JSON Feed found"
    detail = re.sub(r"^<unknown>:(\d+):(\d+):\s*", r"malformed XML at line \1, column \2: ", detail)
    raise FeedParseError(f"not a readable feed: {detail}")


def _is_syntax_error(exc: object) -> bool:
    # Encoding overrides are warnings feedparser recovers from; XML syntax errors are not.
    return exc is not None and "Encoding" not in type(exc).__name__


def _item(entry: Any, source_key: str) -> RawItem:
    title = html_to_text(_as_str(entry.get("title")))
    html_parts: list[str] = []
    for c in entry.get("content") or []:
        if isinstance(c, dict):
            html_parts.append(_as_str(c.get("value")))
    if not html_parts:
        html_parts.append(_as_str(entry.get("summary")))
    html = "\n".join(html_parts)
    text = html_to_text(html)
    link = _as_str(entry.get("link")) or None
    guid = _as_str(entry.get("id"))
    ext = guid or link or _content_hash(title, text)
    enclosures = entry.get("enclosures") or []
    media_content = entry.get("media_content") or []
    thumbs = entry.get("media_thumbnail") or []
    has_media = bool(
        _has_img(html)
        or media_content
        or thumbs
        or any(
            _as_str(e.get("type")).startswith(("image/", "video/")) or not e.get("type")
            for e in enclosures
            if isinstance(e, dict)
        )
    )
    author = _as_str(entry.get("author")) or None
    return RawItem(
        source_key=source_key,
        external_id=ext[:500],
        url=link,
        title=title[:1000],
        text=text[:_MAX_TEXT],
        author=author[:200] if author else None,
        published_at=_time(entry),
        has_media=has_media,
    )


class FeedCollector:
    """A feed the user subscribed to. robots.txt is not consulted: the user chose this URL."""

    kind: ClassVar[str] = "feed"
    options_model: ClassVar[type[BaseModel]] = FeedOptions
    default_interval_minutes: ClassVar[int] = 15
    description: ClassVar[str] = "An RSS, Atom or JSON Feed URL (local news, blogs, council pages)."

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        opts = spec.options
        assert isinstance(opts, FeedOptions)
        url = str(opts.url)
        got = client.get(url, etag=state.etag, last_modified=state.last_modified)
        if isinstance(got, NotModified):
            new_state = SourceState(got.etag, got.last_modified, state.cursor)
            return Collected(items=(), state=new_state, not_modified=True)
        items = parse_feed(got.content, spec.key, got.url, got.charset)
        return Collected(
            items=tuple(items),
            state=SourceState(got.etag, got.last_modified, state.cursor),
        )
