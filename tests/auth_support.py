"""Test helpers for the dashboard: a user with a role, signed in (a real server-side session)."""

from __future__ import annotations

from datetime import datetime

from monitor.config import Settings
from monitor.roles import Role
from monitor.store import Store
from monitor.web.auth import COOKIE, start_session


def add_user(store: Store, email: str, academy: str, role: Role, now: datetime) -> int:
    with store.transaction() as tx:
        user, _ = tx.add_user(email, "", now)
        tx.grant_role(user.id, academy, role)
    return user.id


def signed_in(
    store: Store,
    settings: Settings,
    now: datetime,
    *,
    email: str = "head@ankermoor.example.org",
    academy: str = "ankermoor",
    role: Role = Role.HEAD,
) -> tuple[dict[str, str], str]:
    """(cookies for a client, CSRF token) of a fresh session for this user."""
    user_id = add_user(store, email, academy, role, now)
    raw, csrf = start_session(store, settings, user_id, now)
    return {COOKIE: raw}, csrf
