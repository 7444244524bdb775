"""What every search/API collector shares: queries built from an academy's names, the polite GET,
JSON decoding with one-line errors, time parsing and the small JSON cursor a collector keeps.

The polite GET honours robots.txt (search and API endpoints are not pages a user subscribed to).
A robots.txt refusal is not a transient error: it becomes `SourceUnavailable("blocked")`, which
the runner records once with advice instead of retrying every cycle.

Everything here except `polite_get` is pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sources.base import FeedParseError, SourceUnavailable
from sources.bounded import load_json
from sources.http import FetchRefused, GuardedClient, NotModified, Response

# How many external ids / fingerprints a cursor remembers. Enough for a few cycles of the
# busiest kind (Google News: about 100 items per query), small enough to store as text.
SEEN_LIMIT = 1000


# --- queries ----------------------------------------------------------------------------------


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        v = " ".join(v.split())
        key = v.casefold()
        if v and key not in seen:
            seen.add(key)
            out.append(v)
    return tuple(out)


def plain_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names that are words, not hashtags: what news and forum search engines understand."""
    return _dedupe(n for n in names if not n.strip().startswith("#"))


def search_queries(
    names: Sequence[str], explicit: Sequence[str], *, quote: bool = True
) -> tuple[str, ...]:
    """One query per name variant (as an exact phrase), unless the source lists its own queries.

    Explicit queries are used exactly as written: the user may know the engine's syntax.
    """
    if explicit:
        return _dedupe(explicit)
    plain = plain_names(names)
    return tuple(f'"{n}"' if quote and " " in n else n for n in plain)


def hashtags(names: Sequence[str], explicit: Sequence[str] = ()) -> tuple[str, ...]:
    """Hashtags to follow: explicit ones, else every '#Name' plus each name run together
    ("Anker Moor Primary" -> "AnkerMoorPrimary"), since people tag a school that way."""
    source = explicit or names
    tags: list[str] = []
    for n in source:
        n = n.strip()
        if n.startswith("#"):
            tags.append(n[1:])
        elif explicit:
            tags.append(n)
        else:
            tags.append("".join(w[:1].upper() + w[1:] for w in re.findall(r"\w+", n)))
    return _dedupe(t for t in tags if re.fullmatch(r"\w+", t))


def base_url(value: str, default_scheme: str = "https") -> str:
    """'mastodon.social' or 'https://mastodon.social/' -> 'https://mastodon.social'."""
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"{default_scheme}://{value}"
    return value


# --- fetching ---------------------------------------------------------------------------------


def polite_get(
    client: GuardedClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: Mapping[str, str] | None = None,
    respect_robots: bool = True,
) -> Response | NotModified:
    """GET a search/API URL, honouring robots.txt; a robots refusal is "blocked", not "failed"."""
    try:
        return client.get(
            url,
            etag=etag,
            last_modified=last_modified,
            headers=headers,
            respect_robots=respect_robots,
        )
    except FetchRefused as exc:
        if getattr(exc, "rule", "") != "robots":
            raise
        host = urlsplit(url).hostname or url
        raise SourceUnavailable(
            "blocked",
            f"robots.txt on {host} does not allow automated access to this search",
            advice=f"{host} asks crawlers not to use this address. Remove or disable this source, "
            "or ask the site for permission or an official API.",
        ) from None


# --- decoding ---------------------------------------------------------------------------------


def decode_json(data: bytes, what: str) -> Any:
    """The JSON document, or FeedParseError with one line saying what came back instead."""
    stripped = data.strip()
    if not stripped:
        raise FeedParseError(f"{what} answered with an empty body instead of JSON")
    head = stripped[:1]
    if head == b"<":
        raise FeedParseError(
            f"{what} answered with an HTML page instead of JSON "
            "(an error, login or rate-limit page)"
        )
    if head not in (b"{", b"["):
        line = stripped.decode("utf-8", "replace").splitlines()[0][:200]
        raise FeedParseError(f"{what} answered with text instead of JSON: {line}")
    # strict=False: some APIs (GDELT) let raw control characters into titles. The loader bounds
    # nesting and markup, so a hostile answer is a one-line error for this source only.
    return load_json(stripped, what, strict=False)


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time ('Z', offsets, fractions, or naive meaning UTC) as aware UTC, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python < 3.12 accepts only 3 or 6 fraction digits: normalise to 6.
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", text)
    if m:
        text = f"{m.group(1)}.{(m.group(2) + '000000')[:6]}{m.group(3)}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def headline(text: str, limit: int = 120) -> str:
    """A title for a post that has none: its first words, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


# --- cursor -----------------------------------------------------------------------------------


def load_cursor(text: str | None) -> dict[str, Any]:
    """The collector's cursor document; a missing or unreadable one starts afresh (never fails)."""
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def dump_cursor(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def str_map(value: object) -> dict[str, str]:
    """A {str: str} mapping read from a cursor, dropping anything else."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def remember(seen: Sequence[str], new: Iterable[str], limit: int = SEEN_LIMIT) -> list[str]:
    """Append `new` ids to `seen` (oldest first), keeping only the last `limit`."""
    out = [s for s in seen if isinstance(s, str)]
    known = set(out)
    for n in new:
        if n not in known:
            out.append(n)
            known.add(n)
    return out[-limit:]
