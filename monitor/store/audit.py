"""The audit log's rows: append and read, nothing else.

Nothing in the program updates or deletes an audit row: this module has no such function, `Tx`
and `Store` offer only `audit` (append) and `audit_entries` (read), and the migration adds
database triggers that refuse an UPDATE or DELETE on `audit_log` from anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import AuditRecord


@dataclass(frozen=True)
class AuditEntry:
    """One thing done: who (`actor`: "user:<email>", "cli:<os user>", "system"), what (`action`,
    e.g. "signin", "reveal", "role.grant"), on which academy and target ("mention:12"), with a
    one-line detail and where from (`client`: an IP address, or "cli")."""

    at: datetime
    actor: str
    action: str
    academy_id: str = ""
    target: str = ""
    detail: str = ""
    client: str = ""


@dataclass(frozen=True)
class AuditRow:
    id: int
    entry: AuditEntry


def append(session: Session, entry: AuditEntry) -> int:
    rec = AuditRecord(
        at=entry.at,
        actor=entry.actor[:400],
        action=entry.action[:60],
        academy_id=entry.academy_id[:64],
        target=entry.target[:400],
        detail=entry.detail,
        client=entry.client[:200],
    )
    session.add(rec)
    session.flush()
    return int(rec.id)


def read(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[AuditRow]:
    """Oldest first. `until` is exclusive; `action` matches exactly or as a prefix ("role")."""
    q = select(AuditRecord).order_by(AuditRecord.at, AuditRecord.id)
    if since is not None:
        q = q.where(AuditRecord.at >= since)
    if until is not None:
        q = q.where(AuditRecord.at < until)
    if actor:
        q = q.where(AuditRecord.actor == actor)
    if action:
        q = q.where((AuditRecord.action == action) | AuditRecord.action.startswith(action + "."))
    if limit is not None:
        q = q.limit(limit)
    return [
        AuditRow(
            r.id,
            AuditEntry(r.at, r.actor, r.action, r.academy_id, r.target, r.detail, r.client),
        )
        for r in session.scalars(q)
    ]
