"""The transactional outbox: notices written in the caller's transaction, and the dispatcher.

`OutboxSink.enqueue` runs inside the runner's transaction that stores the mention, so a notice
exists if and only if its mention does. Each row gets its Message-ID and unsubscribe link here,
once; the dispatcher renders and sends, and a resend after a crash repeats the same Message-ID.

The dispatcher claims one row at a time by pushing its `next_attempt_at` forward (a lease): a
dispatcher killed mid-send leaves the row to be picked up again when the lease ends. Temporary
failures back off exponentially up to `mail.max_attempts`, then the row is dead (a dead letter,
shown by `mention-monitor outbox` and in the digest); permanent (5xx) failures are dead at once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts import rules, tokens
from alerts.notice import Envelope, Incident, Notice, Subscriber, from_json, to_json
from alerts.render import render, subject_for
from alerts.smtp import DeliveryError, Transport
from monitor.config import Settings
from monitor.models import Assessment, Mention
from monitor.store import Store, Tx
from monitor.store.schema import IncidentRecord, NoticeRecord, SubscriberRecord

log = logging.getLogger(__name__)

PENDING, SENT, DEAD, CANCELLED = "pending", "sent", "dead", "cancelled"


def message_id(sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.web.public_base_url.rstrip('/')}/{path}?token={token}"


# --- reads the rules need ---------------------------------------------------------------------


def digest_muted(session: Session) -> frozenset[str]:
    """Configured recipients who muted the digest (a click on an unsubscribe link, or an admin)."""
    q = select(SubscriberRecord.email).where(
        SubscriberRecord.role == "recipient",
        (SubscriberRecord.digest_muted_at.is_not(None)) | (SubscriberRecord.status != "active"),
    )
    return frozenset(e.lower() for e in session.scalars(q))


def urgent_muted(session: Session, academy_id: str) -> frozenset[str]:
    """Configured recipients whose urgent alerts for this academy an administrator muted."""
    q = select(SubscriberRecord.email, SubscriberRecord.urgent_muted).where(
        SubscriberRecord.role == "recipient"
    )
    return frozenset(e.lower() for e, muted in session.execute(q) if academy_id in (muted or ()))


def confirmed_providers(session: Session) -> list[Subscriber]:
    q = select(SubscriberRecord).where(
        SubscriberRecord.role == "provider", SubscriberRecord.status == "active"
    )
    return [
        Subscriber(r.email, tuple(r.academies), tuple(r.categories), r.name)
        for r in session.scalars(q.order_by(SubscriberRecord.id))
    ]


def recipient_row(session: Session, email: str, academy_id: str, now: datetime) -> SubscriberRecord:
    """The row that carries a configured recipient's consent state (created on first use)."""
    email = email.lower()
    q = select(SubscriberRecord).where(
        SubscriberRecord.email == email, SubscriberRecord.role == "recipient"
    )
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
    return rec


def incident_for(
    session: Session, mention: Mention, now: datetime, categories: Sequence[str] = ()
) -> Incident:
    """The story's incident, opened now if it has none. `categories` (the assessment's) are
    recorded on it; a later copy of the story adds any it newly shows."""
    q = select(IncidentRecord).where(
        IncidentRecord.academy_id == mention.organisation,
        IncidentRecord.cluster_id == mention.cluster_id,
    )
    rec = session.scalars(q).first()
    if rec is not None:
        merged = sorted(set(rec.categories or ()) | set(categories))
        if merged != list(rec.categories or ()):
            rec.categories = merged
        return Incident(rec.id, rec.opened_at, rec.ico_deadline)
    inc = rules.new_incident(mention)
    try:
        with session.begin_nested():
            session.add(
                IncidentRecord(
                    id=inc.id,
                    academy_id=mention.organisation,
                    cluster_id=mention.cluster_id,
                    mention_id=mention.id,
                    categories=sorted(set(categories)),
                    opened_at=inc.opened_at,
                    ico_deadline=inc.ico_deadline,
                )
            )
            session.flush()
    except IntegrityError:
        rec = session.scalars(q).one()
        return Incident(rec.id, rec.opened_at, rec.ico_deadline)
    return inc


# --- enqueue ----------------------------------------------------------------------------------


