"""Mastodon hashtag timelines: the `mastodon` source kind.

For each configured instance and hashtag, `GET /api/v1/timelines/tag/{tag}?limit=40&min_id=...`.
Mastodon has no open full-text search, so hashtags are what can be followed: '#Name' variants
plus each name run together ("AnkermoorPrimaryAcademy"). An instance only shows what it knows:
posts from its own users and from accounts its users follow.

Cursor: {"min_id": {"<instance>#<tag>": "<newest status id>"}}. The first collect reads the
newest page only (no backfill); later collects ask for statuses newer than min_id, page by page.
The same post seen on two instances has one ActivityPub URI, which is its external id.

An instance that has switched off public timelines for visitors answers 401/403: that pair is
noted and skipped; when every pair is refused the source is reported "blocked" with advice.

An item's text is the post (content warning first), then what it shows with it, each on its own
line: the link card's title and description, media descriptions (alt text) and, on servers that
support quotes (Mastodon 4.4+), the quoted post.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from sources.base import Collected, RawItem, SourceSpec, SourceState, SourceUnavailable
from sources.feeds import FeedParseError, html_to_text
from sources.http import GuardedClient, HTTPStatusError, NotModified
from sources.searching import (
    as_dict,
    as_str,
    base_url,
    decode_json,
    dump_cursor,
    hashtags,
    headline,
    load_cursor,
    parse_time,
    polite_get,
    str_map,
)

_MEDIA_TYPES = {"image", "video", "gifv"}


class MastodonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: tuple[str, ...] = Field(("mastodon.social",), min_length=1)  # host or base URL
    hashtags: tuple[str, ...] = ()  # default: derived from the academy's names
    limit: int = Field(40, ge=1, le=40)
    max_pages: int = Field(5, ge=1, le=50)  # per instance and tag per collect
    local_only: bool = False


def _statuses(data: bytes) -> list[dict[str, Any]]:
    doc = decode_json(data, "Mastodon")
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        raise FeedParseError(f"Mastodon answered with an error: {doc['error'][:200]}")
    if not isinstance(doc, list):
        raise FeedParseError("Mastodon answered with JSON that is not a list of statuses")
    return [s for s in doc if isinstance(s, dict) and as_str(s.get("id"))]


def _id_key(status_id: str) -> tuple[int, str]:
    # Mastodon ids are numeric strings (snowflakes); compare by length first, then text.
    return (len(status_id), status_id)


def _newest_id(statuses: list[dict[str, Any]]) -> str | None:
    ids = [as_str(s.get("id")) for s in statuses]
    return max(ids, key=_id_key) if ids else None


def _line(label: str, *parts: str) -> str | None:
    text = " — ".join(p for p in (" ".join(x.split()) for x in parts) if p)
    return f"[{label}] {text}" if text else None


def _extra_lines(st: dict[str, Any], quotes: bool = True) -> list[str]:
    """The card, alt texts and quoted post of a status, as a reader sees them."""
    card = as_dict(st.get("card"))
    lines = [_line("link", as_str(card.get("title")), as_str(card.get("description")))]
    for m in st.get("media_attachments") or []:
        if isinstance(m, dict):
            lines.append(_line(as_str(m.get("type")) or "media", as_str(m.get("description"))))
    quoted = as_dict(as_dict(st.get("quote")).get("quoted_status"))
    if quotes and quoted:
        acct = as_str(as_dict(quoted.get("account")).get("acct"))
        body = html_to_text(as_str(quoted.get("content")))
        lines.append(_line(f"quoting @{acct}" if acct else "quoting", body))
        lines.extend(_extra_lines(quoted, quotes=False))
    return [line for line in lines if line]


def _item(status: dict[str, Any], source_key: str) -> RawItem | None:
    st = status["reblog"] if isinstance(status.get("reblog"), dict) else status
    uri = as_str(st.get("uri")) or as_str(st.get("url"))
    if not uri:
        return None
    spoiler = " ".join(as_str(st.get("spoiler_text")).split())
    body = html_to_text(as_str(st.get("content")))
    own = f"{spoiler}\n{body}" if spoiler else body
    text = "\n".join(x for x in (own, *_extra_lines(st)) if x)
    account = as_dict(st.get("account"))
    acct = as_str(account.get("acct"))
    if acct and "@" not in acct:  # a local account: say which server it is on
        host = urlsplit(as_str(account.get("url"))).hostname
        acct = f"{acct}@{host}" if host else acct
    media = st.get("media_attachments") or []
    return RawItem(
        source_key=source_key,
        external_id=f"mastodon:{uri}",  # RawItem fits it to the store
        url=as_str(st.get("url")) or uri,
        # A content warning, then the post; a post with no words is titled by its card or media.
        title=headline((f"{spoiler}: {body}" if spoiler else body) or text),
        text=text,
        author=f"@{acct}" if acct else None,
        published_at=parse_time(st.get("created_at")),
        has_media=any(isinstance(m, dict) and m.get("type") in _MEDIA_TYPES for m in media),
    )


def parse_mastodon(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a Mastodon status list (a timeline page), or FeedParseError."""
    return [i for s in _statuses(data) if (i := _item(s, source_key)) is not None]


