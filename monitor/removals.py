"""Removal tracking (policy 11.2), the pure part: what one re-check of a URL means, how a request's
status moves, and when it is checked next. No I/O: monitor/removal_checks.py fetches through the
guarded client and stores through monitor/store/removals.py.

- A check is "gone" when the server answers 404 or 410, or when the page no longer carries the
  mention's distinctive text (compared as normalised word runs, so a page that only changed its
  navigation, adverts or footer still counts as "present"). Any other failure is "error", which
  changes nothing.
- A request is "removed" only after two "gone" checks at least 24 hours apart; a "present" in
  between sends it back to "open" (the content reappeared, or the first "gone" was a blip).
- Requests are re-checked every 12 hours, jittered, so many requests on one host do not line up;
  the guarded client adds its per-host gap and robots.txt on top.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

CHECK_INTERVAL = timedelta(hours=12)
JITTER = 0.1  # +/- 10 % of the interval
CONFIRM_AFTER = timedelta(hours=24)  # the second "gone" must be at least this long after the first
STILL_OPEN_AFTER = timedelta(days=7)  # open this long: listed in the digest
SHINGLE_WORDS = 6  # word runs compared between the mention and the page
PRESENT_SHARE = 0.5  # at least this share of the mention's word runs on the page: present
GONE_STATUSES = frozenset({404, 410})


class RemovalKind(StrEnum):
    REPORTED_TO_PLATFORM = "reported_to_platform"
    REQUESTED_FROM_POSTER = "requested_from_poster"


class RemovalStatus(StrEnum):
    OPEN = "open"
    GONE_ONCE = "gone_once"
    REMOVED = "removed"


class Outcome(StrEnum):
    GONE = "gone"
    PRESENT = "present"
    ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    """What one check found: the outcome, the HTTP status (None when no answer came) and why."""

    outcome: Outcome
    http_status: int | None
    detail: str


@dataclass(frozen=True)
class Progress:
    """A request's state after a check."""

    status: RemovalStatus
    first_gone_at: datetime | None
    removed_at: datetime | None


# --- text comparison ----------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> list[str]:
    """The words of `text`: Unicode-normalised (NFKC), case-folded, punctuation dropped."""
    return [w for w in _NON_WORD.split(unicodedata.normalize("NFKC", text).casefold()) if w]


def _shingles(words: list[str], n: int) -> set[tuple[str, ...]]:
    if len(words) <= n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def text_share_on_page(mention_text: str, page_text: str) -> float:
    """The share (0..1) of the mention's word runs that the page still carries."""
    mine = normalise(mention_text)
    n = min(SHINGLE_WORDS, len(mine))
    wanted = _shingles(mine, n)
    if not wanted:
        return 1.0  # nothing distinctive to look for: only the status can say "gone"
    have = _shingles(normalise(page_text), n)
    return len(wanted & have) / len(wanted)


def judge_page(status: int, page_text: str, mention_text: str) -> CheckResult:
    """A page that answered: present when most of the mention's text is still on it."""
    share = text_share_on_page(mention_text, page_text)
    if share >= PRESENT_SHARE:
        return CheckResult(Outcome.PRESENT, status, f"{share:.0%} of the text is on the page")
    return CheckResult(
        Outcome.GONE, status, f"the text is no longer on the page ({share:.0%} of it found)"
    )


def judge_status(status: int) -> CheckResult:
    """An error status: 404/410 say the content is gone; anything else says nothing."""
    if status in GONE_STATUSES:
        return CheckResult(Outcome.GONE, status, f"the server answered HTTP {status}")
    return CheckResult(Outcome.ERROR, status, f"the server answered HTTP {status}")


# --- status and schedule -----------------------------------------------------------------------


def advance(
    status: RemovalStatus,
    first_gone_at: datetime | None,
    removed_at: datetime | None,
    result: CheckResult,
    at: datetime,
) -> Progress:
    """The request's state after `result` (checked at `at`)."""
    if result.outcome is Outcome.ERROR or status is RemovalStatus.REMOVED:
        return Progress(status, first_gone_at, removed_at)
    if result.outcome is Outcome.PRESENT:
        return Progress(RemovalStatus.OPEN, None, None)
    if status is RemovalStatus.OPEN or first_gone_at is None:
        return Progress(RemovalStatus.GONE_ONCE, at, None)
    if at - first_gone_at >= CONFIRM_AFTER:
        return Progress(RemovalStatus.REMOVED, first_gone_at, at)
    return Progress(RemovalStatus.GONE_ONCE, first_gone_at, None)


def next_check_at(progress: Progress, at: datetime, u: float) -> datetime | None:
    """When to check again; `u` in [0, 1) picks the jitter. None once removed (no more checks).

    After a first "gone", the next check is no earlier than the 24 hours that can confirm it."""
    if progress.status is RemovalStatus.REMOVED:
        return None
    nxt = at + CHECK_INTERVAL * (1 + JITTER * (2 * u - 1))
    if progress.status is RemovalStatus.GONE_ONCE and progress.first_gone_at is not None:
        nxt = max(nxt, progress.first_gone_at + CONFIRM_AFTER + timedelta(minutes=1))
    return nxt


def still_open(status: str, reported_at: datetime, now: datetime) -> bool:
    """Whether a request belongs in the digest's "Removal requests still open" section."""
    return status != RemovalStatus.REMOVED and now - reported_at > STILL_OPEN_AFTER


__all__ = [
    "CheckResult",
    "Outcome",
    "Progress",
    "RemovalKind",
    "RemovalStatus",
    "advance",
    "judge_page",
    "judge_status",
    "next_check_at",
    "normalise",
    "still_open",
    "text_share_on_page",
]
