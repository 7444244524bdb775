"""The guarded client's manners: User-Agent, conditional GET, Retry-After and backoff, one
request per host at a time with a minimum interval, robots.txt for search/API endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sources.http import (
    ClientConfig,
    FetchRefused,
    GuardedClient,
    HTTPStatusError,
    NotModified,
    Response,
    RobotsUnreadable,
    backoff_seconds,
    parse_retry_after,
)
from sources.robots import MAX_CACHE_SECONDS, RobotsAnswer, RobotsCache
from tests.guard_servers import RouteServer, redirect, reply, route_server, send

H48 = 48 * 3600.0


@pytest.fixture
def server() -> Iterator[RouteServer]:
    with route_server("127.0.0.1") as srv:
        yield srv


def client(**overrides: Any) -> GuardedClient:
    config = ClientConfig(
        allow_private=("127.0.0.1",),
        per_host_interval_seconds=0,
        contact_url="https://trust.example/it-contact",
    )
    return GuardedClient(replace(config, **overrides))


def test_user_agent_names_the_product_and_contact(server: RouteServer) -> None:
    server.routes["/"] = reply(200, b"ok")
    with client() as c:
        c.get(server.url("/"), headers={"Accept": "application/rss+xml"})
    sent = server.headers[0]
    assert sent["user-agent"].startswith("mention-monitor/")
    assert "https://trust.example/it-contact" in sent["user-agent"]
    assert sent["accept"] == "application/rss+xml"
    assert sent["accept-encoding"] == "gzip, deflate"


def conditional(
    body: bytes, etag: str, last_modified: str
) -> Callable[[BaseHTTPRequestHandler], None]:
    def route(h: BaseHTTPRequestHandler) -> None:
        if (
            h.headers.get("If-None-Match") == etag
            or h.headers.get("If-Modified-Since") == last_modified
        ):
            send(h, 304, b"", {"ETag": etag})
        else:
            send(h, 200, body, {"ETag": etag, "Last-Modified": last_modified})

    return route


def test_conditional_get_returns_not_modified(server: RouteServer) -> None:
    lm = "Sat, 28 Nov 2026 07:00:00 GMT"
    server.routes["/feed"] = conditional(b"<rss/>", '"v1"', lm)
    with client() as c:
        first = c.get(server.url("/feed"))
        assert isinstance(first, Response)
        assert (first.etag, first.last_modified) == ('"v1"', lm)
        again = c.get(server.url("/feed"), etag=first.etag)
        by_date = c.get(server.url("/feed"), last_modified=first.last_modified)
    assert isinstance(again, NotModified) and again.etag == '"v1"'
    assert isinstance(by_date, NotModified) and by_date.last_modified == lm
    assert server.headers[1]["if-none-match"] == '"v1"'
    assert server.headers[2]["if-modified-since"] == lm


def test_retry_after_in_seconds_is_put_on_the_error_and_honoured(server: RouteServer) -> None:
    server.routes["/busy"] = reply(429, b"slow down", {"Retry-After": "120"})
    with client() as c:
        with pytest.raises(HTTPStatusError) as err:
            c.get(server.url("/busy"))
        assert (err.value.status, err.value.retry_after, err.value.kind) == (429, 120.0, "status")
        assert "120 s" in err.value.reason
        # The same host is not contacted again while it asked us to wait.
        with pytest.raises(HTTPStatusError) as again:
            c.get(server.url("/other"))
    assert again.value.retry_after is not None and 100 < again.value.retry_after <= 120
    assert server.total_hits == 1


def test_retry_after_as_http_date_is_capped_at_48_hours(server: RouteServer) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    later = format_datetime(datetime.now(UTC) + timedelta(days=30), usegmt=True)
    server.routes["/soon"] = reply(503, b"", {"Retry-After": soon})
    server.routes["/later"] = reply(503, b"", {"Retry-After": later})
    server.routes["/none"] = reply(503, b"")
    with client() as c:
        with pytest.raises(HTTPStatusError) as err:
            c.get(server.url("/none"))
        assert err.value.retry_after is None  # the runner then uses backoff_seconds
        with pytest.raises(HTTPStatusError) as err:
            c.get(server.url("/soon"))
        assert err.value.retry_after is not None and 3590 <= err.value.retry_after <= 3600
    with client() as c, pytest.raises(HTTPStatusError) as err:
        c.get(server.url("/later"))
    assert err.value.retry_after == H48


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("3600", 3600.0),
        ("999999999", H48),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, cap=H48) == expected


def test_parse_retry_after_date_against_a_fixed_clock() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Sat, 28 Nov 2026 12:02:00 GMT", now=now) == 120.0


def test_other_statuses_are_errors_with_one_line_reasons(server: RouteServer) -> None:
    server.routes["/gone"] = reply(410, b"")
    server.routes["/forbidden"] = reply(403, b"")
    with client() as c:
        with pytest.raises(HTTPStatusError) as err:
            c.get(server.url("/gone"))
        assert err.value.status == 410 and "410 Gone" in err.value.reason
        with pytest.raises(HTTPStatusError) as err:
            c.get(server.url("/forbidden"))
        assert "refuses access" in err.value.reason and err.value.retry_after is None


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=1))
def test_backoff_grows_with_jitter_and_stays_under_the_cap(n: int, r: float) -> None:
    full = min(H48, 60.0 * 2 ** (n - 1))
    wait = backoff_seconds(n, base=60.0, cap=H48, rng=lambda: r)
    assert full / 2 <= wait <= full
    assert backoff_seconds(n + 1, base=60.0, cap=H48, rng=lambda: r) >= wait


def test_backoff_is_zero_without_errors_and_jitters() -> None:
    assert backoff_seconds(0) == 0.0
    assert backoff_seconds(3, rng=lambda: 0.0) != backoff_seconds(3, rng=lambda: 1.0)


def test_minimum_interval_between_requests_to_one_host(server: RouteServer) -> None:
    server.routes["/a"] = reply(200, b"a")
    with client(per_host_interval_seconds=0.4) as c:
        for _ in range(3):
            c.get(server.url("/a"))
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert len(gaps) == 2 and all(g >= 0.4 for g in gaps)


def test_at_most_one_request_in_flight_per_host(server: RouteServer) -> None:
    active = 0
    most = 0
    lock = threading.Lock()

    def slow(h: BaseHTTPRequestHandler) -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.2)
        with lock:
            active -= 1
        send(h, 200, b"ok")

    server.routes["/slow"] = slow
    with client() as c:
        threads = [threading.Thread(target=c.get, args=(server.url("/slow"),)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert server.hits["/slow"] == 4
    assert most == 1


ROBOTS = b"User-agent: *\nDisallow: /private\n\nUser-agent: mention-monitor\nDisallow: /search\n"


def test_robots_txt_is_respected_for_search_endpoints_only(server: RouteServer) -> None:
    server.routes["/robots.txt"] = reply(200, ROBOTS, {"Content-Type": "text/plain"})
    server.routes["/search"] = reply(200, b"results")
    server.routes["/api/items"] = reply(200, b"items")
    with client() as c:
        with pytest.raises(FetchRefused) as err:
            c.get(server.url("/search?q=ankermoor"), respect_robots=True)
        assert err.value.rule == "robots" and "robots.txt" in err.value.reason
        got = c.get(server.url("/api/items"), respect_robots=True)
        assert isinstance(got, Response)
        got = c.get(server.url("/api/items?page=2"), respect_robots=True)
        # A feed the user subscribed to is fetched whatever robots.txt says.
        subscribed = c.get(server.url("/search?q=ankermoor"))
        assert isinstance(subscribed, Response)
    assert server.hits["/robots.txt"] == 1  # cached
    assert server.hits["/search"] == 1  # only the subscribed fetch
    assert server.headers[0]["user-agent"].startswith("mention-monitor/")


@pytest.mark.parametrize(
    ("status", "allowed"), [(404, True), (410, True), (500, False), (503, False), (429, False)]
)
def test_robots_txt_failures(server: RouteServer, status: int, allowed: bool) -> None:
    server.routes["/robots.txt"] = reply(status, b"")
    server.routes["/api"] = reply(200, b"ok")
    with client() as c:
        if allowed:
            assert isinstance(c.get(server.url("/api"), respect_robots=True), Response)
        else:
            # Unreadable (5xx, 429): disallowed for now, reported as a passing error to retry.
            with pytest.raises(RobotsUnreadable) as err:
                c.get(server.url("/api"), respect_robots=True)
            assert not isinstance(err.value, FetchRefused) and err.value.retry_after
    assert server.hits["/api"] == (1 if allowed else 0)


def test_robots_txt_fetch_goes_through_the_guard(server: RouteServer) -> None:
    with route_server("127.0.0.2") as canary:
        canary.routes["*"] = reply(200, b"User-agent: *\nDisallow: /\n")
        server.routes["/robots.txt"] = redirect(canary.url("/robots.txt"))
        server.routes["/api"] = reply(200, b"ok")
        with client() as c:  # 127.0.0.2 is not allow-listed
            got = c.get(server.url("/api"), respect_robots=True)
        assert isinstance(got, Response)  # a refused robots.txt counts as none (RFC 9309)
        assert canary.connections == 0


def test_robots_cache_keeps_rules_at_most_24_hours() -> None:
    now = [0.0]
    fetched: list[str] = []

    def fetch(url: str) -> RobotsAnswer:
        fetched.append(url)
        return RobotsAnswer(200, b"User-agent: *\nDisallow: /no\n")

    cache = RobotsCache(ttl_seconds=7 * 24 * 3600, clock=lambda: now[0])
    assert cache.ttl == MAX_CACHE_SECONDS
    assert not cache.rules("https://api.example/no", fetch).allows("https://api.example/no", "x")
    now[0] = MAX_CACHE_SECONDS - 1
    assert cache.rules("https://api.example/yes", fetch).allows("https://api.example/yes", "x")
    assert fetched == ["https://api.example/robots.txt"]
    now[0] = MAX_CACHE_SECONDS + 1
    cache.rules("https://api.example/yes", fetch)
    assert len(fetched) == 2
    cache.rules("http://api.example/yes", fetch)  # another origin
    assert fetched[-1] == "http://api.example/robots.txt"
