"""Every open-source kind against one real local server: the same failure shapes for all (429 with
Retry-After, an HTML error page, a broken body, a 5xx), robots.txt, and one full cycle of all
kinds through `mention-monitor collect --once` with its per-source summary."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from sources.base import SourceState, SourceUnavailable, registry
from sources.feeds import FeedParseError
from sources.http import HTTPStatusError
from tests.conftest import write_config
from tests.servers import FixtureServer, Reply
from tests.source_helpers import (
    HTML_ERROR,
    MALFORMED_JSON,
    by_param,
    fixture,
    make_client,
    run,
    spec_for,
    too_many,
)

CHANNEL = "UCk3nM0oRpAnkerm00rPr1m"
BSKY_LOGIN = {"handle": "ankermoor-monitor.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}

# kind -> (options, with {base} for the server; the paths its requests go to; the body kind)
KINDS: dict[str, tuple[dict[str, Any], tuple[str, ...], str]] = {
    "google_news": ({"base_url": "{base}"}, ("/rss/search",), "xml"),
    "bing_news": ({"base_url": "{base}"}, ("/news/search",), "xml"),
    "gdelt": ({"base_url": "{base}"}, ("/api/v2/doc/doc",), "json"),
    "mastodon": (
        {"instances": ["{base}"], "hashtags": ["AnkermoorPrimary"]},
        ("/api/v1/timelines/tag/AnkermoorPrimary",),
        "json",
    ),
    "bluesky": ({"base_url": "{base}", **BSKY_LOGIN}, ("/xrpc/app.bsky.feed.searchPosts",), "json"),
    "reddit": ({"base_url": "{base}"}, ("/search.rss",), "xml"),
    "hackernews": ({"base_url": "{base}"}, ("/api/v1/search_by_date",), "json"),
    "lemmy": ({"instances": ["{base}"]}, ("/api/v3/search",), "json"),
    "youtube": ({"base_url": "{base}", "channel_ids": [CHANNEL]}, ("/feeds/videos.xml",), "xml"),
    "webpage": ({"url": "{base}/thread", "post_selector": "div.post"}, ("/thread",), "html"),
}
SEARCH_KINDS = [k for k in KINDS if k not in ("youtube", "webpage")]  # these honour robots.txt


def _options(kind: str, base: str) -> dict[str, Any]:
    raw = json.dumps(KINDS[kind][0]).replace("{base}", base)
    options: dict[str, Any] = json.loads(raw)
    return options


def _serve_everywhere(server: FixtureServer, kind: str, reply: Reply) -> None:
    for path in KINDS[kind][1]:
        server.routes[path] = reply
    if kind == "bluesky":
        server.routes["/xrpc/com.atproto.server.createSession"] = fixture("bluesky/session.json")


def _collect(server: FixtureServer, kind: str) -> Any:
    with make_client() as client:
        return run(kind, spec_for(kind, _options(kind, server.url(""))), SourceState(), client)


def test_every_kind_is_registered_with_an_overridable_endpoint() -> None:
    kinds = registry()
    for kind in KINDS:
        cls = kinds[kind]
        assert cls.kind == kind and cls.description and cls.default_interval_minutes >= 15
        fields = cls.options_model.model_fields
        assert {"base_url", "instances", "url"} & set(fields), kind
        with pytest.raises(ValueError):
            cls.options_model.model_validate({**_options(kind, "http://x"), "no_such_option": 1})
    assert kinds["reddit"].default_interval_minutes >= 60  # Reddit throttles RSS readers


@pytest.mark.parametrize("kind", list(KINDS))
def test_429_with_retry_after_reaches_the_runner(server: FixtureServer, kind: str) -> None:
    _serve_everywhere(server, kind, too_many(90))
    with pytest.raises(HTTPStatusError) as err:
        _collect(server, kind)
    assert err.value.status == 429 and err.value.retry_after == 90


@pytest.mark.parametrize("kind", list(KINDS))
def test_server_error_is_a_fetch_error(server: FixtureServer, kind: str) -> None:
    _serve_everywhere(server, kind, Reply(502, b"Bad Gateway", {"content-type": "text/plain"}))
    with pytest.raises(HTTPStatusError, match="HTTP 502"):
        _collect(server, kind)


@pytest.mark.parametrize("kind", list(KINDS))
def test_html_error_page_is_a_clear_parse_error(server: FixtureServer, kind: str) -> None:
    _serve_everywhere(server, kind, HTML_ERROR)
    expected = {"json": "HTML page instead of JSON", "xml": "HTML page", "html": "matched nothing"}
    with pytest.raises(FeedParseError, match=expected[KINDS[kind][2]]):
        _collect(server, kind)


@pytest.mark.parametrize("kind", list(KINDS))
def test_broken_body_is_a_clear_parse_error(server: FixtureServer, kind: str) -> None:
    body_kind = KINDS[kind][2]
    if body_kind == "xml":
        reply = Reply(200, b"<?xml version='1.0'?><rss><channel><item><title>unterminated", {})
    else:
        reply = MALFORMED_JSON
    _serve_everywhere(server, kind, reply)
    expected = {
        "json": "malformed JSON",
        "xml": "not a readable feed",
        "html": "JSON, not a web page",
    }
    with pytest.raises(FeedParseError, match=expected[body_kind]) as err:
        _collect(server, kind)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", SEARCH_KINDS)
def test_robots_disallow_is_blocked_once_not_fetched(server: FixtureServer, kind: str) -> None:
    server.routes["/robots.txt"] = Reply(
        200, b"User-agent: *\nDisallow: /\n", {"content-type": "text/plain"}
    )
    _serve_everywhere(server, kind, too_many(90))  # would fail differently if it were fetched
    with pytest.raises(SourceUnavailable) as err:
        _collect(server, kind)
    assert err.value.status == "blocked" and "robots.txt" in err.value.reason and err.value.advice
    assert all(server.hits[p] == 0 for p in KINDS[kind][1])


@pytest.mark.parametrize("kind", ["youtube", "webpage"])
def test_chosen_feeds_and_pages_do_not_consult_robots(server: FixtureServer, kind: str) -> None:
    server.routes["/robots.txt"] = Reply(
        200, b"User-agent: *\nDisallow: /\n", {"content-type": "text/plain"}
    )
    if kind == "youtube":
        _serve_everywhere(server, kind, fixture("youtube/channel.xml", "application/atom+xml"))
    else:
        _serve_everywhere(server, kind, fixture("webpage/forum-thread.html", "text/html"))
    assert len(_collect(server, kind).items) > 0
    assert server.hits["/robots.txt"] == 0


# --- one cycle of every kind through the CLI --------------------------------------------------

ALL_SOURCES = "".join(
    f'\n[[academies.sources]]\nkind = "{kind}"\nname = "{kind.replace("_", "-")}"\n'
    + "".join(f"{k} = {json.dumps(v)}\n" for k, v in KINDS[kind][0].items())
    for kind in KINDS
)


def _serve_all(server: FixtureServer) -> None:
    rss, atom = "application/rss+xml", "application/atom+xml"

    def per_query(param: str, wanted: str, hit: Reply, miss: Reply) -> Callable[..., Reply]:
        return by_param(param, {wanted: hit}, miss)

    academy = '"Ankermoor Primary Academy"'
    server.routes["/rss/search"] = by_param(
        "q",
        {
            f"{academy} when:1d": fixture("google_news/academy.rss", rss),
            '"Anker Moor Primary" when:1d': fixture("google_news/anker-moor.rss", rss),
        },
        fixture("google_news/empty.rss", rss),
    )
    server.routes["/news/search"] = per_query(
        "q", academy, fixture("bing_news/search.rss", rss), fixture("bing_news/empty.rss", rss)
    )
    server.routes["/api/v2/doc/doc"] = fixture("gdelt/artlist.json")
    server.routes["/api/v1/timelines/tag/AnkermoorPrimary"] = fixture("mastodon/tag-first.json")
    server.routes["/xrpc/com.atproto.server.createSession"] = fixture("bluesky/session.json")
    server.routes["/xrpc/app.bsky.feed.searchPosts"] = per_query(
        "q", academy, fixture("bluesky/search-first.json"), fixture("bluesky/empty.json")
    )
    server.routes["/search.rss"] = per_query(
        "q", academy, fixture("reddit/search.rss", atom), fixture("reddit/empty.rss", atom)
    )
    server.routes["/api/v1/search_by_date"] = per_query(
        "query", academy, fixture("hackernews/first.json"), fixture("hackernews/empty.json")
    )
    server.routes["/api/v3/search"] = per_query(
        "q", academy, fixture("lemmy/search-first.json"), fixture("lemmy/empty.json")
    )
    server.routes["/feeds/videos.xml"] = fixture("youtube/channel.xml", atom)
    server.routes["/thread"] = fixture("webpage/forum-thread.html", "text/html")


def _rows(output: str) -> dict[str, list[str]]:
    return {
        parts[0]: parts
        for line in output.splitlines()
        if (parts := re.split(r"\s{2,}", line.strip())) and parts[0].startswith("ankermoor/")
    }


def test_all_kinds_in_one_cycle(tmp_path: Path, server: FixtureServer) -> None:
    _serve_all(server)
    cfg = write_config(tmp_path, server, ALL_SOURCES)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    assert f"{len(KINDS)} sources" in result.output and "0 failed" in result.output, result.output
    rows = _rows(result.output)
    expected_fetched = {
        "google-news": 4,  # 3 + 2 across the name queries, one story found twice
        "bing-news": 2,
        "gdelt": 3,
        "mastodon": 3,
        "bluesky": 3,
        "reddit": 3,
        "hackernews": 2,
        "lemmy": 3,
        "youtube": 3,
        "webpage": 4,
    }
    for name, fetched in expected_fetched.items():
        row = rows[f"ankermoor/{name}"]
        assert int(row[1]) == fetched, (name, row)
    # Something matched (column 2) came from every source that had a mention of the academy in it.
    assert all(int(rows[f"ankermoor/{n}"][2]) > 0 for n in expected_fetched), result.output

    listed = CliRunner().invoke(cli, ["--config", str(cfg), "mentions", "--json"])
    docs = [json.loads(line) for line in listed.output.splitlines()]
    titles = " | ".join(d["title"] for d in docs)
    # Hard negatives were fetched but not stored.
    for negative in ("Ankermoor Rovers 3-2", "Ankermoor Road resurfacing", "Match day parking"):
        assert negative not in titles
    # Media flags survive the whole way.
    assert any(d["has_media"] and d["source"] == "ankermoor/youtube" for d in docs)

    # A second cycle over unchanged answers stores nothing new.
    again = CliRunner().invoke(
        cli, ["--config", str(cfg), "collect", "--once", "--all", "--no-score"]
    )
    assert again.exit_code == 0, again.output
    assert "0 new mentions" in again.output and "0 failed" in again.output, again.output


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_check_source_runs_each_configured_kind(
    kind: str, tmp_path: Path, server: FixtureServer
) -> None:
    _serve_all(server)
    cfg = write_config(tmp_path, server, ALL_SOURCES)
    name = kind.replace("_", "-")
    result = CliRunner().invoke(
        cli, ["--config", str(cfg), "check-source", "--source", f"ankermoor/{name}"]
    )
    assert result.exit_code == 0, result.output
    assert f"source:   ankermoor/{name} ({kind})" in result.output
    m = re.search(r"matching: (\d+) of (\d+) items", result.output)
    assert m and int(m.group(2)) > 0 and int(m.group(1)) > 0, result.output
    # A dry run: nothing was stored.
    listed = CliRunner().invoke(cli, ["--config", str(cfg), "mentions", "--json"])
    assert listed.output.strip() == ""


def test_check_source_needs_credentials_and_unknown_source(
    tmp_path: Path, server: FixtureServer
) -> None:
    cfg = write_config(
        tmp_path,
        server,
        '\n[[academies.sources]]\nkind = "bluesky"\nname = "sky"\nbase_url = "{base}"\n',
    )
    r = CliRunner().invoke(cli, ["--config", str(cfg), "check-source", "--source", "ankermoor/sky"])
    assert r.exit_code == 6 and "needs_credentials" in r.output and "app password" in r.output
    assert server.hits == {}  # no request was made without credentials
    r = CliRunner().invoke(
        cli, ["--config", str(cfg), "check-source", "--source", "ankermoor/nope"]
    )
    assert r.exit_code == 2 and "ankermoor/sky" in r.output
    r = CliRunner().invoke(cli, ["--config", str(cfg), "check-source"])
    assert r.exit_code == 2


# --- hostile JSON: nesting past the budget is one line for that source only ---------------------

JSON_KINDS = [k for k in KINDS if KINDS[k][2] == "json"]


@pytest.mark.parametrize("kind", JSON_KINDS)
@pytest.mark.parametrize("depth", [100_000, 4_500_000])  # 200 KB (as sent to lemmy) and 9 MB
def test_deeply_nested_json_is_a_one_line_parse_error(
    server: FixtureServer, kind: str, depth: int
) -> None:
    _serve_everywhere(server, kind, Reply(200, b"[" * depth + b"]" * depth, {}))
    with pytest.raises(FeedParseError, match="nests JSON") as err:
        _collect(server, kind)
    assert "\n" not in str(err.value)


def test_nested_json_fails_only_its_source_in_collect(
    server: FixtureServer, tmp_path: Path
) -> None:
    deep = b'{"statuses": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for kind in ("mastodon", "hackernews"):
        _serve_everywhere(server, kind, Reply(200, deep, {}))
    _serve_everywhere(server, "gdelt", fixture("gdelt/artlist.json"))
    sources = "".join(
        f'\n[[academies.sources]]\nkind = "{k}"\nname = "{k}"\n'
        + "".join(f"{key} = {json.dumps(v)}\n" for key, v in _options(k, server.url("")).items())
        for k in ("mastodon", "hackernews", "gdelt")
    )
    cfg = write_config(tmp_path, server, sources)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if "/" in line}
    assert "nests JSON" in rows["ankermoor/mastodon"]
    assert "nests JSON" in rows["ankermoor/hackernews"]
    assert "nests JSON" not in rows["ankermoor/gdelt"] and "ankermoor/gdelt" in rows
    assert "2 failed" in result.output
