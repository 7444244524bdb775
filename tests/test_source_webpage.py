"""webpage: posts by CSS selector (or guessed), each returned once by content fingerprint,
conditional re-reads, and a selector that stops matching."""

from __future__ import annotations

import json

import pytest

from sources.base import SourceState
from sources.feeds import FeedParseError
from sources.webpage import WebpageOptions, fingerprint, parse_webpage
from tests.servers import FIXTURES, FixtureServer
from tests.source_helpers import fixture, make_client, run, spec_for

HTML = "text/html; charset=utf-8"
THREAD = "https://forum.example.org/threads/ankermoor-primary-academy-new-head.4412/"
FORUM = {"post_selector": "div.post", "text_selector": ".post-body", "link_selector": "a.permalink"}


def test_posts_by_selector() -> None:
    opts = WebpageOptions.model_validate({"url": THREAD, **FORUM})
    items = parse_webpage(
        (FIXTURES / "webpage/forum-thread.html").read_bytes(), "a/w", THREAD, opts
    )
    assert [i.author for i in items] == [
        "mum_of_three",
        "anker_grandad",
        "rovers_fan",
        "yr2_parent",
    ]
    first = items[0]
    assert first.text.startswith("Heard a rumour that Ankermoor Primary Academy")
    assert (
        first.url
        == "https://forum.example.org/threads/ankermoor-primary-academy-new-head.4412/post-88120"
    )
    assert (
        first.published_at is not None
        and first.published_at.isoformat() == "2026-11-27T20:15:00+00:00"
    )
    assert first.external_id == f"webpage:{THREAD}#{fingerprint(first.text)}"
    assert [i.has_media for i in items] == [False, False, False, True]
    assert all("analytics" not in i.text for i in items)


def test_review_markup_is_guessed_without_a_selector() -> None:
    opts = WebpageOptions.model_validate({"url": "https://reviews.example.org/ankermoor"})
    items = parse_webpage(
        (FIXTURES / "webpage/reviews.html").read_bytes(),
        "a/w",
        "https://reviews.example.org/ankermoor",
        opts,
    )
    assert [i.title for i in items] == ["Caring staff", "Bullying not dealt with"]
    assert items[1].author == "Former parent"


def test_selector_that_matches_nothing_says_so() -> None:
    opts = WebpageOptions.model_validate({"url": THREAD, "post_selector": "li.message"})
    with pytest.raises(FeedParseError, match="matched nothing"):
        parse_webpage((FIXTURES / "webpage/forum-thread.html").read_bytes(), "a/w", THREAD, opts)


def test_bad_selector_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="not a CSS selector"):
        spec_for("webpage", {"url": THREAD, "post_selector": "div..post["})


def test_new_posts_only_by_fingerprint(server: FixtureServer) -> None:
    server.routes["/thread"] = fixture("webpage/forum-thread.html", HTML)
    spec = spec_for("webpage", {"url": server.url("/thread"), **FORUM})
    with make_client() as client:
        first = run("webpage", spec, SourceState(), client)
        assert len(first.items) == 4 and first.state.etag
        assert len(json.loads(first.state.cursor or "")["seen"]) == 4

        unchanged = run("webpage", spec, first.state, client)
        assert unchanged.not_modified and unchanged.items == ()

        server.routes["/thread"] = fixture("webpage/forum-thread-later.html", HTML)
        later = run("webpage", spec, unchanged.state, client)
    assert [i.author for i in later.items] == ["new_in_town"]
    assert len(json.loads(later.state.cursor or "")["seen"]) == 5
