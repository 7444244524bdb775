"""The outbox table: notices written with the mention that causes them, claimed and finished by
the dispatcher (alerts/outbox.py decides what to send; this module only reads and writes rows).

Every function takes the caller's `Tx`. Claiming locks the row with SKIP LOCKED where the database
has it (PostgreSQL), so concurrent dispatchers never claim the same notice; SQLite's single
writer gives the same guarantee through BEGIN IMMEDIATE (monitor/store/engine.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, case, exists, func, insert, select, update

from monitor.models import Severity
from monitor.store.engine import insert_if_new
from monitor.store.repository import Tx
from monitor.store.schema import AssessmentRecord, MentionRecord, NoticeRecord, TokenRecord
from monitor.store.subscribers import TokenRow

PENDING, SENT, DEAD, CANCELLED = "pending", "sent", "dead", "cancelled"


@dataclass(frozen=True)
class NewNotice:
    kind: str  # urgent | provider | digest | confirm | signin | breach_reminder
    academy_id: str
    scope: str
    recipient: str
    mention_id: int | None
    subject: str
    message_id: str
    payload: str


@dataclass(frozen=True)
class NoticeRow:
    id: int
    kind: str
    academy_id: str
    scope: str
    recipient: str
    subject: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class Claim:
    id: int
    attempts: int
    recipient: str
    payload: str


def _row(r: NoticeRecord) -> NoticeRow:
    return NoticeRow(
        r.id,
        r.kind,
        r.academy_id,
        r.scope,
        r.recipient,
        r.subject,
        r.message_id,
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.last_error,
        r.created_at,
        r.sent_at,
    )


def add(tx: Tx, n: NewNotice, now: datetime, unsubscribe: TokenRow | None) -> bool:
    """Write a pending notice and the unsubscribe token its link carries, together; False (and
    neither written) when the database already holds this (kind, academy, scope, recipient), in
    any status: an earlier run or a concurrent writer queued it. A sign-in email has no
    unsubscribe link (None)."""
    # An urgent mention queues one notice per recipient inside the runner's write transaction,
    # where a check-then-insert through the ORM was a fifth of the cycle's time.
    inserted = insert_if_new(
        tx.session,
        cast(Table, NoticeRecord.__table__),
        {
            "kind": n.kind,
            "academy_id": n.academy_id,
            "scope": n.scope,
            "recipient": n.recipient,
            "mention_id": n.mention_id,
            "subject": n.subject,
            "message_id": n.message_id,
            "payload": n.payload,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
            "created_at": now,
            "sent_at": None,
        },
    )
    if not inserted:
        return False
    if unsubscribe is not None:
        tx.session.execute(
            insert(TokenRecord).values(
                token_hash=unsubscribe.token_hash,
                purpose=unsubscribe.purpose,
                subscriber_id=unsubscribe.subscriber_id,
                created_at=unsubscribe.created_at,
                expires_at=unsubscribe.expires_at,
                used_at=None,
            )
        )
    return True


def claim(tx: Tx, now: datetime, lease_until: datetime) -> Claim | None:
    """Take the next due notice (urgent and provider first) and push its next attempt to
    `lease_until`, counting the attempt; None when nothing is due."""
    # A sign-in link expires in minutes: it goes first too.
    first = case(
        (NoticeRecord.kind.in_(("urgent", "provider", "signin", "breach_reminder")), 0), else_=1
    )
    q = (
        select(NoticeRecord)
        .where(NoticeRecord.status == PENDING, NoticeRecord.next_attempt_at <= now)
        .order_by(first, NoticeRecord.next_attempt_at, NoticeRecord.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    rec = tx.session.scalars(q).first()
    if rec is None:
        return None
    rec.attempts = (rec.attempts or 0) + 1
    rec.next_attempt_at = lease_until
    return Claim(rec.id, rec.attempts, rec.recipient, rec.payload)


def finish(
    tx: Tx,
    notice_id: int,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Record a claimed notice's outcome; a notice already sent stays sent."""
    rec = tx.session.get(NoticeRecord, notice_id)
    if rec is None or rec.status == SENT:
        return
    rec.status = status
    rec.last_error = error[:2000] if error else None
    if status == SENT:
        rec.sent_at = now
        rec.payload = ""  # nothing of the mention stays in the outbox once delivered
    elif retry_at is not None:
        rec.next_attempt_at = retry_at


