"""A link someone reported: fetched through the guarded client and read like a watched web page.

The page goes through the same path as the `webpage` kind (sources/webpage.py: the guarded
client's address, size and time limits, then bounded parsing), and its posts are joined into one
text: a reported link is one report, whatever the page holds. robots.txt is not consulted (a
person asked for this one page, as with a `webpage` source).
"""

from __future__ import annotations

from dataclasses import dataclass

from sources.http import GuardedClient, NotModified
from sources.webpage import WebpageOptions, parse_webpage

MAX_TEXT = 20_000


@dataclass(frozen=True)
class ReportedPage:
    url: str  # the final URL, after redirects
    title: str
    text: str
    has_media: bool


def fetch_reported(client: GuardedClient, url: str, source_key: str) -> ReportedPage:
    """The page's title and text. Raises SourceError (sources/errors.py) when it cannot be
    fetched or read: refused address, timeout, too large, error status, not a page."""
    got = client.get(url)
    assert not isinstance(got, NotModified)  # no validators were sent
    items = parse_webpage(got.content, source_key, got.url, WebpageOptions(url=got.url))
    text = "\n\n".join(i.text for i in items)[:MAX_TEXT]
    title = items[0].title if items else ""
    return ReportedPage(got.url, title, text, any(i.has_media for i in items))
