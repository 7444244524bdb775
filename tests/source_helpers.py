"""Helpers for the source-kind tests: a guarded client allowed to reach the local fixture server,
specs built exactly as the runner builds them, routes that answer by query parameter, and a
look at what the server was asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from sources.base import Collected, SourceSpec, SourceState, make_spec, registry
from sources.http import ClientConfig, GuardedClient
from tests.servers import FIXTURES, FixtureServer, Reply

# The example academy's names: a full name, a spacing variant and a hashtag.
NAMES = ("Ankermoor Primary Academy", "Anker Moor Primary", "#AnkermoorPrimary")


def make_client() -> GuardedClient:
    """A fresh client per test: a 429 makes a client hold the host, which must not leak."""
    return GuardedClient(ClientConfig(allow_private=("127.0.0.1",), per_host_interval_seconds=0))


def spec_for(
    kind: str, options: Mapping[str, object], names: tuple[str, ...] = NAMES
) -> SourceSpec:
    return make_spec(f"ankermoor/{kind}", kind, dict(options), names)


def run(kind: str, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
    return registry()[kind]().collect(spec, state, client)


def fixture(name: str, content_type: str = "application/json", status: int = 200) -> Reply:
    return Reply(status, (FIXTURES / name).read_bytes(), {"content-type": content_type})


def query(path: str) -> dict[str, str]:
    """The query parameters of a request path (last value wins)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(path).query, keep_blank_values=True).items()}


def by_param(
    param: str, replies: Mapping[str, Reply], default: Reply
) -> Callable[[BaseHTTPRequestHandler], Reply]:
    """A route answering with replies[value of `param`], else `default`."""

    def handle(h: BaseHTTPRequestHandler) -> Reply:
        return replies.get(query(h.path).get(param, ""), default)

    return handle


def asked(server: FixtureServer, path: str) -> list[dict[str, str]]:
    """The query parameters of every request the server got for `path`, in order."""
    return [query(p) for p, _ in server.requests if urlsplit(p).path == path]


def headers_for(server: FixtureServer, path: str) -> list[dict[str, str]]:
    return [
        {k.lower(): v for k, v in h.items()} for p, h in server.requests if urlsplit(p).path == path
    ]


HTML_ERROR = Reply(
    200,
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><h1>Checking your browser</h1></body></html>",
    {"content-type": "text/html; charset=utf-8"},
)
MALFORMED_JSON = Reply(200, b'{"posts": [{"uri": "at://x", ', {"content-type": "application/json"})


def too_many(seconds: int = 120) -> Reply:
    return Reply(
        429,
        b'{"error":"RateLimitExceeded"}',
        {"content-type": "application/json", "retry-after": str(seconds)},
    )
