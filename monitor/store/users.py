"""The dashboard's people: users and their role grants, single-use sign-in links, server-side web
sessions and personal API tokens.

Secrets (link tokens, session ids, API tokens) are never stored: only their SHA-256 hash
(`token_hash`). Functions take the caller's session; `Tx`/`Store` in repository.py delegate here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from monitor.roles import Role, Viewer
from monitor.store.schema import (
    ApiTokenRecord,
    LoginLinkRecord,
    UserRecord,
    UserRoleRecord,
    WebSessionRecord,
)


def token_hash(raw: str) -> str:
    """What is stored for a secret: its SHA-256, hex."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    active: bool
    created_at: datetime
    grants: tuple[tuple[str, Role], ...]


@dataclass(frozen=True)
class WebSession:
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    csrf_secret: str


@dataclass(frozen=True)
class ApiTokenRow:
    id: int
    user_email: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _grants(session: Session, user_id: int) -> tuple[tuple[str, Role], ...]:
    q = (
        select(UserRoleRecord.academy_id, UserRoleRecord.role)
        .where(UserRoleRecord.user_id == user_id)
        .order_by(UserRoleRecord.academy_id, UserRoleRecord.role)
    )
    return tuple((str(a), Role(r)) for a, r in session.execute(q))


def _row(session: Session, r: UserRecord) -> UserRow:
    return UserRow(r.id, r.email, r.name, r.active, r.created_at, _grants(session, r.id))


# --- users and grants -------------------------------------------------------------------------


def find(session: Session, email: str) -> UserRow | None:
    r = session.scalars(select(UserRecord).where(UserRecord.email == email.strip().lower())).first()
    return _row(session, r) if r else None


def get(session: Session, user_id: int) -> UserRow | None:
    r = session.get(UserRecord, user_id)
    return _row(session, r) if r else None


def list_users(session: Session) -> list[UserRow]:
    return [
        _row(session, r) for r in session.scalars(select(UserRecord).order_by(UserRecord.email))
    ]


def add(session: Session, email: str, name: str, now: datetime) -> tuple[UserRow, bool]:
    """The user with this address, created (active) if new; (row, created)."""
    found = find(session, email)
    if found is not None:
        return found, False
    r = UserRecord(email=email.strip().lower(), name=name, active=True, created_at=now)
    session.add(r)
    session.flush()
    return _row(session, r), True


def remove(session: Session, email: str) -> bool:
    """Delete a user with their grants, links, sessions and tokens (the audit log keeps what
    they did: its actor is text)."""
    r = session.scalars(select(UserRecord).where(UserRecord.email == email.strip().lower())).first()
    if r is None:
        return False
    for table in (UserRoleRecord, LoginLinkRecord, WebSessionRecord, ApiTokenRecord):
        session.execute(delete(table).where(table.user_id == r.id))
    session.delete(r)
    return True


def grant(session: Session, user_id: int, academy_id: str, role: Role) -> bool:
    """Give a role on an academy; False when the user already had it."""
    exists = session.scalars(
        select(UserRoleRecord).where(
            UserRoleRecord.user_id == user_id,
            UserRoleRecord.academy_id == academy_id,
            UserRoleRecord.role == role.value,
        )
    ).first()
    if exists is not None:
        return False
    session.add(UserRoleRecord(user_id=user_id, academy_id=academy_id, role=role.value))
    session.flush()
    return True


