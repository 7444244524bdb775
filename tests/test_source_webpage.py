"""webpage: posts by CSS selector (or guessed), each returned once by content fingerprint,
conditional re-reads, and a selector that stops matching."""

from __future__ import annotations

import json

import pytest

from sources.base import SourceState
from sources.bounded import MAX_DEPTH, MAX_PAGE_ELEMENTS
from sources.feeds import FeedParseError
from sources.webpage import WebpageOptions, fingerprint, parse_webpage
from tests.servers import FIXTURES, FixtureServer, Reply
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


# --- hostile pages: refused by the element and depth budgets before a tree is built -------------


def _opts(**extra: object) -> WebpageOptions:
    return WebpageOptions.model_validate({"url": "https://example.org/t", **extra})


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (b"<html><body>" + b"<b>" * 1_000_000 + b"Ankermoor Primary", "HTML elements"),
        (b"<div>" * 1_000_000 + b"Ankermoor Primary", "HTML elements"),
        (b"<html><body>" + b"<p>x</p>" * 700_000, "HTML elements"),
        # Under the element budget but nested past the depth budget:
        (b"<div>" * (MAX_DEPTH + 1) + b"Ankermoor Primary", f"deep, more than the {MAX_DEPTH}"),
    ],
)
def test_hostile_pages_are_one_line_parse_errors(page: bytes, reason: str) -> None:
    with pytest.raises(FeedParseError, match=reason) as err:
        parse_webpage(page, "a/page", "https://example.org/t", _opts())
    assert "\n" not in str(err.value)


def test_the_budget_counts_tags_whatever_the_encoding() -> None:
    page = ("<html><body>" + "<b>" * (MAX_PAGE_ELEMENTS + 10) + "Ankermoor").encode("utf-16")
    with pytest.raises(FeedParseError, match="HTML elements"):
        parse_webpage(page, "a/page", "https://example.org/t", _opts())


def test_a_page_at_the_budget_is_read() -> None:
    posts = "".join(f'<div class="post">Post {i} about Ankermoor</div>' for i in range(2000))
    deep = "<div>" * (MAX_DEPTH - 2) + "deep text" + "</div>" * (MAX_DEPTH - 2)
    page = f"<html><body>{posts}{deep}</body></html>".encode()
    items = parse_webpage(page, "a/page", "https://example.org/t", _opts(max_posts=2000))
    assert len(items) == 2000
    assert items[1999].text == "Post 1999 about Ankermoor"


def test_nested_posts_are_read_once_within_the_work_budget() -> None:
    # 200 nested matches of the selector, the innermost holding a big flat block: each post's
    # text holds everything inside it, so reading all 200 would read the block 200 times.
    inner = "<p>word</p>" * 20_000
    page = ('<div class="post">Reply ' * 200 + inner + "</div>" * 200).encode()
    items = parse_webpage(page, "a/page", "https://example.org/t", _opts(post_selector="div.post"))
    assert 1 <= len(items) < 200
    assert items[0].text.startswith("Reply Reply")


def test_nested_guessed_posts_keep_the_outermost() -> None:
    page = (
        b"<html><body><article>Outer <article>inner</article></article>"
        b"<div><article>Second</article></div></body></html>"
    )
    items = parse_webpage(page, "a/page", "https://example.org/t", _opts())
    assert [i.text for i in items] == ["Outer inner", "Second"]


def test_hostile_page_fails_only_its_source(server: FixtureServer) -> None:
    server.routes["/thread"] = Reply(200, b"<div>" * 1_000_000, {"Content-Type": "text/html"})
    spec = spec_for("webpage", {"url": server.url("/thread")})
    with make_client() as client, pytest.raises(FeedParseError, match="HTML elements"):
        run("webpage", spec, SourceState(), client)


def test_tags_left_open_at_the_end_are_read_in_linear_time() -> None:
    # html.parser rescans the rest of the page once per unclosed "<a": minutes before the fix.
    page = b"<p>Ankermoor Primary</p>" + b"<a" * 5_000 + b"x" * 500_000
    (item,) = parse_webpage(page, "a/page", "https://example.org/t", _opts())
    assert item.text == "Ankermoor Primary"
