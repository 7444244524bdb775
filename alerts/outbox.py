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
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts import rules, tokens
from alerts.notice import Envelope, Incident, Notice, Subscriber, from_json, to_json
from alerts.render import render, subject_for
from alerts.smtp import DeliveryError, Transport
from monitor.config import Settings
from monitor.models import Assessment, Mention
from monitor.store import Store, Tx
from monitor.store import incidents as incident_rows
from monitor.store import notices as rows
from monitor.store import subscribers as subscriber_rows
from monitor.store.notices import CANCELLED as CANCELLED
from monitor.store.notices import DEAD, PENDING, SENT
from monitor.store.notices import NoticeRow as OutboxRow

log = logging.getLogger(__name__)


def message_id(sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.web.public_base_url.rstrip('/')}/{path}?token={token}"


# --- reads the rules need ---------------------------------------------------------------------


def digest_muted(tx: Tx) -> frozenset[str]:
    """Configured recipients who muted the digest (a click on an unsubscribe link, or an admin)."""
    return subscriber_rows.digest_muted_recipients(tx)


def confirmed_providers(tx: Tx) -> list[Subscriber]:
    return [
        Subscriber(r.email, r.academies, r.categories, r.name)
        for r in subscriber_rows.all_of_role(tx, "provider", status="active")
    ]


def recipient_row(
    tx: Tx, email: str, academy_id: str, now: datetime
) -> subscriber_rows.SubscriberRow:
    """The row that carries a configured recipient's consent state (created on first use)."""
    return subscriber_rows.ensure_recipient(tx, email, academy_id, now)


def incident_for(
    tx: Tx, mention: Mention, now: datetime, categories: Sequence[str] = ()
) -> Incident:
    """The story's incident, opened now if it has none. `categories` (the assessment's) are
    recorded on it; a later copy of the story adds any it newly shows."""
    found = incident_rows.for_story(tx, mention.organisation, mention.cluster_id, categories)
    if found is not None:
        return Incident(found.id, found.opened_at, found.ico_deadline)
    inc = rules.new_incident(mention)
    row = incident_rows.IncidentRow(
        id=inc.id,
        academy_id=mention.organisation,
        cluster_id=mention.cluster_id,
        mention_id=mention.id,
        categories=tuple(sorted(set(categories))),
        opened_at=inc.opened_at,
        ico_deadline=inc.ico_deadline,
    )
    if not incident_rows.add(tx, row):
        found = incident_rows.for_story(tx, mention.organisation, mention.cluster_id)
        assert found is not None  # the concurrent writer's row
        return Incident(found.id, found.opened_at, found.ico_deadline)
    return inc


# --- enqueue ----------------------------------------------------------------------------------


class _TxLookups:
    """The rows every urgent notice of one transaction reads (the confirmed providers, each
    academy's muted recipients, each recipient's consent row), read once per transaction.

    A source run stores its whole batch in one transaction, so these were one to three queries
    per urgent mention before (a fifth of the cycle's GIL time in bench/cycle.py). Nothing else
    writes these rows inside the caller's transaction, so the memo cannot go stale; it holds no
    reference to the transaction itself, so it goes with it."""

    def __init__(self) -> None:
        self._providers: list[Subscriber] | None = None
        self._recipients: list[subscriber_rows.SubscriberRow] | None = None
        self._consent: dict[tuple[str, str], subscriber_rows.SubscriberRow] = {}

    def providers(self, tx: Tx) -> list[Subscriber]:
        if self._providers is None:
            self._providers = confirmed_providers(tx)
        return self._providers

    def muted(self, tx: Tx, academy_id: str) -> frozenset[str]:
        """Configured recipients whose urgent alerts for this academy an administrator muted."""
        if self._recipients is None:
            self._recipients = subscriber_rows.all_of_role(tx, "recipient")
        return frozenset(r.email.lower() for r in self._recipients if academy_id in r.urgent_muted)

    def recipient(
        self, tx: Tx, email: str, academy_id: str, now: datetime
    ) -> subscriber_rows.SubscriberRow:
        key = (email, academy_id)
        if key not in self._consent:
            self._consent[key] = recipient_row(tx, email, academy_id, now)
        return self._consent[key]


