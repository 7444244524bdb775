"""The collector contract: what every source kind provides, the values it returns, and the registry.

A collector has a pure `parse_*` function over bytes and a `collect` method that fetches through the
one guarded client (sources/http.py). Collectors never build their own HTTP client.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

# The values collectors return live in the leaf module monitor/values.py (it imports nothing of
# the project); they are re-exported here so that a collector needs only this module.
from monitor.values import MAX_EXTERNAL_ID as MAX_EXTERNAL_ID
from monitor.values import RawItem as RawItem
from monitor.values import SourceState as SourceState
from monitor.values import fit_external_id as fit_external_id
from monitor.values import strip_controls as strip_controls
from sources.errors import FeedParseError as FeedParseError
from sources.errors import SourceError as SourceError
from sources.errors import SourceUnavailable as SourceUnavailable

if TYPE_CHECKING:
    from sources.http import GuardedClient


@dataclass(frozen=True)
class SourceSpec:
    """One configured source, as a collector sees it."""

    key: str  # "<academy id>/<source name>", unique across the trust
    kind: str
    options: BaseModel  # the collector's own validated options
    names: tuple[str, ...] = ()  # the academy's names, for building search queries


@dataclass(frozen=True)
class Collected:
    """The result of one collect: new items and the state to remember. Not an error."""

    items: tuple[RawItem, ...]
    state: SourceState
    not_modified: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Collector(Protocol):
    kind: ClassVar[str]
    options_model: ClassVar[type[BaseModel]]
    default_interval_minutes: ClassVar[int]
    description: ClassVar[str]

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected: ...


# Built-in kinds, imported lazily so that `--help` stays fast. Third-party kinds register an
# entry point in the group "mention_monitor.sources" pointing at their Collector class.
BUILTIN: Mapping[str, str] = {
    "feed": "sources.feeds:FeedCollector",
    "google_news": "sources.google_news:GoogleNewsCollector",
    "bing_news": "sources.bing_news:BingNewsCollector",
    "gdelt": "sources.gdelt:GdeltCollector",
    "mastodon": "sources.mastodon:MastodonCollector",
    "bluesky": "sources.bluesky:BlueskyCollector",
    "reddit": "sources.reddit:RedditCollector",
    "hackernews": "sources.hackernews:HackerNewsCollector",
    "lemmy": "sources.lemmy:LemmyCollector",
    "youtube": "sources.youtube:YouTubeCollector",
    "webpage": "sources.webpage:WebpageCollector",
}


def _load(target: str) -> type[Collector]:
    module, _, attr = target.partition(":")
    cls: type[Collector] = getattr(importlib.import_module(module), attr)
    return cls


@cache
def registry() -> dict[str, type[Collector]]:
    """Every known source kind, built-in first, then plugins."""
    kinds = {kind: _load(target) for kind, target in BUILTIN.items()}
    for ep in entry_points(group="mention_monitor.sources"):
        kinds.setdefault(ep.name, ep.load())
    return kinds


def make_spec(
    key: str, kind: str, options: Mapping[str, object], names: tuple[str, ...]
) -> SourceSpec:
    collector = registry()[kind]
    return SourceSpec(
        key=key,
        kind=kind,
        options=collector.options_model.model_validate(dict(options)),
        names=names,
    )
