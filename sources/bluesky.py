"""Bluesky post search (`app.bsky.feed.searchPosts`): the `bluesky` source kind.

Since 2025 Bluesky refuses anonymous search (HTTP 403), so this source needs an account: a handle
and an app password (Settings -> Privacy and security -> App passwords). Without them the source
is reported "needs credentials" once and no request is made. With them, a session is created
with `com.atproto.server.createSession` when a run finds none, and kept IN MEMORY in this process
only as an optimisation, keyed by the credentials (server, handle and a hash of the password), so
that every source and every job of one account shares it. Nothing relies on it: a job in a fresh
worker process signs in again. Tokens are never written to the database. An expired access token
(HTTP 400 ExpiredToken, or 401) is renewed with `com.atproto.server.refreshSession`, else by
signing in again.

Cursor: {"since": {query: "<sort time of the newest post>"}, "seen": [post uris]}. Later
collects pass `since` so only newer posts come back; `seen` drops the boundary post.

An item's text is the post's own text, then what it shows with it, each on its own line: a link
card's title and description, a quoted post's text (with its own card and alt text), image and
video alt text. An image-only post is then not empty, and a card titled with the school's name is
matched. Shapes: the `app.bsky.embed.*#view` lexicons (bluesky-social/atproto lexicons/app/bsky/).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sources.base import Collected, RawItem, SourceSpec, SourceState, SourceUnavailable
from sources.feeds import FeedParseError
from sources.http import GuardedClient, HTTPStatusError, NotModified, Response
from sources.searching import (
    as_dict,
    as_str,
    decode_json,
    dump_cursor,
    headline,
    load_cursor,
    parse_time,
    polite_get,
    remember,
    search_queries,
    str_map,
)

CREDENTIALS_ADVICE = (
    "Create an app password at https://bsky.app/settings/app-passwords and set 'handle' and "
    "'app_password' in this source's options, or better in the environment as "
    "MONITOR_CREDENTIALS__BLUESKY__HANDLE and MONITOR_CREDENTIALS__BLUESKY__APP_PASSWORD."
)
_MEDIA_EMBEDS = ("app.bsky.embed.images", "app.bsky.embed.video")
WEB = "https://bsky.app"  # where a person opens a post; never fetched


class BlueskyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    handle: str | None = None  # e.g. "ankermoor-monitor.bsky.social"
    app_password: SecretStr | None = None
    queries: tuple[str, ...] = ()  # default: every name, hashtags included
    lang: str | None = None  # e.g. "en"
    limit: int = Field(50, ge=1, le=100)
    max_pages: int = Field(3, ge=1, le=20)
    base_url: str = "https://bsky.social"  # the account's PDS or the bsky.social entryway


@dataclass(frozen=True)
class _Session:
    access: str
    refresh: str


# Sessions by credentials, shared by every collector in this process (see the module docstring).
_SESSIONS: dict[str, _Session] = {}


def _account(opts: BlueskyOptions) -> str:
    password = opts.app_password.get_secret_value() if opts.app_password else ""
    digest = hashlib.sha256(f"{opts.base_url}\n{opts.handle}\n{password}".encode()).hexdigest()
    return digest


def _posts(data: bytes) -> tuple[list[dict[str, Any]], str | None]:
    doc = decode_json(data, "Bluesky")
    if not isinstance(doc, dict) or not isinstance(doc.get("posts"), list):
        raise FeedParseError("Bluesky answered with JSON that has no 'posts' list")
    posts = [p for p in doc["posts"] if isinstance(p, dict) and as_str(p.get("uri"))]
    return posts, as_str(doc.get("cursor")) or None


_QUOTE_DEPTH = 2  # a quote of a quote is shown; deeper quotes are not (nor does Bluesky show them)


def _line(label: str, *parts: str) -> str | None:
    text = " — ".join(p for p in (" ".join(x.split()) for x in parts) if p)
    return f"[{label}] {text}" if text else None


def _embed_lines(embed: object, depth: int = 0) -> list[str]:
    """Text a reader sees in an embed (a view, or the record's own embed when no view came)."""
    if not isinstance(embed, dict):
        return []
    kind = as_str(embed.get("$type")).removesuffix("#view")
    out: list[str | None] = []
    if kind == "app.bsky.embed.images":
        out = [_line("image", as_str(i.get("alt"))) for i in _dicts(embed.get("images"))]
    elif kind == "app.bsky.embed.video":
        out = [_line("video", as_str(embed.get("alt")))]
    elif kind == "app.bsky.embed.external":
        ext = as_dict(embed.get("external"))
        out = [_line("link", as_str(ext.get("title")), as_str(ext.get("description")))]
    elif kind == "app.bsky.embed.record":
        return _quoted_lines(as_dict(embed.get("record")), depth)
    elif kind == "app.bsky.embed.recordWithMedia":
        media = _embed_lines(embed.get("media"), depth)
        quoted = as_dict(embed.get("record"))
        # The view nests the quote as {"record": {"record": viewRecord}}; the raw record
        # embed as {"record": {"record": strongRef}} (no text to add).
        return media + _quoted_lines(as_dict(quoted.get("record")), depth)
    return [line for line in out if line]


def _quoted_lines(view: dict[str, Any], depth: int) -> list[str]:
    if depth >= _QUOTE_DEPTH:
        return []
    kind = as_str(view.get("$type"))
    if kind == "app.bsky.embed.record#viewRecord":
        author = as_dict(view.get("author"))
        handle = as_str(author.get("handle"))
        value = as_dict(view.get("value"))
        line = _line(f"quoting @{handle}" if handle else "quoting", as_str(value.get("text")))
        nested = [x for e in _dicts(view.get("embeds")) for x in _embed_lines(e, depth + 1)]
        return ([line] if line else []) + nested
    if kind == "app.bsky.feed.defs#generatorView":
        line = _line("feed", as_str(view.get("displayName")), as_str(view.get("description")))
        return [line] if line else []
    if kind == "app.bsky.graph.defs#listView":
        line = _line("list", as_str(view.get("name")), as_str(view.get("description")))
        return [line] if line else []
    return []  # viewNotFound, viewBlocked, viewDetached: nothing to read


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _has_media(embed: object) -> bool:
    if not isinstance(embed, dict):
        return False
    kind = as_str(embed.get("$type"))
    if kind.startswith(_MEDIA_EMBEDS):
        return True
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        return _has_media(embed.get("media")) or _has_media(embed.get("record"))
    if kind == "app.bsky.embed.record#view":
        # A quoted post's photos are shown again with the quote.
        quoted = as_dict(embed.get("record"))
        return any(_has_media(e) for e in _dicts(quoted.get("embeds")))
    return False


def _sort_time(post: dict[str, Any]) -> str | None:
    """Bluesky's sort time: the earlier of createdAt and indexedAt (what `since` compares)."""
    record = as_dict(post.get("record"))
    times = [
        (t, s)
        for s in (as_str(record.get("createdAt")), as_str(post.get("indexedAt")))
        if (t := parse_time(s)) is not None
    ]
    return min(times)[1] if times else None


def _item(post: dict[str, Any], source_key: str) -> RawItem:
    uri = as_str(post.get("uri"))
    author = as_dict(post.get("author"))
    handle = as_str(author.get("handle")) or as_str(author.get("did"))
    record = as_dict(post.get("record"))
    own = as_str(record.get("text"))
    # The hydrated view when the API sent one; else the record's own embed (alt text, card).
    view = post.get("embed") if isinstance(post.get("embed"), dict) else record.get("embed")
    extra = _embed_lines(view)
    text = "\n".join([own, *extra]) if own else "\n".join(extra)
    rkey = uri.rsplit("/", 1)[-1]
    return RawItem(
        source_key=source_key,
        external_id=f"bluesky:{uri}",  # RawItem fits it to the store
        url=f"{WEB}/profile/{handle}/post/{rkey}" if handle else None,
        title=headline(own or text),
        text=text,
        author=f"@{handle}" if handle else None,
        published_at=parse_time(record.get("createdAt")) or parse_time(post.get("indexedAt")),
        has_media=_has_media(post.get("embed")) or _has_media(record.get("embed")),
    )


def parse_bluesky(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a searchPosts answer, or FeedParseError."""
    return [_item(p, source_key) for p in _posts(data)[0]]


class BlueskyCollector:
    """Posts matching each name, newest first, read with the configured account."""

    kind: ClassVar[str] = "bluesky"
    options_model: ClassVar[type[BaseModel]] = BlueskyOptions
    default_interval_minutes: ClassVar[int] = 15
    description: ClassVar[str] = "Bluesky post search (needs a handle and an app password)."

    def __init__(self) -> None:
        self._sessions = _SESSIONS  # an optimisation only: a missing session is created

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        opts = spec.options
        assert isinstance(opts, BlueskyOptions)
        if not opts.handle or opts.app_password is None or not opts.app_password.get_secret_value():
            raise SourceUnavailable(
                "needs_credentials",
                "Bluesky search needs a signed-in account (anonymous search is refused since 2025)",
                advice=CREDENTIALS_ADVICE,
            )
        cursor = load_cursor(state.cursor)
        since = str_map(cursor.get("since"))
        seen_list = [s for s in cursor.get("seen") or [] if isinstance(s, str)]
        seen = set(seen_list)
        new_since: dict[str, str] = {}
        items: list[RawItem] = []
        for q in self.queries(spec):
            posts = self._search(client, spec, opts, q, since.get(q))
            times = [t for p in posts if (t := _sort_time(p))]
            newest = max([*times, *([since[q]] if q in since else [])], key=_time_key, default=None)
            if newest:
                new_since[q] = newest
            for p in posts:
                item = _item(p, spec.key)
                if item.external_id not in seen:
                    seen.add(item.external_id)
                    items.append(item)
        doc = {
            "since": new_since,
            "seen": remember(seen_list, (i.external_id for i in items), limit=500),
        }
        return Collected(items=tuple(items), state=SourceState(cursor=dump_cursor(doc)))

    def queries(self, spec: SourceSpec) -> tuple[str, ...]:
        """Explicit queries, else each name as a phrase plus each '#hashtag' name."""
        opts = spec.options
        assert isinstance(opts, BlueskyOptions)
        if opts.queries:
            return search_queries((), opts.queries)
        tags = tuple(n.strip() for n in spec.names if n.strip().startswith("#"))
        return search_queries(spec.names, ()) + tags

    # --- search ----------------------------------------------------------------------------

    def _search(
        self,
        client: GuardedClient,
        spec: SourceSpec,
        opts: BlueskyOptions,
        q: str,
        since: str | None,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page_cursor: str | None = None
        for _ in range(opts.max_pages):
            params = {"q": q, "sort": "latest", "limit": str(opts.limit)}
            if opts.lang:
                params["lang"] = opts.lang
            if since:
                params["since"] = since
            if page_cursor:
                params["cursor"] = page_cursor
            url = f"{opts.base_url.rstrip('/')}/xrpc/app.bsky.feed.searchPosts?{urlencode(params)}"
            got = self._authorised_get(client, spec, opts, url)
            posts, page_cursor = _posts(got.content)
            out.extend(posts)
            # A first read takes the newest page only; later reads page back to `since`.
            if since is None or not page_cursor or len(posts) < opts.limit:
                break
        return out

    def _authorised_get(
        self, client: GuardedClient, spec: SourceSpec, opts: BlueskyOptions, url: str
    ) -> Response:
        session = self._sessions.get(_account(opts)) or self._create(client, spec, opts)
        try:
            return _response(polite_get(client, url, headers=_bearer(session.access)))
        except HTTPStatusError as exc:
            if exc.status == 403:
                raise SourceUnavailable(
                    "blocked",
                    f"Bluesky refused search for {opts.handle} (HTTP 403)",
                    advice="Check that the account is active and not restricted, or use another.",
                ) from None
            if exc.status not in (400, 401):
                raise
        # Most likely an expired access token (Bluesky says 400 ExpiredToken): renew and retry once.
        session = self._refresh(client, spec, opts, session)
        try:
            return _response(polite_get(client, url, headers=_bearer(session.access)))
        except HTTPStatusError as exc:
            if exc.status == 401:
                self._sessions.pop(_account(opts), None)
                raise SourceUnavailable(
                    "needs_credentials",
                    "Bluesky did not accept a fresh session for search (HTTP 401)",
                    advice=CREDENTIALS_ADVICE,
                ) from None
            raise

    # --- sessions --------------------------------------------------------------------------

    def _create(self, client: GuardedClient, spec: SourceSpec, opts: BlueskyOptions) -> _Session:
        assert opts.handle and opts.app_password is not None
        url = f"{opts.base_url.rstrip('/')}/xrpc/com.atproto.server.createSession"
        body = {"identifier": opts.handle, "password": opts.app_password.get_secret_value()}
        try:
            got = client.request("POST", url, json=body)
        except HTTPStatusError as exc:
            if exc.status in (400, 401):
                raise SourceUnavailable(
                    "needs_credentials",
                    f"Bluesky refused the handle or app password for {opts.handle} "
                    f"(HTTP {exc.status})",
                    advice=CREDENTIALS_ADVICE,
                ) from None
            if exc.status == 403:
                raise SourceUnavailable(
                    "blocked",
                    f"Bluesky refused to sign in {opts.handle} "
                    "(HTTP 403: is the account suspended or taken down?)",
                    advice="Check the account at https://bsky.app, or use another account.",
                ) from None
            raise
        return self._keep(_account(opts), _response(got))

    def _refresh(
        self, client: GuardedClient, spec: SourceSpec, opts: BlueskyOptions, old: _Session
    ) -> _Session:
        url = f"{opts.base_url.rstrip('/')}/xrpc/com.atproto.server.refreshSession"
        try:
            got = client.request("POST", url, headers=_bearer(old.refresh))
        except HTTPStatusError as exc:
            if exc.status not in (400, 401):
                raise
            self._sessions.pop(_account(opts), None)
            return self._create(client, spec, opts)  # the refresh token expired too
        return self._keep(_account(opts), _response(got))

    def _keep(self, key: str, got: Response) -> _Session:
        doc = decode_json(got.content, "Bluesky")
        access = as_str(doc.get("accessJwt")) if isinstance(doc, dict) else ""
        refresh = as_str(doc.get("refreshJwt")) if isinstance(doc, dict) else ""
        if not access or not refresh:
            raise FeedParseError("Bluesky answered the sign-in without session tokens")
        session = _Session(access, refresh)
        self._sessions[key] = session
        return session


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _response(got: Response | NotModified) -> Response:
    if isinstance(got, NotModified):  # we never send validators, so this is a broken server
        raise FeedParseError("Bluesky answered 304 Not Modified to a request without validators")
    return got


def _time_key(value: str) -> datetime:
    return parse_time(value) or datetime.min.replace(tzinfo=UTC)
