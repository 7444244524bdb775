"""RSS, Atom and JSON Feed: the `feed` source kind.

`parse_feed` is pure: bytes in, RawItems out. It always parses the fetched bytes (feedparser is
never handed a URL, so it never fetches anything itself) after `feedsafety.defuse` has removed
entity declarations that could blow up memory.

Item ids are taken verbatim from the document (`<guid>`, Atom `<id>`, RSS 1.0 `rdf:about`).
feedparser resolves an Atom `<id>` as if it were a relative link, against the fetch URL or an
`xml:base`, whatever `resolve_relative_uris` says: Reddit's `t3_42tizy` would become
`https://www.reddit.com/r/x/t3_42tizy`, a different id for each URL the same post is read from.
So a light pass of expat over the same bytes reads the ids as written.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import xml.parsers.expat
from datetime import UTC, datetime
from typing import Any, ClassVar

import feedparser
from pydantic import BaseModel, ConfigDict, HttpUrl

from sources.base import Collected, FeedParseError, RawItem, SourceSpec, SourceState
from sources.bounded import check_document, fragment_text, load_json
from sources.feedsafety import defuse
from sources.http import GuardedClient, NotModified

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


def parse_json_feed(data: bytes, source_key: str, id_prefix: str = "") -> list[RawItem]:
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
                external_id=id_prefix + ext,  # RawItem fits it to the store
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
    data: bytes,
    source_key: str,
    base_url: str = "",
    charset: str | None = None,
    *,
    id_prefix: str = "",
) -> list[RawItem]:
    """Parse RSS/Atom/JSON Feed bytes into items, or raise FeedParseError with a one-line reason.

    `base_url` (where the bytes came from) resolves relative links, never ids. `id_prefix` goes in
    front of every external id ("gnews:", "reddit:") before the id is fitted to the store.
    """
    if not data.strip():
        raise FeedParseError("the response was empty")
    if _looks_like_json(data):
        return parse_json_feed(data, source_key, id_prefix)
    safe = defuse(data, charset)
    check_document(safe.decode("utf-8", "replace"), "the feed")
    # defuse returns UTF-8 whatever came in, so tell feedparser exactly that (and never the
    # server's charset, which no longer applies).
    headers = {"content-type": "application/xml; charset=utf-8"}
    if base_url:
        headers["content-location"] = base_url
    parsed = parse_bytes(safe, headers)
    entries = parsed.get("entries") or []
    ids = verbatim_ids(safe)
    if ids is None or len(ids) != len(entries):
        ids = [None] * len(entries)  # not well-formed XML: feedparser's reading of the ids
    items = [
        i
        for i in (
            _item(e, source_key, raw_id, id_prefix)
            for e, raw_id in zip(entries[:_MAX_ITEMS], ids, strict=False)
        )
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


def parse_bytes(safe: bytes, headers: dict[str, str] | None = None) -> Any:
    """feedparser over defused bytes. Relative links inside item HTML are not resolved: only its
    text is kept, so resolving them is work for nothing."""
    return feedparser.parse(
        safe,
        response_headers=headers or {"content-type": "application/xml; charset=utf-8"},
        resolve_relative_uris=False,
    )


# Namespaces whose <item>/<entry> feedparser reads as entries: RSS 0.9x/2.0 (none), RSS 0.90,
# RSS 1.0, Atom 0.3 and Atom 1.0.
_FEED_NS = {
    "",
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://purl.org/rss/1.0/",
    "http://purl.org/atom/ns#",
    "http://www.w3.org/2005/Atom",
    "http://backend.userland.com/rss2",
}
_RDF_ABOUT = "http://www.w3.org/1999/02/22-rdf-syntax-ns# about"


def verbatim_ids(safe: bytes) -> list[str | None] | None:
    """The id of every item/entry exactly as written, in document order, or None when the bytes are
    not well-formed XML. Only direct children of an item count (an Atom <source> has its own id)."""
    ids: list[str | None] = []
    stack: list[str] = []  # local names of the open elements
    entry_depth = -1  # depth of the open item/entry, or -1
    text: list[str] | None = None  # collecting an id's text

    def split(name: str) -> tuple[str, str]:
        ns, _, local = name.rpartition(" ")
        return ns, local

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal entry_depth, text
        ns, local = split(name)
        if entry_depth < 0 and local in ("item", "entry") and ns in _FEED_NS:
            entry_depth = len(stack)
            about = attrs.get(_RDF_ABOUT)
            ids.append(about.strip() if about and about.strip() else None)
        elif (
            entry_depth >= 0
            and len(stack) == entry_depth + 1
            and local in ("id", "guid")
            and ns in _FEED_NS
        ):
            text = []
        stack.append(local)

    def end(name: str) -> None:
        nonlocal entry_depth, text
        stack.pop()
        if text is not None and len(stack) == entry_depth + 1:
            value = "".join(text).strip()
            if value:
                ids[-1] = value  # a later id wins, as in feedparser
            text = None
        elif len(stack) == entry_depth:
            entry_depth = -1

    def chars(data: str) -> None:
        if text is not None:
            text.append(data)

    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    # Undefined entities (&nbsp; in a feed written as HTML) are skipped, not fatal.
    parser.UseForeignDTD(True)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(safe, True)
    except (xml.parsers.expat.ExpatError, ValueError):
        return None
    return ids


def _item(entry: Any, source_key: str, raw_id: str | None = None, id_prefix: str = "") -> RawItem:
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
    guid = raw_id or _as_str(entry.get("id"))
    ext = id_prefix + (guid or link or _content_hash(title, text))
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
        external_id=ext,  # RawItem fits it to the store
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
