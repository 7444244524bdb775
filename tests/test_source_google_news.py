"""google_news: one RSS search per name, links kept as given, publisher as author, conditional
re-reads, and only new items on a later cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.app import App
from monitor.service import build_runner
from sources.base import MAX_EXTERNAL_ID, SourceState, fit_external_id
from sources.google_news import parse_google_news
from tests.conftest import write_config
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


def test_long_guids_fit_the_store_and_stay_distinct() -> None:
    data = (FIXTURES / "google_news/long-guid.rss").read_bytes()
    first, second = parse_google_news(data, "a/gn")
    guid = first.url.split("/articles/", 1)[1].split("?", 1)[0] if first.url else ""
    assert len(guid) == 850  # the shape of a real Google News guid
    # The two guids share their first 620 characters: cutting them would make one id of two.
    assert first.external_id != second.external_id
    assert len(first.external_id) <= MAX_EXTERNAL_ID and len(second.external_id) <= MAX_EXTERNAL_ID
    assert first.external_id.startswith("gnews:CBMi")
    assert first.external_id == fit_external_id("gnews:" + guid)
    # The same bytes give the same ids.
    assert [i.external_id for i in parse_google_news(data, "a/gn")] == [
        first.external_id,
        second.external_id,
    ]


GNEWS_SOURCE = """
[[academies.sources]]
kind = "google_news"
name = "gnews"
base_url = "{base}"
"""


def test_long_guids_stored_then_known_on_a_second_run(
    tmp_path: Path, server: FixtureServer
) -> None:
    server.routes["/rss/search"] = fixture("google_news/long-guid.rss", RSS)
    app = App(write_config(tmp_path, server, GNEWS_SOURCE))
    runner, close = build_runner(app, score=False)
    try:
        [stats] = runner.run_due()
        assert stats.error is None and stats.new == 2
        stored = [m for m, _ in runner.store.mentions()]
        ids = sorted(m.external_id for m in stored)
        expected = sorted(
            i.external_id
            for i in parse_google_news((FIXTURES / "google_news/long-guid.rss").read_bytes(), "k")
        )
        assert ids == expected and all(len(i) <= MAX_EXTERNAL_ID for i in ids)

        # Google edits the headline. Forget the collector's cursor, so only the store's
        # knowledge of the id can tell that this is the story already stored.
        src = runner.sources[0]
        with runner.store.transaction() as tx:
            tx.source_succeeded(
                src.key,
                SourceState(),
                runner.now(),
                runner.now(),
                not_modified=False,
                newest_item=None,
            )
        server.routes["/rss/search"] = fixture("google_news/long-guid-later.rss", RSS)
        again = runner.run_source(src)
        assert again.error is None and again.fetched == 1 and again.relevant == 1
        assert again.new == 0 and again.duplicates == 1
        assert len(runner.store.mentions()) == 2
    finally:
        close()