def list_notices(tx: Tx, status: str | None = None, limit: int = 200) -> list[NoticeRow]:
    q = select(NoticeRecord).order_by(NoticeRecord.id.desc()).limit(limit)
    if status:
        q = q.where(NoticeRecord.status == status)
    return [_row(r) for r in tx.session.scalars(q)]


def dead(tx: Tx, academy_id: str, limit: int = 20) -> list[NoticeRow]:
    """An academy's dead letters, oldest first."""
    q = (
        select(NoticeRecord)
        .where(NoticeRecord.status == DEAD, NoticeRecord.academy_id == academy_id)
        .order_by(NoticeRecord.id)
        .limit(limit)
    )
    return [_row(r) for r in tx.session.scalars(q)]


def counts(tx: Tx) -> dict[str, int]:
    q = select(NoticeRecord.status, func.count()).group_by(NoticeRecord.status)
    return {str(k): int(v) for k, v in tx.session.execute(q)}


def retry_dead(tx: Tx, now: datetime) -> int:
    """Give every dead letter a fresh set of attempts, due now."""
    result = tx.session.execute(
        update(NoticeRecord)
        .where(NoticeRecord.status == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def cancel_pending(
    tx: Tx,
    recipient: str,
    kinds: Sequence[str],
    reason: str,
    *,
    academies: Sequence[str] | None = None,
) -> None:
    """Cancel what still waits for `recipient` of these kinds (only these academies' if given)."""
    q = update(NoticeRecord).where(
        NoticeRecord.recipient == recipient,
        NoticeRecord.status == PENDING,
        NoticeRecord.kind.in_(list(kinds)),
    )
    if academies is not None:
        q = q.where(NoticeRecord.academy_id.in_(list(academies)))
    tx.session.execute(q.values(status=CANCELLED, last_error=reason))


def digest_recipients_by_date(tx: Tx, academy_id: str) -> dict[str, set[str]]:
    """Digest date (the notice's scope) -> recipients it is in the outbox for (any status)."""
    q = select(NoticeRecord.scope, NoticeRecord.recipient).where(
        NoticeRecord.kind == "digest", NoticeRecord.academy_id == academy_id
    )
    out: dict[str, set[str]] = {}
    for scope, rcpt in tx.session.execute(q):
        out.setdefault(scope, set()).add(rcpt)
    return out


def last_digest_before(tx: Tx, academy_id: str, scope: str) -> str | None:
    """The latest digest date in the outbox before `scope` (ISO dates sort as text)."""
    return tx.session.scalar(
        select(func.max(NoticeRecord.scope)).where(
            NoticeRecord.kind == "digest",
            NoticeRecord.academy_id == academy_id,
            NoticeRecord.scope < scope,
        )
    )


def urgent_without_alert(
    tx: Tx, academy_ids: Sequence[str], since: datetime, until: datetime | None = None
) -> list[tuple[str, datetime]]:
    """(academy, first seen) of urgent mentions first seen in [since, until) whose story has no
    urgent alert in the outbox (pending, sent or dead; cancelled does not count)."""
    alerted = exists().where(
        NoticeRecord.kind == "urgent",
        NoticeRecord.academy_id == MentionRecord.organisation,
        NoticeRecord.scope == MentionRecord.cluster_id,
        NoticeRecord.status != CANCELLED,
    )
    q = (
        select(MentionRecord.organisation, MentionRecord.first_seen_at)
        .join(AssessmentRecord, AssessmentRecord.mention_id == MentionRecord.id)
        .where(
            AssessmentRecord.severity == Severity.URGENT.value,
            MentionRecord.first_seen_at >= since,
            MentionRecord.organisation.in_(list(academy_ids)),
            ~alerted,
        )
    )
    if until is not None:
        q = q.where(MentionRecord.first_seen_at < until)
    return [(str(a), seen) for a, seen in tx.session.execute(q)]
