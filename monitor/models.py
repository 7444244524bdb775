"""The typed values that cross module boundaries: RawItem -> Mention -> Assessment.

Pure data: no I/O, no library imports beyond the standard library. Datetimes are
timezone-aware UTC everywhere inside the program; Europe/London appears only at the
edges (schedules, emails, pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from monitor.values import RawItem, SourceState

__all__ = [
    "CATEGORIES",
    "RawItem",
    "SourceState",
    "Match",
    "Mention",
    "Severity",
    "Evidence",
    "Assessment",
]

# The policy taxonomy (../shared/DESIGN.md). Order matters: it is the display order.
CATEGORIES: tuple[str, ...] = (
    "reputation",
    "harassment",
    "data_leak",
    "pupil_image",
    "staff_conduct",
)


@dataclass(frozen=True)
class Match:
    """Why an item is about one academy: which name matched, and where."""

    organisation: str
    matched_name: str
    field: str  # "title" or "text"
    start: int
    end: int
    needed_context: bool = False
    context_word: str | None = None
    fuzzy_score: float = 100.0


@dataclass(frozen=True)
class Mention:
    """A matched, de-duplicated item as stored."""

    id: int
    organisation: str
    source_key: str
    external_id: str
    url: str | None
    canonical_url: str | None
    title: str
    text: str
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    has_media: bool
    fingerprint: str
    cluster_id: str
    matched_name: str


class Severity(StrEnum):
    URGENT = "urgent"
    DIGEST = "digest"


@dataclass(frozen=True)
class Evidence:
    """A span of the scored text (see `scoring_text`) that drove a category or a redaction."""

    start: int
    end: int
    kind: str  # e.g. "phone", "email", "postcode", "phrase", "child_name"
    category: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Assessment:
    """What the scorer says about one mention."""

    probabilities: dict[str, float]
    categories: tuple[str, ...]
    severity: Severity
    reason: str
    evidence: tuple[Evidence, ...] = ()
    model_version: str = ""
    truncated: bool = False

    @property
    def urgent(self) -> bool:
        return self.severity is Severity.URGENT


@dataclass(frozen=True)
class ScoringInput:
    """The parts of a mention the scorer reads."""

    title: str
    text: str
    has_media: bool = False
    fingerprint: str = ""


def scoring_text(title: str, text: str) -> str:
    """The one string the scorer sees; evidence spans index into it."""
    title = title.strip()
    text = text.strip()
    if title and text and not text.startswith(title):
        return f"{title}\n{text}"
    return text or title


@dataclass(frozen=True)
class CollectStats:
    """What one run of one source did, for the `collect` table and the logs."""

    source_key: str
    fetched: int = 0
    new: int = 0
    relevant: int = 0
    duplicates: int = 0
    not_modified: bool = False
    error: str | None = None
    attention: str | None = None  # needs a person (credentials, blocked): not an error loop
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
