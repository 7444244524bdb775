"""The collector contract: what every source kind provides, the values it returns, and the registry.

A collector has a pure `parse_*` function over bytes and a `collect` method that fetches through the
one guarded client (sources/http.py). Collectors never build their own HTTP client.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sources.http import GuardedClient


# The store's column for external ids (monitor/store/schema.py: String(500)).
MAX_EXTERNAL_ID = 500
_DIGEST = "~sha256:"  # + 64 hex digits


def fit_external_id(external_id: str) -> str:
    """An id that fits the store: as given when short enough, else its head plus the SHA-256 of
    the whole id. Cutting would let two long ids with the same first 500 characters collide (real
    Google News guids run to about 850 characters and share long prefixes)."""
    if len(external_id) <= MAX_EXTERNAL_ID:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()
    head = external_id[: MAX_EXTERNAL_ID - len(_DIGEST) - len(digest)]
    return f"{head}{_DIGEST}{digest}"


# C0 control characters (and DEL) other than tab and newline: a NUL in a title breaks
# PostgreSQL text columns and terminals, and none of them is ever part of what a person wrote.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_controls(text: str) -> str:
    """`text` without C0 controls and DEL; tab and newline are kept, a carriage return dropped."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


@dataclass(frozen=True)
class RawItem:
    """One item as a collector parsed it, before anyone knows whether it is about a school.

    Every RawItem, however it was built (`dataclasses.replace` included), has an external id that
    fits the store: a kind adds its prefix to the full id and this fits the result, once.

    Every item of every kind is built here, so this is where control characters are removed.
    """

    source_key: str
    external_id: str
    url: str | None
    title: str
    text: str
    author: str | None = None
    published_at: datetime | None = None
    has_media: bool = False

    def __post_init__(self) -> None:
        if len(self.external_id) > MAX_EXTERNAL_ID:
            object.__setattr__(self, "external_id", fit_external_id(self.external_id))
        for name in ("title", "text", "author"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, strip_controls(value))


@dataclass(frozen=True)
class SourceState:
    """What the store remembers for a source between runs. `cursor` is the collector's own text."""

    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None


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


class FeedParseError(Exception):
    """The body is not a feed or document we can read. The message is one line for an IT person.

    (Defined here, not in sources/feeds.py, so that sources/bounded.py can raise it.)
    """


class SourceUnavailable(Exception):
    """The source cannot be read until a person acts (credentials missing, access blocked).

    The runner records it once with `advice` and waits long before trying again: it is not
    an error loop.
    """

    def __init__(self, status: str, reason: str, advice: str = "") -> None:
        self.status = status  # "needs_credentials" | "blocked" | "disabled"
        self.reason = reason
        self.advice = advice
        super().__init__(reason)


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
