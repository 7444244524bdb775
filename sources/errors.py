"""The errors a source raises: one tree, so that the runner catches `SourceError` once.

Every error has `reason` (one line an IT person understands), a machine-readable `kind` (a
stable word, one per class) and `retry_after` (seconds the other side asked us to wait, or None).
httpx's own errors never leave sources/http.py: they are mapped onto this tree there.

    SourceError                     kind: error
    ├── FetchError                  (the fetch failed; `url`)            error
    │   ├── FetchRefused            (we refused: scheme, address, robots) refused
    │   ├── RobotsUnreadable        (robots.txt of an API site unread)    robots
    │   ├── FetchTimeout            (the total deadline passed)           timeout
    │   ├── ResponseTooLarge        (the body passed the size cap)        too_large
    │   ├── TooManyRedirects        (redirect limit, or a loop)           redirects
    │   ├── ConnectFailed           (DNS, connection or TLS)              connect
    │   └── HTTPStatusError         (an error status; `status`)           status
    ├── FeedParseError              (the body is no feed or JSON we read) parse
    └── SourceUnavailable           (a person must act; `status`, `advice`) unavailable

A `FetchError` or `FeedParseError` is transient: the runner backs off and tries again. A
`SourceUnavailable` is not: it is recorded once with its advice and rechecked much later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


class SourceError(Exception):
    """The root: anything a source can fail with that is not a bug in the collector."""

    KIND: ClassVar[str] = "error"
    reason: str
    kind: str
    retry_after: float | None = None

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.kind = self.KIND

    def __str__(self) -> str:
        return self.reason


@dataclass
class FetchError(SourceError):
    """A fetch failed. `reason` is one line an IT person understands; `kind` is a stable word
    (refused, robots, timeout, too_large, redirects, connect, status, error)."""

    reason: str
    url: str = ""
    retry_after: float | None = None  # seconds the server asked us to wait, if it did
    kind: str = field(default="error", init=False)
    KIND: ClassVar[str] = "error"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.reason)
        self.kind = self.KIND

    def __str__(self) -> str:
        return self.reason


@dataclass
class FetchRefused(FetchError):
    """We refused to fetch (scheme, address, robots.txt). The server was not contacted.

    `rule` says which check refused: scheme, userinfo, syntax, ip-spelling, port, robots, or an
    address category (loopback, private, link-local, shared, unspecified, multicast, reserved).
    """

    rule: str = ""
    KIND: ClassVar[str] = "refused"


class RobotsUnreadable(FetchError):
    """robots.txt of a search/API site could not be read; nothing else was fetched. Transient."""

    KIND: ClassVar[str] = "robots"


class FetchTimeout(FetchError):
    """The total deadline passed."""

    KIND: ClassVar[str] = "timeout"


class ResponseTooLarge(FetchError):
    """The body (after decompression) passed the size cap."""

    KIND: ClassVar[str] = "too_large"


class TooManyRedirects(FetchError):
    """Redirect limit reached, or a redirect loop."""

    KIND: ClassVar[str] = "redirects"


class ConnectFailed(FetchError):
    """DNS, connection or TLS failure."""

    KIND: ClassVar[str] = "connect"


@dataclass
class HTTPStatusError(FetchError):
    status: int = 0
    KIND: ClassVar[str] = "status"


class FeedParseError(SourceError):
    """The body is not a feed or document we can read (a JSON answer included). The message is
    one line for an IT person."""

    KIND: ClassVar[str] = "parse"


class SourceUnavailable(SourceError):
    """The source cannot be read until a person acts (credentials missing, access blocked).

    The runner records it once with `advice` and waits long before trying again: it is not
    an error loop.
    """

    KIND: ClassVar[str] = "unavailable"

    def __init__(self, status: str, reason: str, advice: str = "") -> None:
        super().__init__(reason)
        self.status = status  # "needs_credentials" | "blocked" | "disabled"
        self.advice = advice
