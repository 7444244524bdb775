"""reddit: search.rss site-wide or per subreddit, thumbnails as media, only new posts on a later
cycle, and a 403 block page reported once as "blocked"."""

from __future__ import annotations

import pytest

from sources.base import SourceState, SourceUnavailable
from sources.reddit import parse_reddit
from tests.servers import FIXTURES, FixtureServer, Reply
from tests.source_helpers import asked, by_param, fixture, make_client, run, spec_for

ATOM = "application/atom+xml; charset=UTF-8"


def test_parse_reddit_atom() -> None:
    items = parse_reddit((FIXTURES / "reddit/search.rss").read_bytes(), "a/reddit")
    assert [i.external_id for i in items] == [
        "reddit:t3_1h2kq7x",
        "reddit:t3_1h2h0zz",
        "reddit:t3_1h2d4aa",
    ]
    reception, nativity, parking = items
    assert reception.author == "/u/anker_valley_mum"
    assert (
        reception.url
        == "https://www.reddit.com/r/UKParenting/comments/1h2kq7x/reception_at_ankermoor_primary_academy/"
    )
    assert "nursery class" in reception.text and "<div" not in reception.text
    assert nativity.has_media is True and reception.has_media is False
    assert "Ankermoor Rovers" in parking.text  # a hard negative: returned, the matcher drops it


def test_site_wide_search_then_only_new_posts(server: FixtureServer) -> None:
    route = {'"Ankermoor Primary Academy"': fixture("reddit/search.rss", ATOM)}
    server.routes["/search.rss"] = by_param("q", route, fixture("reddit/empty.rss", ATOM))
    spec = spec_for("reddit", {"base_url": server.url("")})
    with make_client() as client:
        first = run("reddit", spec, SourceState(), client)
        assert len(first.items) == 3
        assert [p["sort"] for p in asked(server, "/search.rss")] == ["new", "new"]
        route['"Ankermoor Primary Academy"'] = fixture("reddit/search-later.rss", ATOM)
        second = run("reddit", spec, first.state, client)
    assert [i.external_id for i in second.items] == ["reddit:t3_1h2m9pp"]


def test_subreddit_search_is_restricted(server: FixtureServer) -> None:
    server.routes["/r/Ankermoor/search.rss"] = fixture("reddit/search.rss", ATOM)
    server.routes["/r/UKParenting/search.rss"] = fixture("reddit/empty.rss", ATOM)
    spec = spec_for(
        "reddit",
        {
            "base_url": server.url(""),
            "subreddits": ["r/Ankermoor", "UKParenting"],
            "queries": ["Ankermoor"],
        },
    )
    with make_client() as client:
        got = run("reddit", spec, SourceState(), client)
    assert len(got.items) == 3
    for path in ("/r/Ankermoor/search.rss", "/r/UKParenting/search.rss"):
        assert asked(server, path) == [{"q": "Ankermoor", "restrict_sr": "1", "sort": "new"}]


def test_block_page_is_reported_as_blocked(server: FixtureServer) -> None:
    server.routes["/search.rss"] = Reply(
        403, (FIXTURES / "reddit/blocked.html").read_bytes(), {"content-type": "text/html"}
    )
    with make_client() as client, pytest.raises(SourceUnavailable) as err:
        run("reddit", spec_for("reddit", {"base_url": server.url("")}), SourceState(), client)
    assert err.value.status == "blocked" and "403" in err.value.reason and err.value.advice


def test_bad_subreddit_name_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="not a subreddit name"):
        spec_for("reddit", {"subreddits": ["../etc"]})


def test_atom_ids_are_verbatim_whatever_url_the_feed_came_from(server: FixtureServer) -> None:
    """feedparser resolves an Atom <id> like a link; ids must not depend on the fetch URL."""
    body = (FIXTURES / "reddit/search.rss").read_bytes()
    server.routes["/search.rss"] = Reply(200, body, {"content-type": ATOM})
    server.routes["/r/Ankermoor/.rss"] = Reply(200, body, {"content-type": ATOM})
    got = []
    with make_client() as client:
        for path in ("/search.rss?q=Ankermoor", "/r/Ankermoor/.rss"):
            spec = spec_for("feed", {"url": server.url(path)})
            got.append([i.external_id for i in run("feed", spec, SourceState(), client).items])
    assert got[0] == got[1] == ["t3_1h2kq7x", "t3_1h2h0zz", "t3_1h2d4aa"]


def test_reddit_ids_ignore_xml_base() -> None:
    # An xml:base="/" on the feed made feedparser turn t3_42tizy into /t3_42tizy.
    items = parse_reddit((FIXTURES / "reddit/xml-base.atom").read_bytes(), "a/reddit")
    assert [i.external_id for i in items] == ["reddit:t3_42tizy"]
    assert items[0].url is not None and items[0].url.startswith("https://www.reddit.com/r/")
