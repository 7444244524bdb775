"""The breach log's decisions (breach_decisions): what the DPO decided about each incident of
monitor/store/incidents.py. Appended only, never updated: the latest decision of an incident is
the one in force, the earlier ones are its history. SQL only; the clock and the export are
monitor/breaches.py. Functions take the caller's session (the `Store` facade opens one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import BreachDecisionRecord, IncidentRecord


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str


@dataclass(frozen=True)
class BreachDecision:
    incident_id: str
    report_to_ico: bool
    reasoning: str
    people_told: tuple[str, ...]
    timeline: tuple[TimelineEntry, ...]
    decided_by: str
    decided_at: datetime
    id: int | None = None  # set once stored


@dataclass(frozen=True)
class IncidentFacts:
    """An incident as the breach log needs it (no mention text)."""

    id: str
    academy_id: str
    mention_id: int | None
    categories: tuple[str, ...]
    opened_at: datetime  # when the mention was first seen: the 72-hour clock starts here


class UnknownIncident(LookupError):
    pass


def _decision(r: BreachDecisionRecord) -> BreachDecision:
    return BreachDecision(
        incident_id=r.incident_id,
        report_to_ico=bool(r.report_to_ico),
        reasoning=r.reasoning,
        people_told=tuple(r.people_told or ()),
        timeline=tuple(
            TimelineEntry(datetime.fromisoformat(e["at"]), e["what"]) for e in r.timeline or ()
        ),
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        id=r.id,
    )


def add(session: Session, d: BreachDecision) -> BreachDecision:
    """Append a decision; UnknownIncident when the incident does not exist."""
    if session.get(IncidentRecord, d.incident_id) is None:
        raise UnknownIncident(d.incident_id)
    rec = BreachDecisionRecord(
        incident_id=d.incident_id,
        report_to_ico=d.report_to_ico,
        reasoning=d.reasoning,
        people_told=list(d.people_told),
        timeline=[{"at": e.at.isoformat(), "what": e.what} for e in d.timeline],
        decided_by=d.decided_by,
        decided_at=d.decided_at,
    )
    session.add(rec)
    session.flush()
    return _decision(rec)


def decisions(session: Session, incident_ids: Sequence[str] | None = None) -> list[BreachDecision]:
    """Decisions, oldest first (per incident, the last one is in force)."""
    q = select(BreachDecisionRecord).order_by(
        BreachDecisionRecord.decided_at, BreachDecisionRecord.id
    )
    if incident_ids is not None:
        q = q.where(BreachDecisionRecord.incident_id.in_(list(incident_ids)))
    return [_decision(r) for r in session.scalars(q)]


def decided_ids(session: Session, incident_ids: Sequence[str]) -> set[str]:
    """Which of these incidents have at least one decision."""
    q = select(BreachDecisionRecord.incident_id).where(
        BreachDecisionRecord.incident_id.in_(list(incident_ids))
    )
    return {str(i) for i in session.scalars(q)}


def incidents(
    session: Session,
    *,
    academy: str | None = None,
    opened_since: datetime | None = None,
    ids: Sequence[str] | None = None,
) -> list[IncidentFacts]:
    """Incidents, newest first."""
    q = select(IncidentRecord).order_by(IncidentRecord.opened_at.desc(), IncidentRecord.id.desc())
    if academy is not None:
        q = q.where(IncidentRecord.academy_id == academy)
    if opened_since is not None:
        q = q.where(IncidentRecord.opened_at >= opened_since)
    if ids is not None:
        q = q.where(IncidentRecord.id.in_(list(ids)))
    return [
        IncidentFacts(r.id, r.academy_id, r.mention_id, tuple(r.categories or ()), r.opened_at)
        for r in session.scalars(q)
    ]
