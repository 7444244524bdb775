"""bluesky: no credentials -> "needs credentials" without a request; with them a session is
created once, kept in memory, refreshed when the access token expires, and later searches ask
only for posts since the newest one seen."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from sources import bluesky
from sources.base import SourceSpec, SourceState, SourceUnavailable
from sources.bluesky import BlueskyCollector, parse_bluesky
from tests.servers import FIXTURES, FixtureServer, Reply
from tests.source_helpers import asked, fixture, headers_for, make_client, query, spec_for

CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture(autouse=True)
def _no_sessions_from_earlier_tests() -> None:
    """Sessions are cached by base URL, handle and password for the whole process; an earlier
    test whose fixture server had the same port would otherwise lend this one its session."""
    bluesky._SESSIONS.clear()


class FakeBluesky:
    """Just enough of a PDS: sessions, token expiry, and search answers by `q` and `since`."""

    def __init__(self, server: FixtureServer) -> None:
        self.valid_access = {"access-token-1"}
        self.valid_refresh = {"refresh-token-1"}
        self.search_status = 200
        server.routes[CREATE] = self.create
        server.routes[REFRESH] = self.refresh
        server.routes[SEARCH] = self.search

    def create(self, h: BaseHTTPRequestHandler) -> Reply:
        body = json.loads(getattr(h, "body", b"") or b"{}")
        if body != {"identifier": "ankermoor-monitor.bsky.social", "password": PASSWORD}:
            return fixture("bluesky/bad-login.json", status=401)
        self.valid_access.add("access-token-1")
        self.valid_refresh.add("refresh-token-1")
        return fixture("bluesky/session.json")

    def refresh(self, h: BaseHTTPRequestHandler) -> Reply:
        token = h.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_refresh:
            return fixture("bluesky/expired.json", status=400)
        self.valid_access.add("access-token-2")
        return fixture("bluesky/refreshed.json")

    def search(self, h: BaseHTTPRequestHandler) -> Reply:
        if h.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid_access:
            return fixture("bluesky/expired.json", status=400)
        if self.search_status != 200:
            return Reply(
                self.search_status, b'{"error":"Forbidden"}', {"content-type": "application/json"}
            )
        p = query(h.path)
        if p["q"] != '"Ankermoor Primary Academy"':
            return fixture("bluesky/empty.json")
        return fixture("bluesky/search-since.json" if "since" in p else "bluesky/search-first.json")


def _spec(server: FixtureServer, password: str | None = PASSWORD) -> SourceSpec:
    opts: dict[str, object] = {
        "base_url": server.url(""),
        "handle": "ankermoor-monitor.bsky.social",
    }
    if password is not None:
        opts["app_password"] = password
    return spec_for("bluesky", opts)


def test_parse_posts_and_media() -> None:
    items = parse_bluesky((FIXTURES / "bluesky/search-first.json").read_bytes(), "a/bsky")
    nativity, ofsted, rovers = items
    assert (
        nativity.external_id
        == "bluesky:at://did:plc:q7h2anker0dad0000000000/app.bsky.feed.post/3lcfqz7xk2s2a"
    )
    assert nativity.url == "https://bsky.app/profile/ankerdad.bsky.social/post/3lcfqz7xk2s2a"
    assert nativity.author == "@ankerdad.bsky.social"
    assert nativity.has_media is True  # images embed
    assert ofsted.has_media is False  # a link card is not the post showing media
    assert rovers.has_media is False
    video = parse_bluesky((FIXTURES / "bluesky/search-since.json").read_bytes(), "a/bsky")[0]
    assert video.has_media is True  # video inside recordWithMedia


def test_without_credentials_nothing_is_fetched(server: FixtureServer) -> None:
    with make_client() as client, pytest.raises(SourceUnavailable) as err:
        BlueskyCollector().collect(_spec(server, password=None), SourceState(), client)
    assert err.value.status == "needs_credentials"
    assert "app-passwords" in err.value.advice and "app_password" in err.value.advice
    assert server.requests == []


def test_session_once_refresh_on_expiry_and_since_on_later_cycles(server: FixtureServer) -> None:
    fake = FakeBluesky(server)
    collector = BlueskyCollector()
    spec = _spec(server)
    with make_client() as client:
        first = collector.collect(spec, SourceState(), client)
        assert server.hits[CREATE] == 1
        queries = [p["q"] for p in asked(server, SEARCH)]
        assert queries == [
            '"Ankermoor Primary Academy"',
            '"Anker Moor Primary"',
            "#AnkermoorPrimary",
        ]
        assert all(p["sort"] == "latest" and "since" not in p for p in asked(server, SEARCH))
        assert {h["authorization"] for h in headers_for(server, SEARCH)} == {
            "Bearer access-token-1"
        }
        assert len(first.items) == 3
        # Tokens and the password never reach the stored state.
        assert "token" not in (first.state.cursor or "") and PASSWORD not in (
            first.state.cursor or ""
        )

        fake.valid_access.discard("access-token-1")  # the access token expires between cycles
        second = collector.collect(spec, first.state, client)
    assert server.hits[CREATE] == 1 and server.hits[REFRESH] == 1
    assert headers_for(server, REFRESH)[0]["authorization"] == "Bearer refresh-token-1"
    later = [p for p in asked(server, SEARCH)[3:] if p["q"] == '"Ankermoor Primary Academy"']
    # Asked once with the expired token, once after the refresh: both only since the newest post.
    assert [p["since"] for p in later] == ["2026-11-28T18:05:00.000Z"] * 2
    assert [i.author for i in second.items] == [
        "@worried-parent.bsky.social"
    ]  # the boundary post is not repeated


def test_expired_refresh_token_signs_in_again(server: FixtureServer) -> None:
    fake = FakeBluesky(server)
    collector = BlueskyCollector()
    with make_client() as client:
        first = collector.collect(_spec(server), SourceState(), client)
        fake.valid_access.clear()
        fake.valid_refresh.clear()
        collector.collect(_spec(server), first.state, client)
    assert server.hits[REFRESH] == 1 and server.hits[CREATE] == 2


def test_wrong_app_password_needs_credentials(server: FixtureServer) -> None:
    FakeBluesky(server)
    with make_client() as client, pytest.raises(SourceUnavailable) as err:
        BlueskyCollector().collect(_spec(server, password="wrong"), SourceState(), client)
    assert err.value.status == "needs_credentials" and "HTTP 401" in err.value.reason
    assert server.hits[SEARCH] == 0


def test_search_refused_is_blocked(server: FixtureServer) -> None:
    fake = FakeBluesky(server)
    fake.search_status = 403
    with make_client() as client, pytest.raises(SourceUnavailable) as err:
        BlueskyCollector().collect(_spec(server), SourceState(), client)
    assert err.value.status == "blocked"


def test_session_is_shared_by_account_and_never_required(server: FixtureServer) -> None:
    """Jobs build a fresh collector each run, possibly in another process: a session is an
    optimisation shared by the account's collectors here, and created again when missing."""
    FakeBluesky(server)
    with make_client() as client:
        first = BlueskyCollector().collect(_spec(server), SourceState(), client)
        BlueskyCollector().collect(_spec(server), first.state, client)
        assert server.hits[CREATE] == 1  # a second collector (the next job) reuses it
        bluesky._SESSIONS.clear()  # a job in a worker process that never signed in
        BlueskyCollector().collect(_spec(server), first.state, client)
    assert server.hits[CREATE] == 2 and server.hits[REFRESH] == 0
