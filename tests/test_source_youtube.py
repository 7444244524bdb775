"""youtube: channel and playlist feeds, every item a video, duplicates across feeds merged, only
new videos on a later cycle."""

from __future__ import annotations

import pytest

from sources.base import SourceState
from sources.youtube import parse_youtube
from tests.servers import FIXTURES, FixtureServer
from tests.source_helpers import asked, by_param, fixture, make_client, run, spec_for

ATOM = "application/atom+xml; charset=UTF-8"
CHANNEL = "UCk3nM0oRpAnkerm00rPr1m"
PLAYLIST = "PLanker2026Events0000x"


def test_every_video_has_media() -> None:
    items = parse_youtube((FIXTURES / "youtube/channel.xml").read_bytes(), "a/yt")
    assert [i.external_id for i in items] == [
        "yt:video:aPm4Xv9Tq2c",
        "yt:video:Lr8Kd2Wm0Qs",
        "yt:video:Zt5Hb7Nc1Ye",
    ]
    assert all(i.has_media for i in items)
    assert items[0].url == "https://www.youtube.com/watch?v=aPm4Xv9Tq2c"
    assert "please do not re-upload" in items[0].text  # media:description
    assert items[0].author == "Ankermoor Primary Academy"


def test_channel_and_playlist_merged_then_only_new(server: FixtureServer) -> None:
    channel = {CHANNEL: fixture("youtube/channel.xml", ATOM)}
    server.routes["/feeds/videos.xml"] = by_param(
        "channel_id", channel, fixture("youtube/playlist.xml", ATOM)
    )
    spec = spec_for(
        "youtube",
        {"base_url": server.url(""), "channel_ids": [CHANNEL], "playlist_ids": [PLAYLIST]},
    )
    with make_client() as client:
        first = run("youtube", spec, SourceState(), client)
        assert asked(server, "/feeds/videos.xml") == [
            {"channel_id": CHANNEL},
            {"playlist_id": PLAYLIST},
        ]
        # 3 channel videos + 2 playlist videos, one of them also on the channel.
        assert len(first.items) == 4
        channel[CHANNEL] = fixture("youtube/channel-later.xml", ATOM)
        second = run("youtube", spec, first.state, client)
    assert [i.title for i in second.items] == ["Christmas Fair 2026 - thank you from the PTA"]
    assert not second.not_modified  # the playlist answered 304, the channel did not


def test_a_channel_or_playlist_is_required() -> None:
    with pytest.raises(ValueError, match="channel_ids or playlist_ids"):
        spec_for("youtube", {})
    with pytest.raises(ValueError, match="not a YouTube id"):
        spec_for("youtube", {"channel_ids": ["https://youtube.com/@ankermoor"]})
