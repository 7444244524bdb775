"""lemmy: posts and comments by ActivityPub id, media in posts, only items newer than the cursor
on later cycles, and Lemmy's own error answers."""

from __future__ import annotations

import json

import pytest

from sources.base import SourceState, SourceUnavailable
from sources.feeds import FeedParseError
from sources.lemmy import parse_lemmy
from tests.servers import FIXTURES, FixtureServer, Reply
from tests.source_helpers import asked, by_param, fixture, make_client, run, spec_for

PATH = "/api/v3/search"


def test_parse_posts_and_comments() -> None:
    sats, fair, reply = parse_lemmy((FIXTURES / "lemmy/search-first.json").read_bytes(), "a/lemmy")
    assert (
        sats.external_id == "lemmy:https://lemmy.example/post/9101"
        and sats.url == "https://lemmy.example/post/9101"
    )
    assert sats.author == "@ankermoor_alice@lemmy.example"
    assert fair.has_media is True and sats.has_media is False
    assert (
        fair.published_at is not None
        and fair.published_at.isoformat() == "2026-11-27T17:00:00+00:00"
    )  # naive = UTC
    assert reply.title == "Comment on: Ankermoor Primary Academy SATs results letter"
    assert reply.external_id == "lemmy:https://lemmy.example/comment/22001"


def test_error_object_is_a_clear_error() -> None:
    with pytest.raises(FeedParseError, match="couldnt_find_object"):
        parse_lemmy((FIXTURES / "lemmy/error.json").read_bytes(), "a/lemmy")


def test_second_cycle_keeps_only_newer_items(server: FixtureServer) -> None:
    route = {'"Ankermoor Primary Academy"': fixture("lemmy/search-first.json")}
    server.routes[PATH] = by_param("q", route, fixture("lemmy/empty.json"))
    spec = spec_for("lemmy", {"instances": [server.url("")]})
    with make_client() as client:
        first = run("lemmy", spec, SourceState(), client)
        sent = asked(server, PATH)
        assert [p["q"] for p in sent] == ['"Ankermoor Primary Academy"', '"Anker Moor Primary"']
        assert all(p["type_"] == "All" and p["sort"] == "New" and p["page"] == "1" for p in sent)
        assert len(first.items) == 3
        key = f'127.0.0.1:{server.port}|"Ankermoor Primary Academy"'
        assert json.loads(first.state.cursor or "")["newest"][key] == "2026-11-28T10:30:00+00:00"

        route['"Ankermoor Primary Academy"'] = fixture("lemmy/search-later.json")
        second = run("lemmy", spec, first.state, client)
    assert [i.title for i in second.items] == ["Ankermoor Primary Academy closed tomorrow (boiler)"]
    assert len(asked(server, PATH)) == 4  # the page reached back past the cursor: no second page


def test_instance_requiring_login_is_blocked(server: FixtureServer) -> None:
    server.routes[PATH] = Reply(
        401, b'{"error":"not_logged_in"}', {"content-type": "application/json"}
    )
    with make_client() as client, pytest.raises(SourceUnavailable) as err:
        run("lemmy", spec_for("lemmy", {"instances": [server.url("")]}), SourceState(), client)
    assert err.value.status == "blocked"