def add_notice(session: Session, notice: Notice, settings: Settings, now: datetime) -> bool:
    """Write one notice with its Message-ID and unsubscribe link; False when the database already
    holds this (kind, academy, scope, recipient)."""
    recipient = notice.recipient.lower()
    exists = session.scalar(
        select(func.count())
        .select_from(NoticeRecord)
        .where(
            NoticeRecord.kind == notice.kind,
            NoticeRecord.academy_id == notice.academy_id,
            NoticeRecord.scope == notice.scope,
            NoticeRecord.recipient == recipient,
        )
    )
    if exists:
        return False
    if notice.kind in ("provider", "confirm"):
        sub = session.scalars(
            select(SubscriberRecord).where(
                SubscriberRecord.email == recipient, SubscriberRecord.role == "provider"
            )
        ).first()
        if sub is None:
            raise ValueError(f"no provider subscription for {recipient}")
    else:
        sub = recipient_row(session, recipient, notice.academy_id, now)
    try:
        with session.begin_nested():
            raw = tokens.issue(
                session,
                sub.id,
                tokens.Purpose.UNSUBSCRIBE,
                now,
                timedelta(days=settings.mail.unsubscribe_link_days),
            )
            env = Envelope(
                message_id=message_id(settings.mail.from_address),
                sender=settings.mail.from_address,
                date=now,
                unsubscribe_url=link(settings, "unsubscribe", raw),
                timezone=settings.schedule.timezone,
            )
            session.add(
                NoticeRecord(
                    kind=notice.kind,
                    academy_id=notice.academy_id,
                    scope=notice.scope,
                    recipient=recipient,
                    mention_id=notice.mention_id,
                    subject=subject_for(notice),
                    message_id=env.message_id,
                    payload=_payload(notice, env),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                    created_at=now,
                    sent_at=None,
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def _payload(notice: Notice, env: Envelope) -> str:
    return '{"notice": ' + to_json(notice) + ', "envelope": ' + to_json(env) + "}"


def _unpack(payload: str) -> tuple[Notice, Envelope]:
    import json

    doc = json.loads(payload)
    return (
        from_json(Notice, json.dumps(doc["notice"])),
        from_json(Envelope, json.dumps(doc["envelope"])),
    )


class OutboxSink:
    """The runner's NoticeSink: urgent alerts and provider notices for a newly stored mention."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def enqueue(
        self, tx: Tx, mention: Mention, assessment: Assessment | None, now: datetime
    ) -> int:
        if assessment is None or not assessment.urgent:
            return 0  # it waits for the digest
        try:
            academy = self.settings.academy(mention.organisation)
        except KeyError:
            log.warning(
                "mention of an academy not in the settings", extra={"academy": mention.organisation}
            )
            return 0
        session = tx.session
        incident = (
            incident_for(session, mention, now, assessment.categories)
            if rules.needs_incident(assessment)
            else None
        )
        notices = rules.urgent_notices(
            mention,
            assessment,
            academy,
            confirmed_providers(session),
            opted_out=urgent_muted(session, academy.id),
            incident=incident,
            base_url=self.settings.web.public_base_url,
        )
        if not any(n.kind == "urgent" for n in notices):
            # Nobody can receive it: say so loudly; `status`, /healthz and the digest show it too.
            log.warning(
                "urgent mention reached no recipient: nobody receives urgent alerts for the academy",
                extra={"academy": academy.id, "mention": mention.id},
            )
        added = sum(1 for n in notices if add_notice(session, n, self.settings, now))
        if added:
            log.info("notices queued", extra={"mention": mention.id, "notices": added})
        return added


# --- dispatch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    stopped: str | None = None  # why the run stopped early (the mail server is unreachable)


@dataclass(frozen=True)
class _Claim:
    id: int
    attempts: int
    recipient: str
    payload: str


def backoff(settings: Settings, attempts: int) -> timedelta:
    m = settings.mail
    return timedelta(
        seconds=min(m.retry_max_seconds, m.retry_base_seconds * 2 ** max(0, attempts - 1))
    )


def _claim(store: Store, now: datetime, lease: timedelta) -> _Claim | None:
    first = case((NoticeRecord.kind.in_(("urgent", "provider")), 0), else_=1)
    with store.session() as s:
        q = (
            select(NoticeRecord)
            .where(NoticeRecord.status == PENDING, NoticeRecord.next_attempt_at <= now)
            .order_by(first, NoticeRecord.next_attempt_at, NoticeRecord.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        rec = s.scalars(q).first()
        if rec is None:
            return None
        rec.attempts = (rec.attempts or 0) + 1
        rec.next_attempt_at = now + lease
        return _Claim(rec.id, rec.attempts, rec.recipient, rec.payload)


def _finish(
    store: Store,
    claim: _Claim,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    with store.session() as s:
        rec = s.get(NoticeRecord, claim.id)
        if rec is None or rec.status == SENT:
            return
        rec.status = status
        rec.last_error = error[:2000] if error else None
        if status == SENT:
            rec.sent_at = now
            rec.payload = ""  # nothing of the mention stays in the outbox once delivered
        elif retry_at is not None:
            rec.next_attempt_at = retry_at


def dispatch_pending(
    store: Store,
    settings: Settings,
    transport: Transport,
    now: datetime,
    *,
    limit: int | None = None,
) -> DispatchResult:
    """Send every notice due at `now`, one at a time; stop early when the server is unreachable."""
    started = time.monotonic()
    lease = timedelta(seconds=settings.mail.claim_seconds)
    sent = retrying = dead = 0
    stopped: str | None = None
    with store.session() as s:
        tokens.purge_expired(s, now)
    try:
        while limit is None or sent + retrying + dead < limit:
            # Time moves on during a long run; keep leases honest relative to the given clock.
            t = now + timedelta(seconds=time.monotonic() - started)
            claim = _claim(store, t, lease)
            if claim is None:
                break
            try:
                notice, env = _unpack(claim.payload)
                message = render(notice, env)
            except Exception as exc:  # a notice that cannot be built will not build next time
                log.exception("cannot build email", extra={"notice": claim.id})
                _finish(store, claim, DEAD, t, error=f"could not build the email: {exc!r}")
                dead += 1
                continue
            try:
                transport.send(message, env.sender, claim.recipient)
            except DeliveryError as exc:
                t = now + timedelta(seconds=time.monotonic() - started)
                if exc.temporary and claim.attempts < settings.mail.max_attempts:
                    _finish(
                        store,
                        claim,
                        PENDING,
                        t,
                        error=str(exc),
                        retry_at=t + backoff(settings, claim.attempts),
                    )
                    retrying += 1
                else:
                    why = (
                        str(exc)
                        if not exc.temporary
                        else f"gave up after {claim.attempts} attempts: {exc}"
                    )
                    _finish(store, claim, DEAD, t, error=why)
                    dead += 1
                log.warning("delivery failed", extra={"notice": claim.id, "reason": str(exc)})
                if exc.connection:
                    stopped = str(exc)
                    break
                continue
            _finish(store, claim, SENT, now + timedelta(seconds=time.monotonic() - started))
            sent += 1
    finally:
        transport.close()
    return DispatchResult(sent, retrying, dead, stopped)


# --- inspection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
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


def list_notices(store: Store, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    with store.session() as s:
        q = select(NoticeRecord).order_by(NoticeRecord.id.desc()).limit(limit)
        if status:
            q = q.where(NoticeRecord.status == status)
        return [
            OutboxRow(
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
            for r in s.scalars(q)
        ]


def counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        q = select(NoticeRecord.status, func.count()).group_by(NoticeRecord.status)
        return {str(k): int(v) for k, v in s.execute(q)}


def outbox_backlog(store: Store) -> dict[str, int]:
    """For /healthz: notices waiting (pending) and given up (dead)."""
    c = counts(store)
    return {"pending": c.get(PENDING, 0), "dead": c.get(DEAD, 0)}


def retry_dead(store: Store, now: datetime) -> int:
    """Give every dead letter a fresh set of attempts, due now."""
    with store.session() as s:
        result = s.execute(
            update(NoticeRecord)
            .where(NoticeRecord.status == DEAD)
            .values(status=PENDING, attempts=0, next_attempt_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def dead_letters(session: Session, academy_id: str, tz_name: str, limit: int = 20) -> list[str]:
    """Plain lines for the digest's health section: every notice of this academy still dead (no
    addresses: the digest is an email too, so the reason is redacted here, like any text that goes
    into a notice). A letter stays listed until retried or removed."""
    from alerts.render import short_time

    q = (
        select(NoticeRecord)
        .where(NoticeRecord.status == DEAD, NoticeRecord.academy_id == academy_id)
        .order_by(NoticeRecord.id)
        .limit(limit)
    )
    names = {
        "urgent": "urgent alert",
        "provider": "provider notice",
        "digest": "digest",
        "confirm": "confirmation email",
    }
    return [
        f"{names.get(r.kind, r.kind)} of {short_time(r.created_at, tz_name)} (outbox #{r.id}): "
        f"{rules.clean_text(r.last_error or 'unknown reason', 200)}"  # no addresses in the digest
        for r in session.scalars(q)
    ]
