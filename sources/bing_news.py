"""Bing News search RSS (`format=rss`): the `bing_news` source kind.

Unofficial and often sparse, but open. Bing wraps each article link in an `apiclick.aspx`
redirect that carries the real address in its `url` parameter: we keep the real address, so the
same story found through Google News or a local feed de-duplicates against it. Bing's own
thumbnail (<News:Image>) marks the item as showing an image.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import feedparser
from pydantic import BaseModel, ConfigDict

from sources.base import Collected, RawItem, SourceSpec, SourceState
from sources.feeds import parse_feed
from sources.feedsafety import defuse
from sources.http import GuardedClient
from sources.multifeed import collect_urls
from sources.searching import as_str, search_queries


class BingNewsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queries: tuple[str, ...] = ()  # default: each of the academy's names, as an exact phrase
    mkt: str = "en-GB"
    base_url: str = "https://www.bing.com"


def article_url(link: str) -> str:
    """The publisher's address inside a Bing click-tracking link, else the link unchanged."""
    parts = urlsplit(link)
    if parts.path.lower().endswith("/apiclick.aspx"):
        real = parse_qs(parts.query).get("url")
        if real and real[0].startswith(("http://", "https://")):
            return real[0]
    return link


def parse_bing_news(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a Bing News RSS answer: real article URL, publisher as author, image flag."""
    items = parse_feed(data, source_key)
    entries = feedparser.parse(defuse(data)).get("entries") or []
    out: list[RawItem] = []
    for item, entry in zip(items, entries, strict=False):
        url = article_url(item.url) if item.url else None
        publisher = as_str(entry.get("news_source")).strip()
        out.append(
            replace(
                item,
                # Bing has no stable id: the real article address is the identity.
                external_id=f"bing:{url or item.external_id}"[:500],
                url=url,
                author=publisher or item.author,
                has_media=item.has_media or bool(as_str(entry.get("news_image")).strip()),
            )
        )
    return out


class BingNewsCollector:
    """News articles Bing News lists for each name variant."""

    kind: ClassVar[str] = "bing_news"
    options_model: ClassVar[type[BaseModel]] = BingNewsOptions
    default_interval_minutes: ClassVar[int] = 60
    description: ClassVar[str] = "Bing News search RSS (unofficial), one query per name."

    def urls(self, spec: SourceSpec) -> list[str]:
        opts = spec.options
        assert isinstance(opts, BingNewsOptions)
        base = opts.base_url.rstrip("/")
        return [
            f"{base}/news/search?{urlencode({'q': q, 'format': 'rss', 'mkt': opts.mkt})}"
            for q in search_queries(spec.names, opts.queries)
        ]

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        return collect_urls(
            client, self.urls(spec), state, spec.key, parse_bing_news, respect_robots=True
        )
