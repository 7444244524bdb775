"""The breach log with the store: the typed functions the DPO's page and the `breaches` command
call. Reading builds the entries of monitor/breaches.py (the 72-hour clock, the decision in
force, the history); deciding appends a decision (monitor/store/breaches.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.breaches import BreachEntry, entries
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.breaches import BreachDecision, TimelineEntry, UnknownIncident


def breach_log(
    store: Store,
    now: datetime,
    *,
    academy: str | None = None,
    since: datetime | None = None,
    incident_id: str | None = None,
) -> list[BreachEntry]:
    """Every incident (newest first), each with its clock read at `now` and its decisions."""
    incidents = store.breach_incidents(
        academy=academy, opened_since=since, ids=[incident_id] if incident_id else None
    )
    decisions = store.breach_decisions([i.id for i in incidents]) if incidents else []
    return entries(incidents, decisions, now)


def record_decision(
    store: Store,
    incident_id: str,
    *,
    report_to_ico: bool,
    reasoning: str,
    people_told: Sequence[str],
    timeline: Sequence[TimelineEntry],
    decided_by: str,
    now: datetime,
    actor: str | None = None,
    client: str = "",
) -> BreachDecision:
    """Append the DPO's decision on an incident (it supersedes any earlier one, which is kept).
    ValueError with a one-line reason for an unknown incident or a missing reasoning. With
    `actor` ("user:…", "cli:…") the decision is written to the audit log ("breach.decision")."""
    if not reasoning.strip():
        raise ValueError("give the reasoning for the decision")
    if "@" not in decided_by:
        raise ValueError("give the email address of who decided")
    decision = BreachDecision(
        incident_id=incident_id,
        report_to_ico=report_to_ico,
        reasoning=reasoning.strip(),
        people_told=tuple(p.strip() for p in people_told if p.strip()),
        timeline=tuple(sorted(timeline, key=lambda e: e.at)),
        decided_by=decided_by.strip().lower(),
        decided_at=now,
    )
    try:
        stored = store.add_breach_decision(decision)
    except UnknownIncident:
        raise ValueError(f"no incident {incident_id}") from None
    if actor is not None:
        found = store.breach_incidents(ids=[incident_id])
        store.audit(
            AuditEntry(
                now,
                actor,
                "breach.decision",
                academy_id=found[0].academy_id if found else "",
                target=f"incident:{incident_id}",
                detail="report to ICO" if report_to_ico else "not reported to ICO",
                client=client,
            )
        )
    return stored


__all__ = ["breach_log", "record_decision"]
