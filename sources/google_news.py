"""Google News search RSS: the `google_news` source kind.

One RSS search per name variant (`"name" when:1d`), about 100 items at most per query. Each
item's link is kept exactly as Google gives it (a news.google.com redirect): unwrapping it would
need a request to Google per item. The publisher comes from the item's <source> element.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from sources.base import Collected, RawItem, SourceSpec, SourceState
from sources.feeds import parse_bytes, parse_feed
from sources.feedsafety import defuse
from sources.http import GuardedClient
from sources.multifeed import collect_urls
from sources.searching import as_dict, as_str, search_queries


class GoogleNewsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queries: tuple[str, ...] = ()  # default: each of the academy's names, as an exact phrase
    when: str = Field("1d", pattern=r"^(\d+[hd])?$")  # Google's recency operator; "" = none
    hl: str = "en-GB"
    gl: str = "GB"
    ceid: str = "GB:en"
    base_url: str = "https://news.google.com"


def parse_google_news(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a Google News RSS answer; the publisher becomes the author.

    Ids are "gnews:" + Google's guid (about 850 characters); RawItem fits the whole to the store.
    """
    items = parse_feed(data, source_key, id_prefix="gnews:")
    entries = parse_bytes(defuse(data)).get("entries") or []
    out: list[RawItem] = []
    for item, entry in zip(items, entries, strict=False):
        source = as_dict(entry.get("source"))
        publisher = as_str(source.get("title")).strip()
        title = item.title
        if publisher and title.endswith(f" - {publisher}"):
            title = title[: -len(publisher) - 3]  # Google appends " - Publisher" to every title
        out.append(
            replace(
                item,
                title=title,
                author=publisher or item.author,
            )
        )
    return out


class GoogleNewsCollector:
    """News articles Google News has indexed in the last day, per name variant."""

    kind: ClassVar[str] = "google_news"
    options_model: ClassVar[type[BaseModel]] = GoogleNewsOptions
    default_interval_minutes: ClassVar[int] = 30
    description: ClassVar[str] = (
        "Google News search RSS, one query per name (headline and publisher only)."
    )

    def urls(self, spec: SourceSpec) -> list[str]:
        opts = spec.options
        assert isinstance(opts, GoogleNewsOptions)
        out = []
        for q in search_queries(spec.names, opts.queries):
            term = f"{q} when:{opts.when}" if opts.when else q
            params = urlencode({"q": term, "hl": opts.hl, "gl": opts.gl, "ceid": opts.ceid})
            out.append(f"{opts.base_url.rstrip('/')}/rss/search?{params}")
        return out

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        return collect_urls(
            client, self.urls(spec), state, spec.key, parse_google_news, respect_robots=True
        )
