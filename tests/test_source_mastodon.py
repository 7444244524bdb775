"""mastodon: hashtag timelines per instance, min_id paging on later cycles, ActivityPub URIs as
ids across instances, media attachments, and instances that hide timelines from visitors."""

from __future__ import annotations

import json

import pytest

from sources.base import SourceState, SourceUnavailable
from sources.mastodon import parse_mastodon
from sources.searching import hashtags
from tests.servers import FIXTURES, FixtureServer, Reply
from tests.source_helpers import NAMES, asked, by_param, fixture, make_client, run, spec_for

TAG = "/api/v1/timelines/tag/AnkermoorPrimary"
UNAUTHORISED = Reply(
    401,
    b'{"error":"This method requires an authenticated user"}',
    {"content-type": "application/json"},
)


def test_parse_statuses() -> None:
    items = parse_mastodon((FIXTURES / "mastodon/tag-first.json").read_bytes(), "a/m")
    proud, moan, park = items
    assert (
        proud.external_id
        == "mastodon:https://mastodon.example/users/ankerdad/statuses/113560000000000301"
    )
    assert proud.url == "https://mastodon.example/@ankerdad/113560000000000301"
    assert proud.author == "@ankerdad@mastodon.example"  # a local account gets its server
    assert moan.author == "@pta_watch@social.example.net"
    assert proud.has_media is True and moan.has_media is False
    assert "<p>" not in proud.text and "#AnkermoorPrimary" in proud.text
    assert moan.title.startswith("school moan: Fourth email")  # the content warning comes first
    assert "#AnkermoorPark" in park.text


def test_hashtags_from_names() -> None:
    assert hashtags(NAMES) == ("AnkermoorPrimaryAcademy", "AnkerMoorPrimary")
    assert hashtags(("Ankermoor Primary", "#ankermoorprimary", "St. Anne's C of E")) == (
        "AnkermoorPrimary",
        "StAnneSCOfE",
    )
    assert hashtags(NAMES, ["#Ankermoor", "AnkerMoorPTA"]) == ("Ankermoor", "AnkerMoorPTA")


def test_first_cycle_newest_page_then_min_id_pages(server: FixtureServer) -> None:
    server.routes[TAG] = by_param(
        "min_id",
        {
            "113560000000000301": fixture("mastodon/tag-newer-page1.json"),
            "113561000000000412": fixture("mastodon/tag-newer-page2.json"),
        },
        fixture("mastodon/tag-first.json"),
    )
    spec = spec_for(
        "mastodon", {"instances": [server.url("")], "hashtags": ["AnkermoorPrimary"], "limit": 2}
    )
    with make_client() as client:
        first = run("mastodon", spec, SourceState(), client)
        assert asked(server, TAG) == [{"limit": "2"}]  # no backfill beyond the newest page
        assert len(first.items) == 3
        assert json.loads(first.state.cursor or "")["min_id"] == {
            f"127.0.0.1:{server.port}#ankermoorprimary": "113560000000000301"
        }

        second = run("mastodon", spec, first.state, client)
    # A full page (limit 2) means there may be more: the next page starts after its newest id.
    assert asked(server, TAG)[1:] == [
        {"limit": "2", "min_id": "113560000000000301"},
        {"limit": "2", "min_id": "113561000000000412"},
    ]
    assert sorted(i.external_id.rsplit("/", 1)[-1] for i in second.items) == [
        "113560500000000388",
        "113561000000000412",
        "113561500000000500",
    ]
    assert any(i.has_media for i in second.items)  # the carol concert video
    assert (
        json.loads(second.state.cursor or "")["min_id"][f"127.0.0.1:{server.port}#ankermoorprimary"]
        == "113561500000000500"
    )