def revoke(session: Session, user_id: int, academy_id: str, role: Role) -> bool:
    result = session.execute(
        delete(UserRoleRecord).where(
            UserRoleRecord.user_id == user_id,
            UserRoleRecord.academy_id == academy_id,
            UserRoleRecord.role == role.value,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def viewer(session: Session, user_id: int) -> Viewer | None:
    """The active user as the pages see them; None for an unknown or inactive user."""
    r = session.get(UserRecord, user_id)
    if r is None or not r.active:
        return None
    return Viewer(r.id, r.email, _grants(session, r.id))


# --- sign-in links ----------------------------------------------------------------------------


def add_login_link(
    session: Session, user_id: int, hashed: str, next_path: str, now: datetime, expires: datetime
) -> None:
    session.add(
        LoginLinkRecord(
            token_hash=hashed,
            user_id=user_id,
            next_path=next_path,
            created_at=now,
            expires_at=expires,
            used_at=None,
        )
    )
    session.flush()


def login_link_state(session: Session, hashed: str, now: datetime) -> str:
    """ "valid", "used", "expired" or "invalid"; reads only (what a GET may do)."""
    r = session.get(LoginLinkRecord, hashed)
    if r is None:
        return "invalid"
    if r.used_at is not None:
        return "used"
    return "valid" if r.expires_at > now else "expired"


def consume_login_link(session: Session, hashed: str, now: datetime) -> tuple[int, str] | None:
    """Use a link once: (user id, next path), or None when it is unknown, used or expired. One
    conditional UPDATE, so two presses at once cannot both sign in."""
    result = session.execute(
        update(LoginLinkRecord)
        .where(
            LoginLinkRecord.token_hash == hashed,
            LoginLinkRecord.used_at.is_(None),
            LoginLinkRecord.expires_at > now,
        )
        .values(used_at=now)
    )
    if not getattr(result, "rowcount", 0):
        return None
    r = session.get(LoginLinkRecord, hashed)
    assert r is not None
    return r.user_id, r.next_path


def purge_login_links(session: Session, before: datetime) -> int:
    result = session.execute(delete(LoginLinkRecord).where(LoginLinkRecord.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


# --- web sessions -----------------------------------------------------------------------------


def create_session(
    session: Session,
    hashed: str,
    user_id: int,
    now: datetime,
    idle_minutes: int,
    csrf_secret: str,
) -> None:
    session.add(
        WebSessionRecord(
            id_hash=hashed,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            idle_minutes=idle_minutes,
            csrf_secret=csrf_secret,
        )
    )
    session.flush()


def touch_session(
    session: Session, hashed: str, now: datetime, max_age: timedelta
) -> WebSession | None:
    """The live session (its last-seen time moved to now), or None when it is unknown, idle
    past its timeout or older than `max_age` (an expired one is deleted)."""
    r = session.get(WebSessionRecord, hashed)
    if r is None:
        return None
    if now - r.last_seen_at > timedelta(minutes=r.idle_minutes) or now - r.created_at > max_age:
        session.delete(r)
        return None
    r.last_seen_at = max(r.last_seen_at, now)
    return WebSession(r.user_id, r.created_at, r.last_seen_at, r.csrf_secret)


def end_session(session: Session, hashed: str) -> bool:
    result = session.execute(delete(WebSessionRecord).where(WebSessionRecord.id_hash == hashed))
    return bool(getattr(result, "rowcount", 0))


# --- API tokens -------------------------------------------------------------------------------


def add_api_token(session: Session, user_id: int, hashed: str, name: str, now: datetime) -> int:
    r = ApiTokenRecord(token_hash=hashed, user_id=user_id, name=name, created_at=now)
    session.add(r)
    session.flush()
    return int(r.id)


def revoke_api_tokens(session: Session, user_id: int, name: str, now: datetime) -> int:
    """Revoke the user's live tokens of this name; how many."""
    result = session.execute(
        update(ApiTokenRecord)
        .where(
            ApiTokenRecord.user_id == user_id,
            ApiTokenRecord.name == name,
            ApiTokenRecord.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def api_token_user(session: Session, hashed: str, now: datetime) -> int | None:
    """The user a live (unrevoked) token belongs to, recording its use; None otherwise."""
    r = session.scalars(select(ApiTokenRecord).where(ApiTokenRecord.token_hash == hashed)).first()
    if r is None or r.revoked_at is not None:
        return None
    r.last_used_at = now
    return r.user_id


def list_api_tokens(session: Session) -> list[ApiTokenRow]:
    q = (
        select(ApiTokenRecord, UserRecord.email)
        .join(UserRecord, UserRecord.id == ApiTokenRecord.user_id)
        .order_by(UserRecord.email, ApiTokenRecord.id)
    )
    return [
        ApiTokenRow(t.id, e, t.name, t.created_at, t.last_used_at, t.revoked_at)
        for t, e in session.execute(q)
    ]
