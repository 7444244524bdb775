"""GDELT DOC 2.0 article search (`mode=artlist`, JSON): the `gdelt` source kind.

GDELT asks for at least 5 seconds between calls and answers faster ones with HTTP 429 or a plain
text plea. So a collect makes exactly ONE call: every name variant is OR-ed into one query, and
no sleeping is needed as long as the interval between collects is minutes, not seconds. GDELT
gives title, URL, date, domain and a social image only (never the article text).

Cursor: {"newest": "<seendate of the newest article>", "seen": [urls]}. After the first collect
the query asks only for articles GDELT saw since the newest one (startdatetime); the seen list
drops the few that share that 15-minute boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from sources.base import Collected, RawItem, SourceSpec, SourceState
from sources.feeds import FeedParseError
from sources.http import GuardedClient, NotModified
from sources.searching import (
    as_str,
    decode_json,
    dump_cursor,
    load_cursor,
    polite_get,
    remember,
    search_queries,
)

_SEEN_FORMAT = "%Y%m%dT%H%M%SZ"  # GDELT's seendate
_QUERY_FORMAT = "%Y%m%d%H%M%S"  # startdatetime / enddatetime
_MAX_LOOKBACK = timedelta(days=7)  # never ask further back than this, however old the cursor


class GdeltOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = ""  # a full GDELT query; default: the academy's names OR-ed as exact phrases
    timespan: str = Field("24h", pattern=r"^\d+(min|h|d|w)$")  # first collect only
    maxrecords: int = Field(250, ge=1, le=250)
    base_url: str = "https://api.gdeltproject.org"


def _seendate(value: object) -> datetime | None:
    try:
        return datetime.strptime(as_str(value), _SEEN_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _articles(data: bytes) -> list[dict[str, Any]]:
    doc = decode_json(data, "GDELT")
    if not isinstance(doc, dict):
        raise FeedParseError("GDELT answered with JSON that is not an article list")
    arts = doc.get("articles", [])  # no results: GDELT answers {}
    if not isinstance(arts, list):
        raise FeedParseError("GDELT answered with JSON whose 'articles' is not a list")
    return [a for a in arts if isinstance(a, dict) and as_str(a.get("url"))]


def _item(a: dict[str, Any], source_key: str) -> RawItem:
    url = as_str(a.get("url"))
    domain = as_str(a.get("domain")) or None
    title = " ".join(as_str(a.get("title")).split())
    return RawItem(
        source_key=source_key,
        external_id=f"gdelt:{url}"[:500],
        url=url,
        title=title[:1000],
        text=title,  # GDELT does not give the article text
        author=domain,
        published_at=_seendate(a.get("seendate")),
        has_media=bool(as_str(a.get("socialimage")).strip()),
    )


def parse_gdelt(data: bytes, source_key: str) -> list[RawItem]:
    """Items of a GDELT DOC artlist JSON answer, or FeedParseError with GDELT's own message."""
    return [_item(a, source_key) for a in _articles(data)]


def build_query(names: tuple[str, ...], explicit: str) -> str:
    if explicit.strip():
        return explicit.strip()
    phrases = search_queries(names, ())
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


class GdeltCollector:
    """Worldwide online news GDELT has seen, one combined query per collect."""

    kind: ClassVar[str] = "gdelt"
    options_model: ClassVar[type[BaseModel]] = GdeltOptions
    default_interval_minutes: ClassVar[int] = 30
    description: ClassVar[str] = (
        "GDELT DOC 2.0 news search: titles, URLs, dates and domains, worldwide."
    )

    def url(self, spec: SourceSpec, cursor: dict[str, Any], now: datetime) -> str:
        opts = spec.options
        assert isinstance(opts, GdeltOptions)
        params = {
            "query": build_query(spec.names, opts.query),
            "mode": "artlist",
            "format": "json",
            "maxrecords": str(opts.maxrecords),
            "sort": "DateDesc",
        }
        newest = _seendate(cursor.get("newest"))
        if newest is None:
            params["timespan"] = opts.timespan
        else:
            start = max(newest, now - _MAX_LOOKBACK)
            params["startdatetime"] = start.strftime(_QUERY_FORMAT)
            params["enddatetime"] = now.strftime(_QUERY_FORMAT)
        return f"{opts.base_url.rstrip('/')}/api/v2/doc/doc?{urlencode(params)}"

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        # The time window of a query ends now; tests pass a clock to ask on a day of their own.
        self._clock = clock or (lambda: datetime.now(UTC))

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        cursor = load_cursor(state.cursor)
        got = polite_get(client, self.url(spec, cursor, self._clock()))
        if isinstance(got, NotModified):  # we send no validators; a server may still say 304
            return Collected(items=(), state=state, not_modified=True)
        seen_list = [s for s in cursor.get("seen") or [] if isinstance(s, str)]
        seen = set(seen_list)
        items: list[RawItem] = []
        for item in parse_gdelt(got.content, spec.key):
            if item.external_id not in seen:
                seen.add(item.external_id)
                items.append(item)
        dates = [i.published_at for i in items if i.published_at]
        newest = max([*dates, *filter(None, [_seendate(cursor.get("newest"))])], default=None)
        doc = {
            "newest": newest.strftime(_SEEN_FORMAT) if newest else None,
            "seen": remember(seen_list, (i.external_id for i in items), limit=500),
        }
        return Collected(items=tuple(items), state=SourceState(cursor=dump_cursor(doc)))