def test_same_post_on_two_instances_is_one_item(server: FixtureServer) -> None:
    other = FixtureServer().start()
    try:
        server.routes[TAG] = fixture("mastodon/tag-first.json")
        other.routes[TAG] = fixture("mastodon/other-instance.json")
        spec = spec_for(
            "mastodon",
            {"instances": [server.url(""), other.url("")], "hashtags": ["#AnkermoorPrimary"]},
        )
        with make_client() as client:
            got = run("mastodon", spec, SourceState(), client)
    finally:
        other.stop()
    assert len(got.items) == 3
    cursor = json.loads(got.state.cursor or "")["min_id"]
    assert cursor[f"127.0.0.1:{other.port}#ankermoorprimary"] == "109990000000000777"


def test_an_instance_hiding_timelines_is_noted_not_failed(server: FixtureServer) -> None:
    closed = FixtureServer().start()
    try:
        server.routes[TAG] = fixture("mastodon/tag-first.json")
        closed.routes[TAG] = UNAUTHORISED
        spec = spec_for(
            "mastodon",
            {"instances": [server.url(""), closed.url("")], "hashtags": ["AnkermoorPrimary"]},
        )
        with make_client() as client:
            got = run("mastodon", spec, SourceState(), client)
    finally:
        closed.stop()
    assert len(got.items) == 3
    assert got.notes == (
        f"not readable without an account: 127.0.0.1:{closed.port} #AnkermoorPrimary (HTTP 401)",
    )


def test_every_instance_hiding_timelines_is_blocked(server: FixtureServer) -> None:
    server.routes[TAG] = UNAUTHORISED
    server.routes["/api/v1/timelines/tag/AnkermoorPrimaryAcademy"] = Reply(
        403, b"{}", {"content-type": "application/json"}
    )
    spec = spec_for(
        "mastodon",
        {
            "instances": [server.url("")],
            "hashtags": ["AnkermoorPrimary", "AnkermoorPrimaryAcademy"],
        },
    )
    with make_client() as client, pytest.raises(SourceUnavailable) as err:
        run("mastodon", spec, SourceState(), client)
    assert err.value.status == "blocked"
    assert f"127.0.0.1:{server.port}" in err.value.reason and "instances" in err.value.advice


def test_empty_timeline_keeps_the_cursor(server: FixtureServer) -> None:
    server.routes[TAG] = Reply(200, b"[]", {"content-type": "application/json"})
    spec = spec_for("mastodon", {"instances": [server.url("")], "hashtags": ["AnkermoorPrimary"]})
    key = f"127.0.0.1:{server.port}#ankermoorprimary"
    state = SourceState(cursor=json.dumps({"min_id": {key: "113560000000000301"}}))
    with make_client() as client:
        got = run("mastodon", spec, state, client)
    assert got.items == ()
    assert json.loads(got.state.cursor or "")["min_id"] == {key: "113560000000000301"}


def test_a_server_ignoring_min_id_returns_nothing_old(server: FixtureServer) -> None:
    server.routes[TAG] = fixture("mastodon/tag-first.json")  # answers the same page whatever min_id
    spec = spec_for("mastodon", {"instances": [server.url("")], "hashtags": ["AnkermoorPrimary"]})
    key = f"127.0.0.1:{server.port}#ankermoorprimary"
    state = SourceState(cursor=json.dumps({"min_id": {key: "113559000000000207"}}))
    with make_client() as client:
        got = run("mastodon", spec, state, client)
    assert [i.author for i in got.items] == ["@ankerdad@mastodon.example"]  # only the newer one


def test_control_characters_are_stripped() -> None:
    statuses = json.loads((FIXTURES / "mastodon/tag-first.json").read_bytes())
    statuses[0]["content"] = "<p>Proud of \u0000Ankermoor\u0007 Primary\u001b[2J today</p>"
    statuses[1]["spoiler_text"] = "school\u0000 moan"
    items = parse_mastodon(json.dumps(statuses).encode(), "a/m")
    assert "Proud of Ankermoor Primary[2J today" in items[0].text
    assert items[1].title.startswith("school moan")
    for item in items:
        for value in (item.title, item.text, item.author or ""):
            assert not any(ord(c) < 32 and c not in "\n\t" for c in value), value
