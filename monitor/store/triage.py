"""Triage records: a mention's status (mentions.triage) and owner, its append-only timeline
(mention_events), corrected categories (assessments.corrected_categories), and the academy's
author/thread mutes.

`apply` runs one command of monitor/triage.py against the stored state, in the caller's
transaction: the pure `decide` says what changes, this module writes it. Mutes only label
mentions in the inbox (`muted`); the alert path never reads them, by design (monitor/triage.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.authors import author_key
from monitor.store.schema import AssessmentRecord, MentionEventRecord, MentionRecord, MuteRecord
from monitor.triage import (
    Command,
    CorrectCategories,
    EventKind,
    MarkNotAboutUs,
    Mute,
    MuteKind,
    Status,
    TriageError,
    TriageState,
    decide,
)


class NoSuchMention(TriageError):
    """No stored mention has this id."""


@dataclass(frozen=True)
class TimelineEvent:
    id: int
    mention_id: int
    at: datetime
    actor: str
    kind: EventKind
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TriageResult:
    """The mention's triage after a command, and the event it appended."""

    mention_id: int
    academy_id: str
    state: TriageState
    event: TimelineEvent


@dataclass(frozen=True)
class MuteRow:
    academy_id: str
    kind: MuteKind
    key: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Mutes:
    """One set of muted keys per academy, to label inbox rows without a query per row."""

    authors: frozenset[tuple[str, str]]  # (academy, author_key)
    threads: frozenset[tuple[str, str]]  # (academy, cluster id)

    def covers(self, academy_id: str, author: str | None, cluster_id: str) -> bool:
        if (academy_id, cluster_id) in self.threads:
            return True
        return bool(author) and (academy_id, author_key(author or "")) in self.authors


def apply(
    session: Session, mention_id: int, command: Command, actor: str, at: datetime
) -> TriageResult:
    """Apply one triage command; TriageError (NoSuchMention) when it cannot be, and then
    nothing is written."""
    # FOR UPDATE on PostgreSQL: two people acting at once apply one after the other (SQLite's
    # BEGIN IMMEDIATE already serialises writers).
    rec = session.scalars(
        select(MentionRecord).where(MentionRecord.id == mention_id).with_for_update()
    ).first()
    if rec is None:
        raise NoSuchMention(f"no mention with id {mention_id}")
    if isinstance(command, CorrectCategories) and session.get(AssessmentRecord, rec.id) is None:
        raise TriageError(f"mention {mention_id} is not scored yet: no categories to correct")
    decision = decide(TriageState(Status(rec.triage), rec.owner), command, actor, at)
    rec.triage = decision.state.status.value
    rec.owner = decision.state.owner
    if decision.corrected_categories is not None:
        assessment = session.get(AssessmentRecord, rec.id)
        # An unscored mention marked "not about us" has no assessment to correct: the event
        # (and, in phase 2, the labelled example) still records it.
        if assessment is not None:
            assessment.corrected_categories = list(decision.corrected_categories)
    if decision.mute is not None:
        _add_mute(session, rec.organisation, decision.mute, decision.event.actor, at)
    if decision.unmute is not None and not _remove_mute(session, rec.organisation, decision.unmute):
        raise TriageError(
            f"no {decision.unmute.kind.value} {decision.unmute.key!r} is muted in {rec.organisation}"
        )
    event = MentionEventRecord(
        mention_id=rec.id,
        at=at,
        actor=decision.event.actor,
        kind=decision.event.kind.value,
        detail=json.dumps(decision.event.detail, ensure_ascii=False, sort_keys=True),
    )
    session.add(event)
    session.flush()
    return TriageResult(rec.id, rec.organisation, decision.state, _event(event))


def correct(
    session: Session,
    mention_id: int,
    command: MarkNotAboutUs | CorrectCategories,
    actor: str,
    at: datetime,
) -> TriageResult:
    """ "Not about us" or "wrong categories": the one call the mention page makes. Records the
    triage event and the mention's corrected categories."""
    result = apply(session, mention_id, command, actor, at)
    # The labelled example for retraining is stored by the caller, in this same transaction,
    # through monitor.corrections.record_correction (domain checks live there, not in SQL).
    return result


def _add_mute(session: Session, academy_id: str, mute: Mute, by: str, at: datetime) -> None:
    try:
        with session.begin_nested():
            session.add(
                MuteRecord(academy_id=academy_id, kind=mute.kind.value, key=mute.key, by=by, at=at)
            )
            session.flush()
    except IntegrityError:
        raise TriageError(
            f"{mute.kind.value} {mute.key!r} is already muted in {academy_id}"
        ) from None


def _remove_mute(session: Session, academy_id: str, mute: Mute) -> bool:
    gone = session.execute(
        delete(MuteRecord).where(
            MuteRecord.academy_id == academy_id,
            MuteRecord.kind == mute.kind.value,
            MuteRecord.key == mute.key,
        )
    )
    return bool(getattr(gone, "rowcount", 0))


def _event(r: MentionEventRecord) -> TimelineEvent:
    return TimelineEvent(r.id, r.mention_id, r.at, r.actor, EventKind(r.kind), json.loads(r.detail))


def timeline(session: Session, mention_id: int) -> list[TimelineEvent]:
    """Everything done to a mention, oldest first (in the order it was written)."""
    q = (
        select(MentionEventRecord)
        .where(MentionEventRecord.mention_id == mention_id)
        .order_by(MentionEventRecord.id)
    )
    return [_event(r) for r in session.scalars(q)]


def list_mutes(session: Session, academies: Sequence[str]) -> list[MuteRow]:
    q = (
        select(MuteRecord)
        .where(MuteRecord.academy_id.in_(list(academies)))
        .order_by(MuteRecord.academy_id, MuteRecord.kind, MuteRecord.key)
    )
    return [MuteRow(r.academy_id, MuteKind(r.kind), r.key, r.by, r.at) for r in session.scalars(q)]


def mutes_for(session: Session, academies: Iterable[str]) -> Mutes:
    rows = list_mutes(session, sorted(set(academies)))
    return Mutes(
        authors=frozenset((m.academy_id, m.key) for m in rows if m.kind is MuteKind.AUTHOR),
        threads=frozenset((m.academy_id, m.key) for m in rows if m.kind is MuteKind.THREAD),
    )
