"""Link tokens for confirm and unsubscribe links: single-purpose, unguessable, stored hashed, expiring.

The raw token (secrets.token_urlsafe, 256 bits) appears only in the link; the database keeps its
SHA-256, so a copy of the database cannot be used to unsubscribe or confirm anyone.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.orm import Session

from monitor.store.schema import TokenRecord

# How long after expiry a token row is kept, so its link can say "expired" rather than "unknown".
KEEP_EXPIRED = timedelta(days=30)


class Purpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"


class TokenState(StrEnum):
    VALID = "valid"
    USED = "used"  # valid, but already used once
    EXPIRED = "expired"
    INVALID = "invalid"  # unknown, or issued for another purpose


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    subscriber_id: int | None = None


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def issue(
    session: Session, subscriber_id: int, purpose: Purpose, now: datetime, ttl: timedelta
) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        TokenRecord(
            token_hash=token_hash(raw),
            purpose=purpose.value,
            subscriber_id=subscriber_id,
            created_at=now,
            expires_at=now + ttl,
            used_at=None,
        )
    )
    return raw


def check(session: Session, raw: str, purpose: Purpose, now: datetime) -> TokenCheck:
    """What a presented token is worth for `purpose`; reading only."""
    if not raw or len(raw) > 200:
        return TokenCheck(TokenState.INVALID)
    rec = session.get(TokenRecord, token_hash(raw))
    if rec is None or rec.purpose != purpose.value:
        return TokenCheck(TokenState.INVALID)
    if rec.expires_at <= now:
        return TokenCheck(TokenState.EXPIRED, rec.subscriber_id)
    if rec.used_at is not None:
        return TokenCheck(TokenState.USED, rec.subscriber_id)
    return TokenCheck(TokenState.VALID, rec.subscriber_id)


def mark_used(session: Session, raw: str, now: datetime) -> None:
    rec = session.get(TokenRecord, token_hash(raw))
    if rec is not None and rec.used_at is None:
        rec.used_at = now


def purge_expired(session: Session, now: datetime) -> int:
    result = session.execute(delete(TokenRecord).where(TokenRecord.expires_at < now - KEEP_EXPIRED))
    return int(getattr(result, "rowcount", 0) or 0)
