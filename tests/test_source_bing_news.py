"""bing_news: real article URLs out of Bing's click-tracking links, the image flag, one query per
name, and a conditional re-read."""

from __future__ import annotations

from sources.base import SourceState
from sources.bing_news import article_url, parse_bing_news
from tests.servers import FIXTURES, FixtureServer
from tests.source_helpers import asked, by_param, fixture, make_client, run, spec_for

RSS = "application/rss+xml; charset=utf-8"


def test_parse_unwraps_click_tracking_and_flags_images() -> None:
    items = parse_bing_news((FIXTURES / "bing_news/search.rss").read_bytes(), "a/bing")
    ofsted, dental = items
    assert ofsted.url == "https://www.ankermoorgazette.example.org/news/ofsted-good"
    assert ofsted.external_id == "bing:https://www.ankermoorgazette.example.org/news/ofsted-good"
    assert ofsted.author == "Ankermoor Gazette"
    assert ofsted.has_media is True  # <News:Image>
    assert "calm and purposeful" in ofsted.text
    assert dental.has_media is False and dental.url is not None and "bing.com" not in dental.url


def test_article_url_leaves_ordinary_links_alone() -> None:
    assert (
        article_url("https://example.org/a?url=https://evil.example")
        == "https://example.org/a?url=https://evil.example"
    )
    assert article_url("http://www.bing.com/news/apiclick.aspx?url=javascript:alert(1)").startswith(
        "http://www.bing.com"
    )


def test_collect_per_name_and_second_cycle_is_conditional(server: FixtureServer) -> None:
    server.routes["/news/search"] = by_param(
        "q",
        {'"Ankermoor Primary Academy"': fixture("bing_news/search.rss", RSS)},
        fixture("bing_news/empty.rss", RSS),
    )
    spec = spec_for("bing_news", {"base_url": server.url("")})
    with make_client() as client:
        first = run("bing_news", spec, SourceState(), client)
        sent = asked(server, "/news/search")
        assert [p["q"] for p in sent] == ['"Ankermoor Primary Academy"', '"Anker Moor Primary"']
        assert all(p["format"] == "rss" and p["mkt"] == "en-GB" for p in sent)
        assert len(first.items) == 2
        second = run("bing_news", spec, first.state, client)
    assert second.not_modified and second.items == ()