def add_notice(
    tx: Tx,
    notice: Notice,
    settings: Settings,
    now: datetime,
    lookups: _TxLookups | None = None,
) -> bool:
    """Write one notice with its Message-ID and unsubscribe link; False when the database already
    holds this (kind, academy, scope, recipient)."""
    recipient = notice.recipient.lower()
    if notice.kind == "signin":
        # Asked for by the person on /signin, for one sign-in: nothing to unsubscribe from.
        env = Envelope(
            message_id=message_id(settings.mail.from_address),
            sender=settings.mail.from_address,
            date=now,
            unsubscribe_url="",
            timezone=settings.schedule.timezone,
        )
        new = rows.NewNotice(
            kind=notice.kind,
            academy_id=notice.academy_id,
            scope=notice.scope,
            recipient=recipient,
            mention_id=None,
            subject=subject_for(notice),
            message_id=env.message_id,
            payload=_payload(notice, env),
        )
        return rows.add(tx, new, now, None)
    if notice.kind in ("provider", "confirm"):
        sub = subscriber_rows.find(tx, recipient, "provider")
        if sub is None:
            raise ValueError(f"no provider subscription for {recipient}")
    else:
        sub = (lookups or _TxLookups()).recipient(tx, recipient, notice.academy_id, now)
    raw, token = tokens.new_token(
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
    new = rows.NewNotice(
        kind=notice.kind,
        academy_id=notice.academy_id,
        scope=notice.scope,
        recipient=recipient,
        mention_id=notice.mention_id,
        subject=subject_for(notice),
        message_id=env.message_id,
        payload=_payload(notice, env),
    )
    return rows.add(tx, new, now, token)


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
        self._lookups: weakref.WeakKeyDictionary[Tx, _TxLookups] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # the runner's worker threads share one sink

    def _lookups_for(self, tx: Tx) -> _TxLookups:
        with self._lock:
            found = self._lookups.get(tx)
            if found is None:
                found = self._lookups[tx] = _TxLookups()
            return found

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
        lookups = self._lookups_for(tx)
        incident = (
            incident_for(tx, mention, now, assessment.categories)
            if rules.needs_incident(assessment)
            else None
        )
        notices = rules.urgent_notices(
            mention,
            assessment,
            academy,
            lookups.providers(tx),
            opted_out=lookups.muted(tx, academy.id),
            incident=incident,
            base_url=self.settings.web.public_base_url,
        )
        if not any(n.kind == "urgent" for n in notices):
            # Nobody can receive it: say so loudly; `status`, /healthz and the digest show it too.
            log.warning(
                "urgent mention reached no recipient: nobody receives urgent alerts for the academy",
                extra={"academy": academy.id, "mention": mention.id},
            )
        added = sum(1 for n in notices if add_notice(tx, n, self.settings, now, lookups))
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


def backoff(settings: Settings, attempts: int) -> timedelta:
    m = settings.mail
    return timedelta(
        seconds=min(m.retry_max_seconds, m.retry_base_seconds * 2 ** max(0, attempts - 1))
    )


def _claim(store: Store, now: datetime, lease: timedelta) -> rows.Claim | None:
    with store.transaction() as tx:
        return rows.claim(tx, now, now + lease)


def _finish(
    store: Store,
    claim: rows.Claim,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    with store.transaction() as tx:
        rows.finish(tx, claim.id, status, now, error=error, retry_at=retry_at)


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
    with store.transaction() as tx:
        tokens.purge_expired(tx, now)
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


def list_notices(store: Store, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    with store.transaction() as tx:
        return rows.list_notices(tx, status, limit)


def counts(store: Store) -> dict[str, int]:
    with store.transaction() as tx:
        return rows.counts(tx)


def outbox_backlog(store: Store) -> dict[str, int]:
    """For /healthz: notices waiting (pending) and given up (dead)."""
    c = counts(store)
    return {"pending": c.get(PENDING, 0), "dead": c.get(DEAD, 0)}


def retry_dead(store: Store, now: datetime) -> int:
    """Give every dead letter a fresh set of attempts, due now."""
    with store.transaction() as tx:
        return rows.retry_dead(tx, now)


def dead_letters(tx: Tx, academy_id: str, tz_name: str, limit: int = 20) -> list[str]:
    """Plain lines for the digest's health section: every notice of this academy still dead (no
    addresses: the digest is an email too, so the reason is redacted here, like any text that goes
    into a notice). A letter stays listed until retried or removed."""
    from alerts.render import short_time

    names = {
        "urgent": "urgent alert",
        "provider": "provider notice",
        "digest": "digest",
        "confirm": "confirmation email",
        "signin": "sign-in email",
        "breach_reminder": "breach decision reminder",
    }
    return [
        f"{names.get(r.kind, r.kind)} of {short_time(r.created_at, tz_name)} (outbox #{r.id}): "
        f"{rules.clean_text(r.last_error or 'unknown reason', 200)}"  # no addresses in the digest
        for r in rows.dead(tx, academy_id, limit)
    ]
