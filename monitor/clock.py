"""The clock: the one place that reads the wall clock.

Everything that needs the time takes a `Clock` (a function returning an aware UTC datetime), so that
tests and replays can run on any date. Commands get theirs from `App.now`; the service, the runner
and the web app take one as a parameter. Nothing else calls `datetime.now`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, timezone-aware UTC."""
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock that always reads `at` (tests, replays)."""
    if at.tzinfo is None:
        raise ValueError("a fixed clock needs a timezone-aware datetime")
    return lambda: at
