"""gdelt: one OR-ed query per collect, startdatetime from the cursor on later cycles, GDELT's
plain-text refusals and its empty `{}` answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sources.base import SourceState
from sources.feeds import FeedParseError
from sources.gdelt import GdeltCollector, build_query, parse_gdelt
from sources.http import HTTPStatusError
from tests.servers import FIXTURES, FixtureServer, Reply
from tests.source_helpers import asked, fixture, make_client, run, spec_for, too_many

PATH = "/api/v2/doc/doc"


def test_parse_artlist() -> None:
    items = parse_gdelt((FIXTURES / "gdelt/artlist.json").read_bytes(), "a/gdelt")
    assert [i.author for i in items] == [
        "ankermoorgazette.example.org",
        "midlandspost.example.com",
        "tasmaniantimes.example.au",
    ]
    first = items[0]
    assert first.external_id == "gdelt:https://www.ankermoorgazette.example.org/news/ofsted-good"
    assert first.published_at == datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
    assert first.has_media is True and items[1].has_media is False  # socialimage
    assert parse_gdelt((FIXTURES / "gdelt/empty.json").read_bytes(), "a/gdelt") == []


def test_query_ors_the_word_names_only() -> None:
    names = ("Ankermoor Primary Academy", "Anker Moor Primary", "#AnkermoorPrimary")
    assert build_query(names, "") == '("Ankermoor Primary Academy" OR "Anker Moor Primary")'
    assert build_query(names[:1], "") == '"Ankermoor Primary Academy"'
    assert build_query(names, "ankermoor sourcecountry:UK") == "ankermoor sourcecountry:UK"


def test_one_call_per_collect_and_later_calls_start_at_the_newest(server: FixtureServer) -> None:
    server.routes[PATH] = fixture("gdelt/artlist.json")
    spec = spec_for("gdelt", {"base_url": server.url("")})
    with make_client() as client:
        first = run("gdelt", spec, SourceState(), client)
        assert len(first.items) == 3
        (p,) = asked(server, PATH)
        assert p["mode"] == "artlist" and p["format"] == "json" and p["maxrecords"] == "250"
        assert p["timespan"] == "24h" and p["sort"] == "DateDesc" and " OR " in p["query"]

        server.routes[PATH] = fixture("gdelt/artlist-later.json")
        # A day after the fixture's newest article, whatever today's date: within GDELT's
        # three-month window, so the query starts at that article.
        later_clock = lambda: datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # noqa: E731
        second = GdeltCollector(clock=later_clock).collect(spec, first.state, client)
    later = asked(server, PATH)[1]
    assert "timespan" not in later
    # From the newest seendate of the first cycle (GDELT's YYYYMMDDHHMMSS), to now.
    assert later["startdatetime"] == "20261128073000"
    assert [i.title for i in second.items] == [
        "Ankermoor Primary Academy pupils win county chess title"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"Please limit requests to one every 5 seconds or contact "
            b"kalev.leetaru5@gmail.com for larger queries.",
            "one every 5 seconds",
        ),
        (b"The specified phrase is too short.\n", "phrase is too short"),
        (b"<html><body>Service Unavailable</body></html>", "HTML page"),
        (b'{"articles": [ {"url": "https://x.example"', "malformed JSON"),
    ],
)
def test_gdelt_text_answers_are_clear_errors(
    server: FixtureServer, body: bytes, message: str
) -> None:
    server.routes[PATH] = Reply(200, body, {"content-type": "text/html; charset=utf-8"})
    with make_client() as client, pytest.raises(FeedParseError, match=message):
        run("gdelt", spec_for("gdelt", {"base_url": server.url("")}), SourceState(), client)


def test_429_passes_retry_after_to_the_runner(server: FixtureServer) -> None:
    server.routes[PATH] = too_many(300)
    with make_client() as client, pytest.raises(HTTPStatusError) as err:
        run("gdelt", spec_for("gdelt", {"base_url": server.url("")}), SourceState(), client)
    assert err.value.status == 429 and err.value.retry_after == 300
