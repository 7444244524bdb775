"""google_news: one RSS search per name, links kept as given, publisher as author, conditional
re-reads, and only new items on a later cycle."""

from __future__ import annotations

from datetime import UTC, datetime

from sources.base import SourceState
from sources.google_news import parse_google_news
from tests.servers import FIXTURES, FixtureServer
from tests.source_helpers import asked, by_param, fixture, headers_for, make_client, run, spec_for

RSS = "application/rss+xml; charset=utf-8"
Q_ACADEMY = '"Ankermoor Primary Academy" when:1d'
Q_SPACED = '"Anker Moor Primary" when:1d'


def _serve(server: FixtureServer, academy: str = "google_news/academy.rss") -> None:
    server.routes["/rss/search"] = by_param(
        "q",
        {Q_ACADEMY: fixture(academy, RSS), Q_SPACED: fixture("google_news/anker-moor.rss", RSS)},
        fixture("google_news/empty.rss", RSS),
    )


def test_parse_keeps_google_link_and_moves_publisher_to_author() -> None:
    items = parse_google_news((FIXTURES / "google_news/academy.rss").read_bytes(), "a/gn")
    first = items[0]
    assert (
        first.title == "Ankermoor Primary Academy rated Good in first Ofsted visit since conversion"
    )
    assert first.author == "Ankermoor Gazette"
    assert first.url is not None and first.url.startswith(
        "https://news.google.com/rss/articles/CBMi"
    )
    assert first.url.endswith("?oc=5")
    assert first.external_id.startswith("gnews:CBMi")
    assert first.published_at == datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
    # The collector returns what Google returns, hard negatives included: the matcher decides.
    assert any(i.title.startswith("Ankermoor Road") for i in items)


def test_one_query_per_name_merged_then_only_new_items(server: FixtureServer) -> None:
    _serve(server)
    spec = spec_for("google_news", {"base_url": server.url("")})
    with make_client() as client:
        first = run("google_news", spec, SourceState(), client)
        sent = asked(server, "/rss/search")
        # The two word names were searched; the hashtag is not a news query.
        assert sorted(p["q"] for p in sent) == sorted([Q_ACADEMY, Q_SPACED])
        assert all(p["hl"] == "en-GB" and p["gl"] == "GB" and p["ceid"] == "GB:en" for p in sent)
        # 3 + 2 items, one story found by both queries: 4, each once.
        ids = [i.external_id for i in first.items]
        assert len(ids) == len(set(ids)) == 4
        assert "Anker Moor Primary families raise £2,000 for the food bank" in {
            i.title for i in first.items
        }

        second = run("google_news", spec, first.state, client)
        assert second.not_modified and second.items == ()
        conditional = [h for h in headers_for(server, "/rss/search")[2:] if "if-none-match" in h]
        assert len(conditional) == 2

        _serve(server, "google_news/academy-later.rss")
        third = run("google_news", spec, second.state, client)
        assert [i.title for i in third.items] == [
            "Ankermoor Primary Academy pupils win county chess title"
        ]
        assert not third.not_modified


def test_explicit_queries_replace_the_names(server: FixtureServer) -> None:
    _serve(server)
    spec = spec_for(
        "google_news", {"base_url": server.url(""), "queries": ['"Ankermoor" school'], "when": "7d"}
    )
    with make_client() as client:
        got = run("google_news", spec, SourceState(), client)
    assert [p["q"] for p in asked(server, "/rss/search")] == ['"Ankermoor" school when:7d']
    assert got.items == ()  # the empty feed: nothing, and no error