class MastodonCollector:
    """Public posts carrying the academy's hashtags, on each configured instance."""

    kind: ClassVar[str] = "mastodon"
    options_model: ClassVar[type[BaseModel]] = MastodonOptions
    default_interval_minutes: ClassVar[int] = 15
    description: ClassVar[str] = (
        "Mastodon hashtag timelines on chosen instances (posts, media flag)."
    )

    def tags(self, spec: SourceSpec) -> tuple[str, ...]:
        opts = spec.options
        assert isinstance(opts, MastodonOptions)
        return hashtags(spec.names, opts.hashtags)

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        opts = spec.options
        assert isinstance(opts, MastodonOptions)
        old = str_map(load_cursor(state.cursor).get("min_id"))
        new: dict[str, str] = {}
        items: dict[str, RawItem] = {}
        refused: list[str] = []
        pairs = 0
        for instance in opts.instances:
            base = base_url(instance)
            host = urlsplit(base).netloc
            for tag in self.tags(spec):
                pairs += 1
                key = f"{host}#{tag.casefold()}"
                since = old.get(key)
                try:
                    statuses = self._read(client, base, tag, since, opts)
                except HTTPStatusError as exc:
                    if exc.status not in (401, 403):
                        raise
                    refused.append(f"{host} #{tag} (HTTP {exc.status})")
                    if since:
                        new[key] = since
                    continue
                newest = _newest_id(statuses) or since
                if newest:
                    new[key] = newest
                for st in statuses:
                    if since and _id_key(as_str(st.get("id"))) <= _id_key(since):
                        continue  # a server that ignored min_id (not every fediverse server obeys)
                    item = _item(st, spec.key)
                    if item is not None:
                        items.setdefault(item.external_id, item)
        if refused and len(refused) == pairs:
            raise SourceUnavailable(
                "blocked",
                "these Mastodon instances do not show hashtag timelines to visitors: "
                + ", ".join(sorted({r.split(" #")[0] for r in refused})),
                advice="The instance has switched off public timelines for signed-out clients. "
                "List instances that allow it in this source's 'instances' option.",
            )
        notes = tuple(f"not readable without an account: {r}" for r in refused)
        return Collected(
            items=tuple(items.values()),
            state=SourceState(cursor=dump_cursor({"min_id": new})),
            notes=notes,
        )

    def _read(
        self, client: GuardedClient, base: str, tag: str, since: str | None, opts: MastodonOptions
    ) -> list[dict[str, Any]]:
        """The newest page on a first read; otherwise every page newer than `since`."""
        out: list[dict[str, Any]] = []
        min_id = since
        for _ in range(opts.max_pages):
            params: dict[str, str] = {"limit": str(opts.limit)}
            if opts.local_only:
                params["local"] = "true"
            if min_id:
                params["min_id"] = min_id
            url = f"{base}/api/v1/timelines/tag/{quote(tag, safe='')}?{urlencode(params)}"
            got = polite_get(client, url)
            if isinstance(got, NotModified):
                break
            page = _statuses(got.content)
            out.extend(page)
            if since is None or len(page) < opts.limit:
                break
            min_id = _newest_id(page)
        return out
