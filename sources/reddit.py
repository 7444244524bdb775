"""Reddit search as RSS (Atom): the `reddit` source kind.

Anonymous JSON is blocked, but `search.rss` still answers: site-wide
(`/search.rss?q=...&sort=new`) or within chosen subreddits
(`/r/{sub}/search.rss?q=...&restrict_sr=1&sort=new`). Reddit throttles RSS readers hard, so the
default interval is an hour, requests carry the client's descriptive User-Agent, and a 403 (the
"blocked" page Reddit serves to clients it refuses) is reported once as "blocked", not retried
every cycle. Post thumbnails and images in the post body mark an item as showing media.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sources.base import Collected, RawItem, SourceSpec, SourceState, SourceUnavailable
from sources.feeds import parse_feed
from sources.http import GuardedClient, HTTPStatusError
from sources.multifeed import collect_urls
from sources.searching import search_queries


class RedditOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queries: tuple[str, ...] = ()  # default: each of the academy's names, as an exact phrase
    subreddits: tuple[str, ...] = ()  # e.g. ("Ankermoor", "UKParenting"); empty = all of Reddit
    sort: str = Field("new", pattern=r"^(new|relevance|top|comments)$")
    base_url: str = "https://www.reddit.com"

    @field_validator("subreddits")
    @classmethod
    def _subs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(s.strip().removeprefix("/").removeprefix("r/").strip("/") for s in v)
        bad = [s for s in out if not s.replace("_", "").isalnum()]
        if bad:
            raise ValueError(f"not a subreddit name: {', '.join(bad)} (write e.g. 'UKParenting')")
        return out


def parse_reddit(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a Reddit search.rss answer (Atom), ids "reddit:" + the post's fullname ("t3_...")
    exactly as Reddit writes it, whichever URL the feed was read from."""
    return parse_feed(data, source_key, id_prefix="reddit:")


class RedditCollector:
    """Reddit posts whose title or text matches each name, newest first."""

    kind: ClassVar[str] = "reddit"
    options_model: ClassVar[type[BaseModel]] = RedditOptions
    default_interval_minutes: ClassVar[int] = 60
    description: ClassVar[str] = (
        "Reddit search RSS, site-wide or in chosen subreddits (polled slowly)."
    )

    def urls(self, spec: SourceSpec) -> list[str]:
        opts = spec.options
        assert isinstance(opts, RedditOptions)
        base = opts.base_url.rstrip("/")
        out = []
        for q in search_queries(spec.names, opts.queries):
            if opts.subreddits:
                for sub in opts.subreddits:
                    params = urlencode({"q": q, "restrict_sr": "1", "sort": opts.sort})
                    out.append(f"{base}/r/{quote(sub)}/search.rss?{params}")
            else:
                out.append(f"{base}/search.rss?{urlencode({'q': q, 'sort': opts.sort})}")
        return out

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        try:
            return collect_urls(
                client, self.urls(spec), state, spec.key, parse_reddit, respect_robots=True
            )
        except HTTPStatusError as exc:
            if exc.status != 403:
                raise
            raise SourceUnavailable(
                "blocked",
                "Reddit refused this client (HTTP 403)",
                advice="Reddit blocks some networks and clients. Check network.contact_url gives a "
                "real contact address, try again later, or disable this source.",
            ) from None
