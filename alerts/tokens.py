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

from monitor.store import Tx
from monitor.store import subscribers as rows

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


def new_token(
    subscriber_id: int, purpose: Purpose, now: datetime, ttl: timedelta
) -> tuple[str, rows.TokenRow]:
    """A fresh raw token (for the link) and the row that stores its hash."""
    raw = secrets.token_urlsafe(32)
    return raw, rows.TokenRow(token_hash(raw), purpose.value, subscriber_id, now, now + ttl, None)


def issue(tx: Tx, subscriber_id: int, purpose: Purpose, now: datetime, ttl: timedelta) -> str:
    raw, row = new_token(subscriber_id, purpose, now, ttl)
    rows.add_token(tx, row.token_hash, row.purpose, subscriber_id, now, row.expires_at)
    return raw


def check(tx: Tx, raw: str, purpose: Purpose, now: datetime) -> TokenCheck:
    """What a presented token is worth for `purpose`; reading only."""
    if not raw or len(raw) > 200:
        return TokenCheck(TokenState.INVALID)
    rec = rows.get_token(tx, token_hash(raw))
    if rec is None or rec.purpose != purpose.value:
        return TokenCheck(TokenState.INVALID)
    if rec.expires_at <= now:
        return TokenCheck(TokenState.EXPIRED, rec.subscriber_id)
    if rec.used_at is not None:
        return TokenCheck(TokenState.USED, rec.subscriber_id)
    return TokenCheck(TokenState.VALID, rec.subscriber_id)


def mark_used(tx: Tx, raw: str, now: datetime) -> None:
    rows.mark_token_used(tx, token_hash(raw), now)


def purge_expired(tx: Tx, now: datetime) -> int:
    return rows.purge_tokens(tx, now - KEEP_EXPIRED)
