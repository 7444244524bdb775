"""Subscriptions: providers' double opt-in to breach notices, and everyone's unsubscribe.

A provider added by the academy is "pending" until they follow the confirm link sent to them
(double opt-in); only then do they receive notices. Unsubscribe links work for providers and for
recipients named in the settings alike, and also cancel what is still waiting in the outbox.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from alerts import outbox, rules, tokens
from alerts.notice import ConfirmContent, Found, Notice
from monitor.config import Settings
from monitor.models import CATEGORIES
from monitor.scoring import taxonomy
from monitor.store import Store
from monitor.store.schema import NoticeRecord, SubscriberRecord, TokenRecord

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class SubscriptionError(ValueError):
    """A request that cannot be done as asked; the message says why, for a person."""


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class SubscriberView:
    id: int
    email: str
    role: str
    name: str
    academies: tuple[str, ...]
    categories: tuple[str, ...]
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


@dataclass(frozen=True)
class AddResult:
    subscriber_id: int
    status: str  # the subscription's status afterwards
    confirmation_queued: bool


def _view(r: SubscriberRecord) -> SubscriberView:
    return SubscriberView(
        r.id,
        r.email,
        r.role,
        r.name,
        tuple(r.academies),
        tuple(r.categories),
        r.status,
        r.created_at,
        r.confirmed_at,
        r.unsubscribed_at,
    )


def validate(
    settings: Settings, email: str, academies: Sequence[str], categories: Sequence[str]
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise SubscriptionError(f"not an email address: {email!r}")
    known = [a.id for a in settings.academies]
    chosen = tuple(dict.fromkeys(academies)) or tuple(known)
    unknown = [a for a in chosen if a not in known]
    if unknown:
        raise SubscriptionError(
            f"unknown academy id(s): {', '.join(unknown)}; known: {', '.join(known)}"
        )
    cats = tuple(dict.fromkeys(categories)) or rules.DEFAULT_PROVIDER_CATEGORIES
    bad = [c for c in cats if c not in CATEGORIES]
    if bad:
        raise SubscriptionError(
            f"unknown categories: {', '.join(bad)}; allowed: {', '.join(CATEGORIES)}"
        )
    return email, chosen, cats


def add(
    store: Store,
    settings: Settings,
    email: str,
    *,
    academies: Sequence[str] = (),
    categories: Sequence[str] = (),
    name: str = "",
    now: datetime,
) -> AddResult:
    """Subscribe a provider. New, pending or unsubscribed: a confirmation email is queued and
    nothing else is sent until it is confirmed. Already active: the choices are updated."""
    email, chosen, cats = validate(settings, email, academies, categories)
    with store.session() as s:
        rec = s.scalars(
            select(SubscriberRecord).where(
                SubscriberRecord.email == email, SubscriberRecord.role == "provider"
            )
        ).first()
        if rec is None:
            rec = SubscriberRecord(
                email=email,
                role="provider",
                name=name,
                academies=list(chosen),
                categories=list(cats),
                status="pending",
                created_at=now,
                confirmed_at=None,
                unsubscribed_at=None,
            )
            s.add(rec)
            s.flush()
        else:
            rec.academies, rec.categories = list(chosen), list(cats)
            rec.name = name or rec.name
            if rec.status == "active":
                return AddResult(rec.id, rec.status, False)
            rec.status = "pending"
        ttl = timedelta(days=settings.mail.confirm_link_days)
        raw = tokens.issue(s, rec.id, tokens.Purpose.CONFIRM, now, ttl)
        first = settings.academy(chosen[0])
        notice = Notice(
            kind="confirm",
            academy_id=first.id,
            academy_name=first.display_name if len(chosen) == 1 else "your academies",
            recipient=email,
            scope="confirm-" + tokens.token_hash(raw)[:16],
            mention_id=None,
            content=ConfirmContent(
                academies=tuple(settings.academy(a).display_name for a in chosen),
                categories=tuple(Found(c, taxonomy.label(c)) for c in cats),
                confirm_url=outbox.link(settings, "confirm", raw),
                expires_at=now + ttl,
            ),
        )
        queued = outbox.add_notice(s, notice, settings, now)
        return AddResult(rec.id, rec.status, queued)


def confirm(store: Store, raw: str, now: datetime) -> Outcome:
    """Follow a confirm link: the pending subscription becomes active."""
    with store.session() as s:
        chk = tokens.check(s, raw, tokens.Purpose.CONFIRM, now)
        if chk.state is tokens.TokenState.INVALID or chk.subscriber_id is None:
            return Outcome.INVALID
        rec = s.get(SubscriberRecord, chk.subscriber_id)
        if rec is None:
            return Outcome.INVALID
        if chk.state is tokens.TokenState.USED and rec.status == "active":
            return Outcome.ALREADY
        if chk.state is not tokens.TokenState.VALID:
            return Outcome.EXPIRED
        if rec.status == "unsubscribed":
            # An old confirm link must not undo a later unsubscribe.
            return Outcome.INVALID
        tokens.mark_used(s, raw, now)
        rec.status, rec.confirmed_at, rec.unsubscribed_at = "active", now, None
        return Outcome.DONE


def confirm_by_admin(store: Store, email: str, now: datetime) -> bool:
    """Record a provider's confirmation given another way (in writing, by phone)."""
    with store.session() as s:
        rec = s.scalars(
            select(SubscriberRecord).where(
                SubscriberRecord.email == email.strip().lower(), SubscriberRecord.role == "provider"
            )
        ).first()
        if rec is None:
            return False
        rec.status, rec.confirmed_at, rec.unsubscribed_at = "active", now, None
        return True


