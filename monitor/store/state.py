"""The service_state table: small key/value facts the program remembers between runs (when a
digest was last sent, when an academy was first configured, …).

Functions take the caller's SQLAlchemy session (the `Store`/`Tx` facades of
monitor/store/repository.py open it); values are plain strings.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from monitor.store.schema import ServiceStateRecord

# Key prefix: when an academy was first configured (see monitor/store/sources.py `sync`).
ACADEMY_ADDED = "academy_added:"


def get(session: Session, key: str) -> str | None:
    rec = session.get(ServiceStateRecord, key)
    return rec.value if rec else None


def put(session: Session, key: str, value: str, now: datetime) -> None:
    session.merge(ServiceStateRecord(key=key, value=value, updated_at=now))


def add_if_absent(session: Session, key: str, value: str, now: datetime) -> None:
    """Record `value` under `key` unless the key is already there (first write wins)."""
    if session.get(ServiceStateRecord, key) is None:
        session.add(ServiceStateRecord(key=key, value=value, updated_at=now))


def academy_added(session: Session, academy_id: str) -> datetime | None:
    """When the academy's sources were first registered; None when that is not known (it
    was configured before this was recorded, or has no sources)."""
    value = get(session, ACADEMY_ADDED + academy_id)
    return datetime.fromisoformat(value) if value else None
