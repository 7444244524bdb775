"""The feed parser: RSS, Atom and JSON Feed fields, media detection, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sources.feeds import FeedParseError, parse_feed
from tests.servers import FIXTURES


def test_rss_fields() -> None:
    items = parse_feed((FIXTURES / "feeds/gazette.rss").read_bytes(), "a/gazette")
    assert len(items) == 5
    first = items[0]
    assert first.external_id == "gazette-10231"
    assert first.title == "Pupils plant 200 trees along the River Anker"
    assert "<strong>" not in first.text and "Ankermoor Primary Academy" in first.text
    assert first.author == "Sarah Collins"
    assert first.published_at == datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
    assert first.has_media is False
    protest = next(i for i in items if i.external_id == "gazette-10234")
    assert protest.has_media is True
    assert all(isinstance(i.text, str) and isinstance(i.title, str) for i in items)


def test_atom_fields_and_fallback_ids() -> None:
    items = parse_feed((FIXTURES / "feeds/parents-forum.atom").read_bytes(), "a/forum")
    assert [i.external_id for i in items][0] == "tag:parents.example.net,2026:post-88120"
    assert items[0].author == "mum_of_three"
    assert items[0].published_at == datetime(2026, 11, 28, 9, 40, tzinfo=UTC)


def test_json_feed() -> None:
    items = parse_feed((FIXTURES / "feeds/trust.json").read_bytes(), "a/trust")
    assert items[0].has_media is True  # "image" on the item
    assert items[1].text.startswith("Fierté Multi Academy Trust")
    assert items[0].author == "Trust communications"


def test_item_without_guid_or_link_gets_content_hash_id() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>No id here</title><description>Some text</description></item></channel></rss>"""
    (item,) = parse_feed(rss, "a/x")
    assert item.external_id.startswith("sha256:")
    again = parse_feed(rss, "a/x")[0]
    assert again.external_id == item.external_id


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (
            b"<!DOCTYPE html><html><head><title>Login</title></head><body>Sign in</body></html>",
            "HTML page",
        ),
        (b"{not json", "malformed JSON"),
        (b'{"hello": "world"}', "not a JSON Feed"),
        (b"\x00\x01\x02 binary garbage \xff\xfe", "not a readable feed"),
    ],
)
def test_bad_bodies_give_one_line_reasons(body: bytes, reason: str) -> None:
    with pytest.raises(FeedParseError) as err:
        parse_feed(body, "a/x")
    assert reason in str(err.value)
    assert "\n" not in str(err.value)


def test_empty_but_valid_feed_is_nothing_new() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(rss, "a/x") == []
