"""YouTube channel and playlist feeds (`/feeds/videos.xml`): the `youtube` source kind.

YouTube has no open search, but every channel and playlist has an Atom feed of its latest 15
videos: follow the academy's own channel, the trust's, and local channels that film school
events. Every item is a video, so every item has media. These are feeds the user chose, so
robots.txt is not consulted (as for the `feed` kind).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from sources.base import Collected, RawItem, SourceSpec, SourceState
from sources.feeds import parse_feed
from sources.http import GuardedClient
from sources.multifeed import collect_urls

_ID = re.compile(r"^[A-Za-z0-9_-]{10,64}$")


class YouTubeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel_ids: tuple[str, ...] = ()  # "UC..." ids (shown in the channel's page source / share)
    playlist_ids: tuple[str, ...] = ()  # "PL..." ids
    base_url: str = "https://www.youtube.com"

    @field_validator("channel_ids", "playlist_ids")
    @classmethod
    def _ids(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [i for i in v if not _ID.match(i)]
        if bad:
            raise ValueError(f"not a YouTube id: {', '.join(bad)}")
        return v

    @model_validator(mode="after")
    def _some(self) -> YouTubeOptions:
        if not self.channel_ids and not self.playlist_ids:
            raise ValueError("give at least one of channel_ids or playlist_ids")
        return self


def parse_youtube(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a YouTube videos.xml feed: every one is a video."""
    return [replace(i, has_media=True) for i in parse_feed(data, source_key)]


class YouTubeCollector:
    """The latest videos of chosen channels and playlists."""

    kind: ClassVar[str] = "youtube"
    options_model: ClassVar[type[BaseModel]] = YouTubeOptions
    default_interval_minutes: ClassVar[int] = 60
    description: ClassVar[str] = (
        "YouTube channel/playlist feeds (latest 15 videos each; all media)."
    )

    def urls(self, spec: SourceSpec) -> list[str]:
        opts = spec.options
        assert isinstance(opts, YouTubeOptions)
        base = f"{opts.base_url.rstrip('/')}/feeds/videos.xml"
        return [f"{base}?{urlencode({'channel_id': c})}" for c in opts.channel_ids] + [
            f"{base}?{urlencode({'playlist_id': p})}" for p in opts.playlist_ids
        ]

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        return collect_urls(
            client, self.urls(spec), state, spec.key, parse_youtube, respect_robots=False
        )
