"""The removal requests and their checks log (removals, removal_checks). SQL only: what a check
means and how a status moves is monitor/removals.py. Functions take the caller's session; the
`Store` facade (monitor/store/repository.py) opens one per call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import RemovalCheckRecord, RemovalRecord


@dataclass(frozen=True)
class NewRemoval:
    mention_id: int
    academy_id: str
    url: str
    kind: str  # reported_to_platform | requested_from_poster
    platform: str | None
    reference: str | None
    reported_at: datetime
    requested_by: str


@dataclass(frozen=True)
class RemovalRow:
    id: int
    mention_id: int
    academy_id: str
    url: str
    kind: str
    platform: str | None
    reference: str | None
    reported_at: datetime
    requested_by: str
    status: str  # open | gone_once | removed
    first_gone_at: datetime | None
    removed_at: datetime | None
    next_check_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class RemovalCheckRow:
    removal_id: int
    at: datetime
    http_status: int | None
    outcome: str  # gone | present | error
    detail: str


def _row(r: RemovalRecord) -> RemovalRow:
    return RemovalRow(
        r.id,
        r.mention_id,
        r.academy_id,
        r.url,
        r.kind,
        r.platform,
        r.reference,
        r.reported_at,
        r.requested_by,
        r.status,
        r.first_gone_at,
        r.removed_at,
        r.next_check_at,
        r.created_at,
    )


def add(session: Session, new: NewRemoval, now: datetime) -> RemovalRow:
    """A new open request, due for its first check now."""
    rec = RemovalRecord(
        mention_id=new.mention_id,
        academy_id=new.academy_id,
        url=new.url,
        kind=new.kind,
        platform=new.platform,
        reference=new.reference,
        reported_at=new.reported_at,
        requested_by=new.requested_by,
        status="open",
        first_gone_at=None,
        removed_at=None,
        next_check_at=now,
        created_at=now,
    )
    session.add(rec)
    session.flush()
    return _row(rec)


def get(session: Session, removal_id: int) -> RemovalRow | None:
    rec = session.get(RemovalRecord, removal_id)
    return _row(rec) if rec is not None else None


def list_removals(
    session: Session,
    *,
    open_only: bool = False,
    academy: str | None = None,
    mention_id: int | None = None,
    reported_before: datetime | None = None,
) -> list[RemovalRow]:
    """Requests, oldest first; `open_only` leaves out those confirmed removed."""
    q = select(RemovalRecord).order_by(RemovalRecord.reported_at, RemovalRecord.id)
    if open_only:
        q = q.where(RemovalRecord.status != "removed")
    if academy is not None:
        q = q.where(RemovalRecord.academy_id == academy)
    if mention_id is not None:
        q = q.where(RemovalRecord.mention_id == mention_id)
    if reported_before is not None:
        q = q.where(RemovalRecord.reported_at < reported_before)
    return [_row(r) for r in session.scalars(q)]


def due(session: Session, now: datetime, limit: int) -> list[RemovalRow]:
    """Requests whose next check has come, earliest first."""
    q = (
        select(RemovalRecord)
        .where(RemovalRecord.status != "removed", RemovalRecord.next_check_at <= now)
        .order_by(RemovalRecord.next_check_at, RemovalRecord.id)
        .limit(limit)
    )
    return [_row(r) for r in session.scalars(q)]


def record_check(
    session: Session,
    check: RemovalCheckRow,
    *,
    status: str,
    first_gone_at: datetime | None,
    removed_at: datetime | None,
    next_check_at: datetime | None,
) -> RemovalRow | None:
    """Append a check to the log and move the request to its new state; None if it is gone."""
    rec = session.get(RemovalRecord, check.removal_id)
    if rec is None:
        return None  # the mention was erased meanwhile
    session.add(
        RemovalCheckRecord(
            removal_id=check.removal_id,
            at=check.at,
            http_status=check.http_status,
            outcome=check.outcome,
            detail=check.detail[:2000],
        )
    )
    rec.status = status
    rec.first_gone_at = first_gone_at
    rec.removed_at = removed_at
    rec.next_check_at = next_check_at
    session.flush()
    return _row(rec)


def checks(session: Session, removal_ids: Sequence[int]) -> list[RemovalCheckRow]:
    """The checks log of these requests, oldest first."""
    q = (
        select(RemovalCheckRecord)
        .where(RemovalCheckRecord.removal_id.in_(list(removal_ids)))
        .order_by(RemovalCheckRecord.at, RemovalCheckRecord.id)
    )
    return [
        RemovalCheckRow(r.removal_id, r.at, r.http_status, r.outcome, r.detail)
        for r in session.scalars(q)
    ]
