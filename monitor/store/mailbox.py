"""The intake mailbox's memory: which messages were dealt with (`mailbox_messages`) and which are
held in quarantine (`mail_quarantine`). Functions take the caller's `Tx`; rows leave as frozen
dataclasses. No mail text is stored except a quarantined message's raw bytes (needed to release
it), which the quarantine list never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError

from monitor.store.repository import Tx
from monitor.store.schema import MailboxMessageRecord, MailQuarantineRecord


@dataclass(frozen=True)
class MessageKey:
    """Where a message is: the account (user@host/mailbox), UIDVALIDITY and UID."""

    account: str
    uidvalidity: int
    uid: int


@dataclass(frozen=True)
class ProcessedMessage:
    key: MessageKey
    message_id: str
    outcome: str  # reported | quarantined | duplicate
    mention_id: int | None
    detail: str
    processed_at: datetime


@dataclass(frozen=True)
class QuarantineRow:
    id: int
    account: str
    message_id: str
    sender: str
    subject: str
    received_at: datetime | None
    quarantined_at: datetime
    reason: str
    status: str  # held | released
    released_at: datetime | None
    mention_id: int | None


def _processed(r: MailboxMessageRecord) -> ProcessedMessage:
    return ProcessedMessage(
        MessageKey(r.account, r.uidvalidity, r.uid),
        r.message_id,
        r.outcome,
        r.mention_id,
        r.detail,
        r.processed_at,
    )


def _quarantine(r: MailQuarantineRecord) -> QuarantineRow:
    return QuarantineRow(
        r.id,
        r.account,
        r.message_id,
        r.sender,
        r.subject,
        r.received_at,
        r.quarantined_at,
        r.reason,
        r.status,
        r.released_at,
        r.mention_id,
    )


def processed(tx: Tx, key: MessageKey, message_id: str = "") -> ProcessedMessage | None:
    """The record of this message, found by UID (under its UIDVALIDITY) or by Message-ID."""
    cond: ColumnElement[bool] = (MailboxMessageRecord.uidvalidity == key.uidvalidity) & (
        MailboxMessageRecord.uid == key.uid
    )
    if message_id:
        cond = or_(cond, MailboxMessageRecord.message_id == message_id)
    rec = tx.session.scalars(
        select(MailboxMessageRecord)
        .where(MailboxMessageRecord.account == key.account, cond)
        .order_by(MailboxMessageRecord.id)
    ).first()
    return _processed(rec) if rec is not None else None


def record(tx: Tx, m: ProcessedMessage) -> bool:
    """Remember a message as dealt with; False when it already was (a concurrent poll won)."""
    session = tx.session
    try:
        with session.begin_nested():
            session.add(
                MailboxMessageRecord(
                    account=m.key.account,
                    uidvalidity=m.key.uidvalidity,
                    uid=m.key.uid,
                    message_id=m.message_id,
                    outcome=m.outcome,
                    mention_id=m.mention_id,
                    detail=m.detail[:2000],
                    processed_at=m.processed_at,
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def hold(
    tx: Tx,
    *,
    account: str,
    message_id: str,
    sender: str,
    subject: str,
    received_at: datetime | None,
    reason: str,
    raw: bytes | None,
    now: datetime,
) -> int:
    """Put a message in quarantine; returns its quarantine id."""
    rec = MailQuarantineRecord(
        account=account,
        message_id=message_id,
        sender=sender[:320],
        subject=subject,
        received_at=received_at,
        quarantined_at=now,
        reason=reason,
        raw=raw,
        status="held",
    )
    tx.session.add(rec)
    tx.session.flush()
    return rec.id


def list_quarantine(tx: Tx, *, status: str | None = None) -> list[QuarantineRow]:
    """Quarantined messages, newest first; only those of one status when given."""
    q = select(MailQuarantineRecord).order_by(
        MailQuarantineRecord.quarantined_at.desc(), MailQuarantineRecord.id.desc()
    )
    if status is not None:
        q = q.where(MailQuarantineRecord.status == status)
    return [_quarantine(r) for r in tx.session.scalars(q)]


def quarantined(tx: Tx, quarantine_id: int) -> tuple[QuarantineRow, bytes | None] | None:
    """One quarantined message and its raw bytes, or None."""
    rec = tx.session.get(MailQuarantineRecord, quarantine_id)
    return (_quarantine(rec), rec.raw) if rec is not None else None


def release(tx: Tx, quarantine_id: int, mention_id: int | None, now: datetime) -> bool:
    """Mark a held message released (it became a report); False unless it was held."""
    rec = tx.session.get(MailQuarantineRecord, quarantine_id, with_for_update=True)
    if rec is None or rec.status != "held":
        return False
    rec.status = "released"
    rec.released_at = now
    rec.mention_id = mention_id
    return True
