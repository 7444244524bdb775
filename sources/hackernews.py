"""Hacker News search through Algolia (`/api/v1/search_by_date`): the `hackernews` source kind.

Stories and comments, newest first. Rarely about a primary school, but open, cheap and a place
where a data leak or an edtech story surfaces. One query per name variant.

Cursor: {"since": <created_at_i of the newest hit>}. Later collects add
`numericFilters=created_at_i>{since}`, so only newer hits come back, page by page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from sources.base import Collected, RawItem, SourceSpec, SourceState
from sources.feeds import FeedParseError, html_to_text
from sources.http import GuardedClient, NotModified
from sources.searching import (
    as_str,
    decode_json,
    dump_cursor,
    load_cursor,
    polite_get,
    search_queries,
)

ITEM_URL = "https://news.ycombinator.com/item?id="  # where a person reads a hit; never fetched


class HackerNewsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queries: tuple[str, ...] = ()  # default: each of the academy's names, as an exact phrase
    tags: str = "(story,comment)"
    hits_per_page: int = Field(100, ge=1, le=1000)
    max_pages: int = Field(3, ge=1, le=50)
    base_url: str = "https://hn.algolia.com"


def _page(data: bytes) -> tuple[list[dict[str, Any]], int]:
    doc = decode_json(data, "HN Algolia")
    if not isinstance(doc, dict) or not isinstance(doc.get("hits"), list):
        raise FeedParseError("HN Algolia answered with JSON that has no 'hits' list")
    hits = [h for h in doc["hits"] if isinstance(h, dict) and as_str(h.get("objectID"))]
    pages = doc.get("nbPages")
    return hits, pages if isinstance(pages, int) else 1


def _created(hit: dict[str, Any]) -> int | None:
    value = hit.get("created_at_i")
    return value if isinstance(value, int) else None


def _item(hit: dict[str, Any], source_key: str) -> RawItem:
    oid = as_str(hit.get("objectID"))
    tags = hit.get("_tags") or []
    is_comment = "comment" in tags or bool(hit.get("comment_text"))
    if is_comment:
        story = " ".join(as_str(hit.get("story_title")).split())
        title = f"Comment on: {story}" if story else "Comment on Hacker News"
        text = html_to_text(as_str(hit.get("comment_text")))
        url = f"{ITEM_URL}{oid}"
    else:
        title = " ".join(as_str(hit.get("title")).split())
        text = html_to_text(as_str(hit.get("story_text"))) or title
        url = as_str(hit.get("url")) or f"{ITEM_URL}{oid}"
    created = _created(hit)
    return RawItem(
        source_key=source_key,
        external_id=f"hn:{oid}",
        url=url,
        title=title[:1000],
        text=text,
        author=as_str(hit.get("author")) or None,
        published_at=datetime.fromtimestamp(created, tz=UTC) if created is not None else None,
    )


def parse_hackernews(data: bytes, source_key: str) -> list[RawItem]:
    """Items of one search_by_date answer, or FeedParseError."""
    return [_item(h, source_key) for h in _page(data)[0]]


class HackerNewsCollector:
    """Hacker News stories and comments naming the academy."""

    kind: ClassVar[str] = "hackernews"
    options_model: ClassVar[type[BaseModel]] = HackerNewsOptions
    default_interval_minutes: ClassVar[int] = 60
    description: ClassVar[str] = "Hacker News stories and comments (Algolia search), newest first."

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        opts = spec.options
        assert isinstance(opts, HackerNewsOptions)
        cursor = load_cursor(state.cursor)
        since = cursor.get("since") if isinstance(cursor.get("since"), int) else None
        items: dict[str, RawItem] = {}
        newest = since
        for q in search_queries(spec.names, opts.queries):
            for hit in self._read(client, opts, q, since):
                created = _created(hit)
                if since is not None and created is not None and created <= since:
                    continue  # already returned; the filter is the server's, this is a safety net
                if created is not None and (newest is None or created > newest):
                    newest = created
                item = _item(hit, spec.key)
                items.setdefault(item.external_id, item)
        doc = {"since": newest} if newest is not None else {}
        return Collected(items=tuple(items.values()), state=SourceState(cursor=dump_cursor(doc)))

    def _read(
        self, client: GuardedClient, opts: HackerNewsOptions, q: str, since: int | None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(opts.max_pages):
            params = {"query": q, "tags": opts.tags, "hitsPerPage": str(opts.hits_per_page)}
            if since is not None:
                params["numericFilters"] = f"created_at_i>{since}"
            if page:
                params["page"] = str(page)
            url = f"{opts.base_url.rstrip('/')}/api/v1/search_by_date?{urlencode(params)}"
            got = polite_get(client, url)
            if isinstance(got, NotModified):
                break
            hits, pages = _page(got.content)
            out.extend(hits)
            # A first read takes the newest page only (no backfill of years of history).
            if since is None or page + 1 >= pages:
                break
        return out
