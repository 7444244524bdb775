"""Subscribers and their link tokens: the rows behind alerts/subscriptions.py and alerts/tokens.py.

Every function takes the caller's `Tx` (one unit of work) and returns frozen values; the records
never leave the store. A subscriber is changed by reading its `SubscriberRow`, replacing fields
(`dataclasses.replace`) and handing it to `save`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from monitor.store.repository import Tx
from monitor.store.schema import SubscriberRecord, TokenRecord


@dataclass(frozen=True)
class SubscriberRow:
    id: int
    email: str
    role: str  # provider | recipient
    name: str
    academies: tuple[str, ...]
    categories: tuple[str, ...]
    status: str  # pending | active | unsubscribed
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    digest_muted_at: datetime | None
    urgent_muted: tuple[str, ...]


@dataclass(frozen=True)
class TokenRow:
    token_hash: str
    purpose: str
    subscriber_id: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


def _row(r: SubscriberRecord) -> SubscriberRow:
    return SubscriberRow(
        id=r.id,
        email=r.email,
        role=r.role,
        name=r.name,
        academies=tuple(r.academies or ()),
        categories=tuple(r.categories or ()),
        status=r.status,
        created_at=r.created_at,
        confirmed_at=r.confirmed_at,
        unsubscribed_at=r.unsubscribed_at,
        digest_muted_at=r.digest_muted_at,
        urgent_muted=tuple(r.urgent_muted or ()),
    )


# --- subscribers ------------------------------------------------------------------------------


def get(tx: Tx, subscriber_id: int) -> SubscriberRow | None:
    rec = tx.session.get(SubscriberRecord, subscriber_id)
    return _row(rec) if rec is not None else None


def find(tx: Tx, email: str, role: str) -> SubscriberRow | None:
    rec = tx.session.scalars(
        select(SubscriberRecord).where(
            SubscriberRecord.email == email, SubscriberRecord.role == role
        )
    ).first()
    return _row(rec) if rec is not None else None


def all_of_role(tx: Tx, role: str, *, status: str | None = None) -> list[SubscriberRow]:
    q = select(SubscriberRecord).where(SubscriberRecord.role == role)
    if status is not None:
        q = q.where(SubscriberRecord.status == status)
    return [_row(r) for r in tx.session.scalars(q.order_by(SubscriberRecord.id))]


def list_all(tx: Tx) -> list[SubscriberRow]:
    q = select(SubscriberRecord).order_by(SubscriberRecord.role, SubscriberRecord.email)
    return [_row(r) for r in tx.session.scalars(q)]


def digest_muted_recipients(tx: Tx) -> frozenset[str]:
    """Configured recipients who muted the digest, or whose row is not active (lower-cased)."""
    q = select(SubscriberRecord.email).where(
        SubscriberRecord.role == "recipient",
        (SubscriberRecord.digest_muted_at.is_not(None)) | (SubscriberRecord.status != "active"),
    )
    return frozenset(e.lower() for e in tx.session.scalars(q))


def add_provider(
    tx: Tx,
    email: str,
    *,
    name: str,
    academies: Sequence[str],
    categories: Sequence[str],
    status: str,
    now: datetime,
) -> SubscriberRow:
    rec = SubscriberRecord(
        email=email,
        role="provider",
        name=name,
        academies=list(academies),
        categories=list(categories),
        status=status,
        created_at=now,
        confirmed_at=None,
        unsubscribed_at=None,
    )
    tx.session.add(rec)
    tx.session.flush()
    return _row(rec)


def ensure_recipient(tx: Tx, email: str, academy_id: str, now: datetime) -> SubscriberRow:
    """The row that carries a configured recipient's consent state (created on first use; a
    concurrent creator wins quietly), with `academy_id` among its academies."""
    email = email.lower()
    q = select(SubscriberRecord).where(
        SubscriberRecord.email == email, SubscriberRecord.role == "recipient"
    )
    session = tx.session
    rec = session.scalars(q).first()
    if rec is None:
        try:
            with session.begin_nested():
                rec = SubscriberRecord(
                    email=email,
                    role="recipient",
                    name="",
                    academies=[academy_id],
                    categories=[],
                    status="active",
                    created_at=now,
                    confirmed_at=now,
                )
                session.add(rec)
                session.flush()
        except IntegrityError:
            rec = session.scalars(q).one()
    if academy_id not in rec.academies:
        rec.academies = [*rec.academies, academy_id]
    return _row(rec)


def save(tx: Tx, row: SubscriberRow) -> None:
    """Write a subscriber's changeable fields back."""
    rec = tx.session.get_one(SubscriberRecord, row.id)
    rec.name = row.name
    if list(rec.academies or ()) != list(row.academies):
        rec.academies = list(row.academies)
    if list(rec.categories or ()) != list(row.categories):
        rec.categories = list(row.categories)
    rec.status = row.status
    rec.confirmed_at = row.confirmed_at
    rec.unsubscribed_at = row.unsubscribed_at
    rec.digest_muted_at = row.digest_muted_at
    if list(rec.urgent_muted or ()) != list(row.urgent_muted):
        rec.urgent_muted = list(row.urgent_muted)


def delete_subscriber(tx: Tx, subscriber_id: int) -> None:
    """Forget a subscriber and every token issued to them."""
    tx.session.execute(delete(TokenRecord).where(TokenRecord.subscriber_id == subscriber_id))
    rec = tx.session.get(SubscriberRecord, subscriber_id)
    if rec is not None:
        tx.session.delete(rec)


# --- tokens -----------------------------------------------------------------------------------


def add_token(
    tx: Tx, token_hash: str, purpose: str, subscriber_id: int, now: datetime, expires_at: datetime
) -> None:
    tx.session.add(
        TokenRecord(
            token_hash=token_hash,
            purpose=purpose,
            subscriber_id=subscriber_id,
            created_at=now,
            expires_at=expires_at,
            used_at=None,
        )
    )


def get_token(tx: Tx, token_hash: str) -> TokenRow | None:
    rec = tx.session.get(TokenRecord, token_hash)
    if rec is None:
        return None
    return TokenRow(
        rec.token_hash, rec.purpose, rec.subscriber_id, rec.created_at, rec.expires_at, rec.used_at
    )


def mark_token_used(tx: Tx, token_hash: str, now: datetime) -> None:
    rec = tx.session.get(TokenRecord, token_hash)
    if rec is not None and rec.used_at is None:
        rec.used_at = now


def purge_tokens(tx: Tx, expired_before: datetime) -> int:
    result = tx.session.execute(delete(TokenRecord).where(TokenRecord.expires_at < expired_before))
    return int(getattr(result, "rowcount", 0) or 0)
