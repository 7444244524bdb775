"""The inbox: one page of the viewer's academies' mentions, filtered, newest and most serious
first, with counts per status; and one mention's detail (copies, assessment, timeline).

Order: urgent before digest before not yet scored, then first seen newest first, then id
(highest first), which makes the order total. Pages are keyset pages: the cursor is the last
row's (rank, first_seen, id), so mentions arriving between two pages (newer, hence earlier in
the order) neither repeat a row nor push one out of the next page. The cursor is opaque to
callers (URL-safe base64 of JSON) and checked when read.

Access is the caller's: `InboxQuery.academies` must be the viewer's academies, and a page shows
`MentionDetail.mention.organisation` only to a viewer who may read it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from monitor.models import CATEGORIES, Assessment, Mention, Severity
from monitor.store.mentions import _mention, assessment_from_record
from monitor.store.schema import AssessmentRecord, MentionRecord, SourceRecord
from monitor.store.triage import TimelineEvent, mutes_for, timeline
from monitor.triage import Status

MAX_PAGE = 100
SEARCH_MAX = 200  # characters of a text search
_CURSOR_VERSION = 1
_Ts = TypeVarTuple("_Ts")


class InboxError(ValueError):
    """A query the inbox cannot run (bad cursor, too long a search…); one line for a person."""


@dataclass(frozen=True)
class InboxQuery:
    academies: tuple[str, ...]  # the viewer's: mandatory
    category: str | None = None
    urgent_only: bool = False
    status: Status | None = None
    source_key: str | None = None
    source_kind: str | None = None
    seen_from: datetime | None = None  # first_seen >= seen_from
    seen_until: datetime | None = None  # first_seen < seen_until
    search: str | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class InboxRow:
    id: int
    academy: str
    title: str
    source: str
    author: str | None
    first_seen: datetime
    published: datetime | None
    severity: Severity | None  # None: not scored yet
    categories: tuple[str, ...]  # the corrected ones when a person corrected them
    status: Status
    owner: str | None
    muted: bool
    cluster_size: int


@dataclass(frozen=True)
class InboxPage:
    rows: tuple[InboxRow, ...]
    next_cursor: str | None  # None: this is the last page
    counts: dict[Status, int]  # per status, for the same filters (status filter aside)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Copy:
    """Another mention of the same story (cluster) in the same academy."""

    id: int
    source: str
    title: str
    url: str | None
    first_seen: datetime


@dataclass(frozen=True)
class MentionDetail:
    mention: Mention
    assessment: Assessment | None  # categories corrected where a person corrected them
    scored_categories: tuple[str, ...]  # what the scorer said, before any correction
    status: Status
    owner: str | None
    muted: bool
    copies: tuple[Copy, ...]
    events: tuple[TimelineEvent, ...]


# --- the order and the cursor -----------------------------------------------------------------

severity_rank = case(
    (AssessmentRecord.severity == Severity.URGENT.value, 0),
    (AssessmentRecord.severity == Severity.DIGEST.value, 1),
    else_=2,
)


def encode_cursor(rank: int, first_seen: datetime, mention_id: int) -> str:
    doc = [_CURSOR_VERSION, rank, first_seen.isoformat(), mention_id]
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, rank, seen, mention_id = json.loads(raw)
        at = datetime.fromisoformat(seen)
        if version != _CURSOR_VERSION or at.tzinfo is None:
            raise ValueError
        return int(rank), at, int(mention_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InboxError("the page cursor is not valid (start again from the first page)") from None


# --- filters ----------------------------------------------------------------------------------


def _effective_categories() -> ColumnElement[str]:
    """The categories as JSON text: the person's correction when there is one. A stored Python
    None may be SQL NULL or JSON 'null' depending on how the row was written: both mean none."""
    corrected = cast(AssessmentRecord.corrected_categories, Text)
    return case(
        (or_(corrected.is_(None), corrected == "null"), cast(AssessmentRecord.categories, Text)),
        else_=corrected,
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(q: InboxQuery) -> list[ColumnElement[bool]]:
    if not q.academies:
        raise InboxError("no academy to show: the viewer has no academy")
    conds: list[ColumnElement[bool]] = [MentionRecord.organisation.in_(list(q.academies))]
    if q.category is not None:
        if q.category not in CATEGORIES:
            raise InboxError(
                f"unknown category {q.category[:40]!r}; one of {', '.join(CATEGORIES)}"
            )
        conds.append(_effective_categories().like(f'%"{_like_escape(q.category)}"%', escape="\\"))
    if q.urgent_only:
        conds.append(AssessmentRecord.severity == Severity.URGENT.value)
    if q.source_key is not None:
        conds.append(MentionRecord.source_key == q.source_key)
    if q.source_kind is not None:
        conds.append(
            MentionRecord.source_key.in_(
                select(SourceRecord.key).where(SourceRecord.kind == q.source_kind)
            )
        )
    if q.seen_from is not None:
        conds.append(MentionRecord.first_seen_at >= q.seen_from)
    if q.seen_until is not None:
        conds.append(MentionRecord.first_seen_at < q.seen_until)
    if q.search is not None and q.search.strip():
        needle = q.search.strip()
        if len(needle) > SEARCH_MAX:
            raise InboxError(f"the search is longer than {SEARCH_MAX} characters")
        # ILIKE on PostgreSQL, lower() LIKE lower() elsewhere (SQLAlchemy renders ilike so).
        pattern = f"%{_like_escape(needle)}%"
        conds.append(
            or_(
                MentionRecord.title.ilike(pattern, escape="\\"),
                MentionRecord.text.ilike(pattern, escape="\\"),
            )
        )
    return conds


def _after(cursor: str) -> ColumnElement[bool]:
    rank, seen, mention_id = decode_cursor(cursor)
    return or_(
        severity_rank > rank,
        and_(severity_rank == rank, MentionRecord.first_seen_at < seen),
        and_(
            severity_rank == rank,
            MentionRecord.first_seen_at == seen,
            MentionRecord.id < mention_id,
        ),
    )


def _base(columns: Select[*_Ts], q: InboxQuery) -> Select[*_Ts]:
    return columns.outerjoin(
        AssessmentRecord, AssessmentRecord.mention_id == MentionRecord.id
    ).where(*_filters(q))


# --- queries ----------------------------------------------------------------------------------


def inbox(session: Session, q: InboxQuery) -> InboxPage:
    """One page of the inbox and the counts per status (see the module docstring)."""
    if not 1 <= q.limit <= MAX_PAGE:
        raise InboxError(f"a page holds 1 to {MAX_PAGE} mentions, not {q.limit}")
    rows_q = _base(
        select(
            MentionRecord.id,
            MentionRecord.organisation,
            MentionRecord.title,
            MentionRecord.source_key,
            MentionRecord.author,
            MentionRecord.first_seen_at,
            MentionRecord.published_at,
            MentionRecord.cluster_id,
            MentionRecord.triage,
            MentionRecord.owner,
            AssessmentRecord.severity,
            AssessmentRecord.categories,
            AssessmentRecord.corrected_categories,
            severity_rank.label("rank"),
        ),
        q,
    )
    if q.status is not None:
        rows_q = rows_q.where(MentionRecord.triage == Status(q.status).value)
    if q.cursor:
        rows_q = rows_q.where(_after(q.cursor))
    rows_q = rows_q.order_by(
        severity_rank, MentionRecord.first_seen_at.desc(), MentionRecord.id.desc()
    ).limit(q.limit + 1)
    found = list(session.execute(rows_q))
    more = len(found) > q.limit
    found = found[: q.limit]

    sizes = _cluster_sizes(session, {(r.organisation, r.cluster_id) for r in found})
    mutes = mutes_for(session, {r.organisation for r in found})
    rows = tuple(
        InboxRow(
            id=r.id,
            academy=r.organisation,
            title=r.title,
            source=r.source_key,
            author=r.author,
            first_seen=r.first_seen_at,
            published=r.published_at,
            severity=Severity(r.severity) if r.severity else None,
            categories=tuple(
                r.corrected_categories
                if r.corrected_categories is not None
                else (r.categories or ())
            ),
            status=Status(r.triage),
            owner=r.owner,
            muted=mutes.covers(r.organisation, r.author, r.cluster_id),
            cluster_size=sizes.get((r.organisation, r.cluster_id), 1),
        )
        for r in found
    )
    last = found[-1] if found else None
    next_cursor = encode_cursor(last.rank, last.first_seen_at, last.id) if more and last else None
    return InboxPage(rows, next_cursor, status_counts(session, q))


def status_counts(session: Session, q: InboxQuery) -> dict[Status, int]:
    """How many mentions each status holds under the query's filters (its status filter and
    cursor aside: they choose a tab and a page, not the set), in one GROUP BY."""
    counts = dict.fromkeys(Status, 0)
    stmt = _base(select(MentionRecord.triage, func.count()), q).group_by(MentionRecord.triage)
    for status, n in session.execute(stmt):
        counts[Status(status)] = int(n)
    return counts


def _cluster_sizes(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    stmt = (
        select(MentionRecord.organisation, MentionRecord.cluster_id, func.count())
        .where(
            MentionRecord.organisation.in_({a for a, _ in keys}),
            MentionRecord.cluster_id.in_({c for _, c in keys}),
        )
        .group_by(MentionRecord.organisation, MentionRecord.cluster_id)
    )
    return {(a, c): int(n) for a, c, n in session.execute(stmt)}


def mention_detail(session: Session, mention_id: int) -> MentionDetail | None:
    """Everything the mention page shows; None when there is no such mention."""
    rec = session.get(MentionRecord, mention_id)
    if rec is None:
        return None
    a = session.get(AssessmentRecord, mention_id)
    copies = session.scalars(
        select(MentionRecord)
        .where(
            MentionRecord.organisation == rec.organisation,
            MentionRecord.cluster_id == rec.cluster_id,
            MentionRecord.id != rec.id,
        )
        .order_by(MentionRecord.first_seen_at, MentionRecord.id)
    )
    mutes = mutes_for(session, [rec.organisation])
    return MentionDetail(
        mention=_mention(rec),
        assessment=assessment_from_record(a) if a else None,
        scored_categories=tuple(a.categories) if a else (),
        status=Status(rec.triage),
        owner=rec.owner,
        muted=mutes.covers(rec.organisation, rec.author, rec.cluster_id),
        copies=tuple(Copy(c.id, c.source_key, c.title, c.url, c.first_seen_at) for c in copies),
        events=tuple(timeline(session, rec.id)),
    )
