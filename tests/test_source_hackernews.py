"""hackernews: stories and comments, one query per name, numericFilters from the cursor, and
paging through later results."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from sources.base import SourceState
from sources.hackernews import parse_hackernews
from tests.servers import FIXTURES, FixtureServer, Reply
from tests.source_helpers import asked, fixture, make_client, query, run, spec_for

PATH = "/api/v1/search_by_date"


def test_parse_story_and_comment() -> None:
    comment, story = parse_hackernews((FIXTURES / "hackernews/first.json").read_bytes(), "a/hn")
    assert (
        story.external_id == "hn:45870001"
        and story.url == "https://www.schoolsweek.example.org/mis-breach"
    )
    assert comment.url == "https://news.ycombinator.com/item?id=45870107"
    assert comment.title.startswith("Comment on: School MIS vendor leaks")
    assert "dates of birth" in comment.text and comment.author == "worried_dev"
    assert (
        story.published_at is not None
        and story.published_at.isoformat() == "2026-11-28T10:12:00+00:00"
    )


def _answer(h: BaseHTTPRequestHandler) -> Reply:
    p = query(h.path)
    if p["query"] != '"Ankermoor Primary Academy"':
        return fixture("hackernews/empty.json")
    if "numericFilters" not in p:
        return fixture("hackernews/first.json")
    return fixture(
        "hackernews/since-page1.json" if p.get("page") == "1" else "hackernews/since-page0.json"
    )


def test_first_cycle_newest_page_then_only_newer_hits_page_by_page(server: FixtureServer) -> None:
    server.routes[PATH] = _answer
    spec = spec_for("hackernews", {"base_url": server.url("")})
    with make_client() as client:
        first = run("hackernews", spec, SourceState(), client)
        sent = asked(server, PATH)
        assert [p["query"] for p in sent] == ['"Ankermoor Primary Academy"', '"Anker Moor Primary"']
        assert all(p["tags"] == "(story,comment)" and "numericFilters" not in p for p in sent)
        assert len(first.items) == 2
        since = json.loads(first.state.cursor or "")["since"]
        assert since == 1795863750  # 2026-11-28T11:02:30Z, the newest hit

        second = run("hackernews", spec, first.state, client)
    later = asked(server, PATH)[2:]
    assert {p["numericFilters"] for p in later} == {f"created_at_i>{since}"}
    assert [p.get("page") for p in later if p["query"] == '"Ankermoor Primary Academy"'] == [
        None,
        "1",
    ]
    assert sorted(i.external_id for i in second.items) == ["hn:45871233", "hn:45871500"]
    assert json.loads(second.state.cursor or "")["since"] > since


def test_no_hits_keeps_the_cursor(server: FixtureServer) -> None:
    server.routes[PATH] = fixture("hackernews/empty.json")
    state = SourceState(cursor=json.dumps({"since": 1795863750}))
    with make_client() as client:
        got = run("hackernews", spec_for("hackernews", {"base_url": server.url("")}), state, client)
    assert got.items == () and json.loads(got.state.cursor or "") == {"since": 1795863750}


def test_hits_at_or_before_the_cursor_are_not_returned_again(server: FixtureServer) -> None:
    server.routes[PATH] = fixture("hackernews/first.json")  # a server ignoring numericFilters
    state = SourceState(cursor=json.dumps({"since": 1795860720}))  # the story's own time
    with make_client() as client:
        got = run("hackernews", spec_for("hackernews", {"base_url": server.url("")}), state, client)
    assert [i.external_id for i in got.items] == ["hn:45870107"]
