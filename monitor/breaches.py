"""The breach log (UK GDPR Art. 33(5)), the pure part: the 72-hour clock of an incident, the entry
the DPO's page and the export show (the incident, its decision in force and the history), the
CSV/JSON export, and when the reminder to decide is due. No I/O: the decisions are stored by
monitor/store/breaches.py, the reminder is queued by alerts/breaches.py.

The clock starts when the mention was first seen (when the academy could know), as the incident
itself records (`opened_at`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.store.breaches import BreachDecision, IncidentFacts, TimelineEntry

ICO_WINDOW = timedelta(hours=72)
REMIND_BEFORE = timedelta(hours=24)


@dataclass(frozen=True)
class BreachClock:
    first_seen: datetime
    deadline: datetime
    remaining: timedelta  # negative once overdue
    overdue: bool


def breach_clock(first_seen: datetime, now: datetime) -> BreachClock:
    """The 72-hour clock of an incident first seen at `first_seen`, read at `now`."""
    deadline = first_seen + ICO_WINDOW
    remaining = deadline - now
    return BreachClock(first_seen, deadline, remaining, remaining < timedelta(0))


def remaining_words(clock: BreachClock) -> str:
    """E.g. '41 h 5 min left' or 'overdue by 3 h 0 min'."""
    left = abs(clock.remaining)
    hours, rest = divmod(int(left.total_seconds()), 3600)
    text = f"{hours} h {rest // 60} min"
    return f"overdue by {text}" if clock.overdue else f"{text} left"


def reminder_due(first_seen: datetime, decided: bool, now: datetime) -> bool:
    """Whether the DPO should be reminded now: no decision, and within the last 24 hours before
    the deadline (not after it: an overdue incident is shown as overdue, not mailed again)."""
    deadline = first_seen + ICO_WINDOW
    return not decided and deadline - REMIND_BEFORE <= now < deadline


@dataclass(frozen=True)
class BreachEntry:
    """One incident in the breach log: its clock, the decision in force, and every decision."""

    incident: IncidentFacts
    clock: BreachClock
    decision: BreachDecision | None  # the latest; None while undecided
    history: tuple[BreachDecision, ...]  # oldest first, the latest included


def entries(
    incidents: Sequence[IncidentFacts], decisions: Sequence[BreachDecision], now: datetime
) -> list[BreachEntry]:
    """The breach log: each incident with its clock and decisions (decisions oldest first in)."""
    by_incident: dict[str, list[BreachDecision]] = {}
    for d in sorted(decisions, key=lambda d: (d.decided_at, d.id or 0)):
        by_incident.setdefault(d.incident_id, []).append(d)
    out = []
    for inc in incidents:
        history = tuple(by_incident.get(inc.id, ()))
        out.append(
            BreachEntry(
                inc, breach_clock(inc.opened_at, now), history[-1] if history else None, history
            )
        )
    return out


def parse_timeline(items: Sequence[str]) -> tuple[TimelineEntry, ...]:
    """Timeline entries written as 'ISO-TIME=what happened' (the CLI's form); ValueError with a
    one-line reason otherwise. Times must carry a zone (e.g. 2026-11-28T09:00+00:00)."""
    out = []
    for item in items:
        when, sep, what = item.partition("=")
        if not sep or not what.strip():
            raise ValueError(f"timeline entry {item!r}: write it as TIME=what happened")
        try:
            at = datetime.fromisoformat(when.strip())
        except ValueError:
            raise ValueError(f"timeline entry {item!r}: {when!r} is not an ISO date-time") from None
        if at.tzinfo is None:
            raise ValueError(f"timeline entry {item!r}: give the time zone (e.g. +00:00)")
        out.append(TimelineEntry(at, what.strip()))
    return tuple(sorted(out, key=lambda e: e.at))


# --- export -------------------------------------------------------------------------------------

CSV_FIELDS = [
    "incident",
    "academy",
    "categories",
    "first_seen",
    "deadline",
    "overdue",
    "decision",
    "reasoning",
    "people_told",
    "timeline",
    "decided_by",
    "decided_at",
    "decisions",
]


def _decision_doc(d: BreachDecision) -> dict[str, Any]:
    return {
        "report_to_ico": d.report_to_ico,
        "reasoning": d.reasoning,
        "people_told": list(d.people_told),
        "timeline": [{"at": e.at.isoformat(), "what": e.what} for e in d.timeline],
        "decided_by": d.decided_by,
        "decided_at": d.decided_at.isoformat(),
    }


def entry_doc(e: BreachEntry) -> dict[str, Any]:
    """One entry as a JSON-ready mapping (the whole decision history included)."""
    return {
        "incident": e.incident.id,
        "academy": e.incident.academy_id,
        "mention_id": e.incident.mention_id,
        "categories": list(e.incident.categories),
        "first_seen": e.clock.first_seen.isoformat(),
        "deadline": e.clock.deadline.isoformat(),
        "overdue": e.clock.overdue and e.decision is None,
        "decision": _decision_doc(e.decision) if e.decision else None,
        "history": [_decision_doc(d) for d in e.history],
    }


def export_json(log: Sequence[BreachEntry]) -> str:
    return json.dumps([entry_doc(e) for e in log], ensure_ascii=False, indent=2) + "\n"


def _cell(text: str) -> str:
    """A free-text cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _decision_word(d: BreachDecision | None) -> str:
    if d is None:
        return "undecided"
    return "report to ICO" if d.report_to_ico else "not reported"


def export_csv(log: Sequence[BreachEntry]) -> str:
    """One row per incident with the decision in force; `decisions` counts the history."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for e in log:
        d = e.decision
        writer.writerow(
            {
                "incident": e.incident.id,
                "academy": e.incident.academy_id,
                "categories": " ".join(e.incident.categories),
                "first_seen": e.clock.first_seen.isoformat(),
                "deadline": e.clock.deadline.isoformat(),
                "overdue": "yes" if e.clock.overdue and d is None else "no",
                "decision": _decision_word(d),
                "reasoning": _cell(d.reasoning) if d else "",
                "people_told": _cell("; ".join(d.people_told)) if d else "",
                "timeline": "; ".join(f"{t.at.isoformat()} {t.what}" for t in d.timeline)
                if d
                else "",
                "decided_by": _cell(d.decided_by) if d else "",
                "decided_at": d.decided_at.isoformat() if d else "",
                "decisions": len(e.history),
            }
        )
    return buf.getvalue()


__all__ = [
    "BreachClock",
    "BreachEntry",
    "breach_clock",
    "entries",
    "entry_doc",
    "export_csv",
    "export_json",
    "parse_timeline",
    "remaining_words",
    "reminder_due",
]
