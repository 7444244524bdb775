"""The sources table: each configured source's scheduling state (validators, cursor, next check)
and health (errors, status, advice), as `SourceRow`s.

Functions take the caller's SQLAlchemy session (the `Store`/`Tx` facades of
monitor/store/repository.py open it); the records never leave the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.store import state as service_state
from monitor.store.schema import SourceRecord
from monitor.values import SourceState


@dataclass(frozen=True)
class SourceRow:
    """A source's scheduling state and health, as stored."""

    key: str
    academy_id: str
    kind: str
    state: SourceState
    next_check_at: datetime | None
    consecutive_errors: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_checked_at: datetime | None
    last_item_at: datetime | None
    status: str
    advice: str | None


def _row(r: SourceRecord) -> SourceRow:
    return SourceRow(
        key=r.key,
        academy_id=r.academy_id,
        kind=r.kind,
        state=SourceState(r.etag, r.last_modified, r.cursor),
        next_check_at=r.next_check_at,
        consecutive_errors=r.consecutive_errors or 0,
        last_error=r.last_error,
        last_error_at=r.last_error_at,
        last_success_at=r.last_success_at,
        last_checked_at=r.last_checked_at,
        last_item_at=r.last_item_at,
        status=r.status,
        advice=r.advice,
    )


def record(session: Session, key: str) -> SourceRecord:
    """The source's record, for changing it within this session."""
    rec = session.scalars(select(SourceRecord).where(SourceRecord.key == key)).one()
    return rec


def sync(session: Session, sources: Iterable[tuple[str, str, str]], now: datetime) -> None:
    """Make sure every configured (key, academy id, kind) has a row; new ones are due now."""
    wanted = list(sources)
    have = {r.key: r for r in session.scalars(select(SourceRecord))}
    known = {r.academy_id for r in have.values()}
    for academy_id in sorted({a for _, a, _ in wanted} - known):
        # An academy none of whose sources was stored before is new: remember when, so
        # that its first digest covers only the time since (alerts/digest.py).
        key = service_state.ACADEMY_ADDED + academy_id
        service_state.add_if_absent(session, key, now.isoformat(), now)
    for key, academy_id, kind in wanted:
        rec = have.get(key)
        if rec is None:
            session.add(
                SourceRecord(
                    key=key,
                    academy_id=academy_id,
                    kind=kind,
                    next_check_at=now,
                    status="new",
                    consecutive_errors=0,
                )
            )
        elif rec.kind != kind:
            # A changed kind means a different source: forget the old cursor and validators.
            rec.kind, rec.etag, rec.last_modified, rec.cursor = kind, None, None, None
            rec.next_check_at = now


def get(session: Session, key: str) -> SourceRow:
    return _row(record(session, key))


def list_sources(session: Session, keys: Iterable[str] | None = None) -> list[SourceRow]:
    q = select(SourceRecord).order_by(SourceRecord.key)
    if keys is not None:
        q = q.where(SourceRecord.key.in_(list(keys)))
    return [_row(r) for r in session.scalars(q)]


def due(session: Session, now: datetime, keys: Iterable[str]) -> list[SourceRow]:
    q = (
        select(SourceRecord)
        .where(
            SourceRecord.key.in_(list(keys)),
            or_(SourceRecord.next_check_at.is_(None), SourceRecord.next_check_at <= now),
        )
        .order_by(SourceRecord.next_check_at)
    )
    return [_row(r) for r in session.scalars(q)]


def succeeded(
    session: Session,
    key: str,
    state: SourceState,
    now: datetime,
    next_check: datetime,
    *,
    not_modified: bool,
    newest_item: datetime | None,
) -> None:
    rec = record(session, key)
    rec.etag, rec.last_modified, rec.cursor = state.etag, state.last_modified, state.cursor
    rec.next_check_at = next_check
    rec.consecutive_errors = 0
    rec.last_success_at = now
    rec.last_checked_at = now
    rec.status = "not_modified" if not_modified else "ok"
    rec.advice = None
    rec.running_since = None
    if newest_item is not None:
        rec.last_item_at = max(rec.last_item_at or newest_item, newest_item)


def failed(
    session: Session,
    key: str,
    reason: str,
    now: datetime,
    next_check: datetime,
    *,
    status: str = "error",
    advice: str | None = None,
) -> int:
    """Record a failure; returns the new count of consecutive errors."""
    rec = record(session, key)
    if status == "error":
        rec.consecutive_errors = (rec.consecutive_errors or 0) + 1
    rec.last_error = reason[:1000]
    rec.last_error_at = now
    rec.last_checked_at = now
    rec.next_check_at = next_check
    rec.status = status
    rec.advice = advice
    rec.running_since = None
    return rec.consecutive_errors
