"""Lemmy search (`/api/v3/search?type_=All&sort=New`): the `lemmy` source kind.

Posts and comments on each configured instance (which also holds what it federates from
others). Lemmy has no "since" filter, so the cursor keeps the newest `published` time per
instance and query, newer items are kept, and paging stops at the first page that reaches back
past it. The ActivityPub id (`ap_id`) is the external id, the same on every instance.

Cursor: {"newest": {"<instance>|<query>": "<published of the newest item>"}}.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from sources.base import Collected, RawItem, SourceSpec, SourceState, SourceUnavailable
from sources.feeds import FeedParseError
from sources.http import GuardedClient, HTTPStatusError, NotModified
from sources.searching import (
    as_dict,
    as_str,
    base_url,
    decode_json,
    dump_cursor,
    headline,
    load_cursor,
    parse_time,
    polite_get,
    search_queries,
    str_map,
)

_IMAGE_URL = re.compile(r"\.(jpe?g|png|gif|webp|avif|mp4|webm)(\?|$)", re.I)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(")


class LemmyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: tuple[str, ...] = Field(("lemmy.world",), min_length=1)  # host or base URL
    queries: tuple[str, ...] = ()  # default: each of the academy's names, as an exact phrase
    limit: int = Field(50, ge=1, le=50)
    max_pages: int = Field(3, ge=1, le=20)


def _views(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """("post" | "comment", view) pairs of a search answer."""
    doc = decode_json(data, "Lemmy")
    if not isinstance(doc, dict):
        raise FeedParseError("Lemmy answered with JSON that is not a search result")
    if isinstance(doc.get("error"), str):
        raise FeedParseError(f"Lemmy answered with an error: {doc['error'][:200]}")
    if not isinstance(doc.get("posts"), list) and not isinstance(doc.get("comments"), list):
        raise FeedParseError("Lemmy answered with JSON that has no 'posts' or 'comments'")
    out: list[tuple[str, dict[str, Any]]] = []
    for kind in ("post", "comment"):
        for view in doc.get(f"{kind}s") or []:
            if isinstance(view, dict) and isinstance(view.get(kind), dict):
                out.append((kind, view))
    return out


def _name(person: object) -> str | None:
    if not isinstance(person, dict):
        return None
    name = as_str(person.get("name"))
    host = urlsplit(as_str(person.get("actor_id"))).hostname
    return f"@{name}@{host}" if name and host else (name or None)


def _item(kind: str, view: dict[str, Any], source_key: str) -> RawItem | None:
    obj = view[kind]
    ap_id = as_str(obj.get("ap_id"))
    if not ap_id or obj.get("deleted") or obj.get("removed"):
        return None
    post = as_dict(view.get("post"))
    if kind == "post":
        body = as_str(obj.get("body"))
        title = " ".join(as_str(obj.get("name")).split())
        # A link post shows the linked page's card (embed_title/embed_description, fetched by
        # the instance); an image post may have alt text (Lemmy 0.19.4+).
        card = " — ".join(
            p
            for p in (
                " ".join(as_str(obj.get(k)).split()) for k in ("embed_title", "embed_description")
            )
            if p
        )
        alt = " ".join(as_str(obj.get("alt_text")).split())
        extra = [f"[link] {card}" if card else "", f"[image] {alt}" if alt else ""]
        text = "\n".join(x for x in (body or title, *extra) if x)
        link = as_str(obj.get("url"))
        media = bool(
            as_str(obj.get("thumbnail_url"))
            or as_str(obj.get("embed_video_url"))
            or _IMAGE_URL.search(link)
            or _MARKDOWN_IMAGE.search(body)
        )
    else:
        text = as_str(obj.get("content"))
        story = " ".join(as_str(post.get("name")).split())
        title = f"Comment on: {story}" if story else headline(text)
        media = bool(_MARKDOWN_IMAGE.search(text))
    return RawItem(
        source_key=source_key,
        external_id=f"lemmy:{ap_id}",  # RawItem fits it to the store
        url=ap_id,
        title=title[:1000],
        text=text,
        author=_name(view.get("creator")),
        published_at=parse_time(obj.get("published")),
        has_media=media,
    )


def parse_lemmy(data: bytes, source_key: str) -> list[RawItem]:
    """Items (posts and comments) of a Lemmy search answer, or FeedParseError."""
    return [i for k, v in _views(data) if (i := _item(k, v, source_key)) is not None]


class LemmyCollector:
    """Lemmy posts and comments naming the academy, on each configured instance."""

    kind: ClassVar[str] = "lemmy"
    options_model: ClassVar[type[BaseModel]] = LemmyOptions
    default_interval_minutes: ClassVar[int] = 30
    description: ClassVar[str] = "Lemmy search (posts and comments) on chosen instances."

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        opts = spec.options
        assert isinstance(opts, LemmyOptions)
        old = str_map(load_cursor(state.cursor).get("newest"))
        new: dict[str, str] = {}
        items: dict[str, RawItem] = {}
        refused: list[str] = []
        queries = search_queries(spec.names, opts.queries)
        for instance in opts.instances:
            base = base_url(instance)
            host = urlsplit(base).netloc
            for q in queries:
                key = f"{host}|{q}"
                since = parse_time(old.get(key))
                try:
                    found = self._read(client, base, q, since, opts, spec.key)
                except HTTPStatusError as exc:
                    if exc.status not in (401, 403):
                        raise
                    refused.append(f"{host} (HTTP {exc.status})")
                    if key in old:
                        new[key] = old[key]
                    continue
                stamps = [i.published_at for i in found if i.published_at]
                newest = max([*stamps, *([since] if since else [])], default=None)
                if newest:
                    new[key] = newest.isoformat()
                for item in found:
                    items.setdefault(item.external_id, item)
        if refused and len(refused) == len(opts.instances) * len(queries):
            raise SourceUnavailable(
                "blocked",
                "these Lemmy instances do not allow search without an account: "
                + ", ".join(sorted(set(refused))),
                advice="Choose public instances in this source's 'instances' option.",
            )
        notes = tuple(sorted({f"not readable without an account: {r}" for r in refused}))
        return Collected(
            items=tuple(items.values()),
            state=SourceState(cursor=dump_cursor({"newest": new})),
            notes=notes,
        )

    def _read(
        self,
        client: GuardedClient,
        base: str,
        q: str,
        since: datetime | None,
        opts: LemmyOptions,
        source_key: str,
    ) -> list[RawItem]:
        out: list[RawItem] = []
        for page in range(1, opts.max_pages + 1):
            params = {
                "q": q,
                "type_": "All",
                "sort": "New",
                "limit": str(opts.limit),
                "page": str(page),
            }
            got = polite_get(client, f"{base}/api/v3/search?{urlencode(params)}")
            if isinstance(got, NotModified):
                break
            views = _views(got.content)
            found = [i for k, v in views if (i := _item(k, v, source_key)) is not None]
            fresh = [
                i for i in found if since is None or (i.published_at and i.published_at > since)
            ]
            out.extend(fresh)
            posts = sum(1 for k, _ in views if k == "post")
            full = posts >= opts.limit or len(views) - posts >= opts.limit
            # First read: newest page only. Later: stop once a page reaches back past `since`.
            if since is None or len(fresh) < len(found) or not full:
                break
        return out
