"""robots.txt for search and API endpoints: one parsed copy per origin, kept at most 24 hours.

Feeds a user subscribed to are not checked (the user chose that URL); collectors that query
search or API endpoints ask the guarded client to check. The fetch itself is the client's: this
module only decides what an answer means (RFC 9309) and remembers it.

- 2xx: the rules, parsed with protego.
- 4xx (and a refused or redirect-looping robots.txt): no robots.txt, everything is allowed.
- 5xx, 429, timeouts, unreachable: treat the whole site as disallowed, and ask again soon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

MAX_CACHE_SECONDS = 24 * 3600.0
UNREACHABLE_CACHE_SECONDS = 600.0  # a 503 on robots.txt should not block a day of searches
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB


@dataclass(frozen=True)
class RobotsAnswer:
    """What fetching /robots.txt gave: a status, or None when the site could not be reached."""

    status: int | None
    body: bytes = b""


@dataclass(frozen=True)
class RobotsRules:
    """One origin's verdict: parsed rules, or everything allowed / everything disallowed."""

    origin: str
    parser: Protego | None
    allow_all: bool
    expires: float
    note: str  # why, for the refusal message
    unreadable: bool = False  # robots.txt could not be read: a passing problem, not a "no"

    def allows(self, url: str, agent: str) -> bool:
        if self.parser is not None:
            return bool(self.parser.can_fetch(url, agent))
        return self.allow_all


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def interpret(origin: str, answer: RobotsAnswer, now: float, ttl: float) -> RobotsRules:
    """Pure: what a robots.txt answer means for the origin, and until when."""
    ttl = min(ttl, MAX_CACHE_SECONDS)
    status = answer.status
    if status is not None and 200 <= status < 300:
        text = answer.body.decode("utf-8", errors="replace")
        return RobotsRules(origin, Protego.parse(text), True, now + ttl, "robots.txt")
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsRules(origin, None, True, now + ttl, f"no robots.txt (HTTP {status})")
    why = f"HTTP {status}" if status is not None else "unreachable"
    return RobotsRules(
        origin,
        None,
        False,
        now + min(ttl, UNREACHABLE_CACHE_SECONDS),
        f"robots.txt could not be read ({why}), so the site is treated as disallowed",
        unreadable=True,
    )


class RobotsCache:
    """Thread-safe cache of RobotsRules per origin."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = min(ttl_seconds, MAX_CACHE_SECONDS)
        self._clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._lock = threading.Lock()

    def rules(self, url: str, fetch: Callable[[str], RobotsAnswer]) -> RobotsRules:
        """The rules for `url`'s origin, fetching robots.txt with `fetch` when none are fresh."""
        origin = origin_of(url)
        now = self._clock()
        with self._lock:
            cached = self._rules.get(origin)
        if cached is not None and cached.expires > now:
            return cached
        # Fetched outside the lock: two threads may both fetch once; neither blocks other hosts.
        rules = interpret(origin, fetch(robots_url(url)), self._clock(), self.ttl)
        with self._lock:
            self._rules[origin] = rules
        return rules