_KINDS_BY_ROLE = {"provider": ("provider", "confirm"), "recipient": ("urgent", "digest")}


def unsubscribe(store: Store, raw: str, now: datetime) -> Outcome:
    """Follow an unsubscribe link (a click, or an RFC 8058 one-click POST). Repeating it is fine."""
    with store.session() as s:
        chk = tokens.check(s, raw, tokens.Purpose.UNSUBSCRIBE, now)
        if chk.state is tokens.TokenState.INVALID or chk.subscriber_id is None:
            return Outcome.INVALID
        if chk.state is tokens.TokenState.EXPIRED:
            return Outcome.EXPIRED
        rec = s.get(SubscriberRecord, chk.subscriber_id)
        if rec is None:
            return Outcome.INVALID
        tokens.mark_used(s, raw, now)
        if rec.status == "unsubscribed":
            return Outcome.ALREADY
        rec.status, rec.unsubscribed_at = "unsubscribed", now
        _cancel_pending(s, rec.email, _KINDS_BY_ROLE.get(rec.role, ()))
        return Outcome.DONE


def _cancel_pending(session: Session, email: str, kinds: Sequence[str]) -> None:
    session.execute(
        update(NoticeRecord)
        .where(
            NoticeRecord.recipient == email,
            NoticeRecord.status == outbox.PENDING,
            NoticeRecord.kind.in_(list(kinds)),
        )
        .values(status=outbox.CANCELLED, last_error="recipient unsubscribed")
    )


def remove(store: Store, email: str) -> bool:
    """Forget a provider: the subscription, its links, and what is still waiting to be sent."""
    email = email.strip().lower()
    with store.session() as s:
        rec = s.scalars(
            select(SubscriberRecord).where(
                SubscriberRecord.email == email, SubscriberRecord.role == "provider"
            )
        ).first()
        if rec is None:
            return False
        _cancel_pending(s, email, _KINDS_BY_ROLE["provider"])
        s.execute(delete(TokenRecord).where(TokenRecord.subscriber_id == rec.id))
        s.delete(rec)
        return True


def list_all(store: Store) -> list[SubscriberView]:
    with store.session() as s:
        q = select(SubscriberRecord).order_by(SubscriberRecord.role, SubscriberRecord.email)
        return [_view(r) for r in s.scalars(q)]


def link_state(store: Store, raw: str, purpose: tokens.Purpose, now: datetime) -> tokens.TokenState:
    """What a link's token is worth, without using it (for the page shown before the button)."""
    with store.session() as s:
        return tokens.check(s, raw, purpose, now).state
