"""Subscriptions: providers' double opt-in to breach notices, and everyone's unsubscribe.

A provider added by the academy is "pending" until they follow the confirm link sent to them
(double opt-in); only then do they receive notices, for the academies named when they were added.
A provider's unsubscribe link stops everything and cancels what is still waiting in the outbox.

A recipient named in the settings (the Headteacher) is different: their unsubscribe link mutes the
daily digest only. Urgent alerts about one academy can be muted only by an administrator
(`mute_urgent`, the `recipients mute --urgent` command), and `enable` undoes every mute; so a link
scanner or a stray click can never stop the alerts a school must not miss.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from alerts import outbox, rules, tokens
from alerts.notice import ConfirmContent, Found, Notice
from monitor.config import Settings
from monitor.models import CATEGORIES
from monitor.scoring import taxonomy
from monitor.store import Store, Tx
from monitor.store import notices as notice_rows
from monitor.store import subscribers as rows

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class SubscriptionError(ValueError):
    """A request that cannot be done as asked; the message says why, for a person."""


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"
    DIGEST_MUTED = "digest_muted"  # a configured recipient: the digest only, urgent alerts go on
    DIGEST_ALREADY_MUTED = "digest_already_muted"
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


def _view(r: rows.SubscriberRow) -> SubscriberView:
    return SubscriberView(
        r.id,
        r.email,
        r.role,
        r.name,
        r.academies,
        r.categories,
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
    configured = [a.id for a in settings.academies if email in (r.lower() for r in a.recipients)]
    if configured:
        raise SubscriptionError(
            f"{email} is a configured recipient of {', '.join(configured)} (academies.recipients): "
            "they already receive urgent alerts and the digest. A provider subscription needs the "
            "provider's own address; see `mention-monitor recipients` to manage a recipient."
        )
    chosen = tuple(dict.fromkeys(academies))
    if not chosen:
        raise SubscriptionError(
            "name the academies this provider serves: --academy ID (repeat for several); "
            f"known: {', '.join(known)}"
        )
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
    """Subscribe a provider to the academies it serves (at least one, named). New, pending or
    unsubscribed: a confirmation email is queued and nothing else is sent until it is confirmed.
    Already active: the choices are updated."""
    email, chosen, cats = validate(settings, email, academies, categories)
    with store.transaction() as tx:
        rec = rows.find(tx, email, "provider")
        if rec is None:
            rec = rows.add_provider(
                tx, email, name=name, academies=chosen, categories=cats, status="pending", now=now
            )
        else:
            rec = dataclasses.replace(rec, academies=chosen, categories=cats, name=name or rec.name)
            if rec.status != "active":
                rec = dataclasses.replace(rec, status="pending")
            rows.save(tx, rec)
            if rec.status == "active":
                return AddResult(rec.id, rec.status, False)
        ttl = timedelta(days=settings.mail.confirm_link_days)
        raw = tokens.issue(tx, rec.id, tokens.Purpose.CONFIRM, now, ttl)
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
        queued = outbox.add_notice(tx, notice, settings, now)
        return AddResult(rec.id, rec.status, queued)


def confirm(store: Store, raw: str, now: datetime) -> Outcome:
    """Follow a confirm link: the pending subscription becomes active."""
    with store.transaction() as tx:
        chk = tokens.check(tx, raw, tokens.Purpose.CONFIRM, now)
        if chk.state is tokens.TokenState.INVALID or chk.subscriber_id is None:
            return Outcome.INVALID
        rec = rows.get(tx, chk.subscriber_id)
        if rec is None:
            return Outcome.INVALID
        if chk.state is tokens.TokenState.USED and rec.status == "active":
            return Outcome.ALREADY
        if chk.state is not tokens.TokenState.VALID:
            return Outcome.EXPIRED
        if rec.status == "unsubscribed":
            # An old confirm link must not undo a later unsubscribe.
            return Outcome.INVALID
        tokens.mark_used(tx, raw, now)
        rows.save(
            tx, dataclasses.replace(rec, status="active", confirmed_at=now, unsubscribed_at=None)
        )
        return Outcome.DONE


def confirm_by_admin(store: Store, email: str, now: datetime) -> bool:
    """Record a provider's confirmation given another way (in writing, by phone)."""
    with store.transaction() as tx:
        rec = rows.find(tx, email.strip().lower(), "provider")
        if rec is None:
            return False
        rows.save(
            tx, dataclasses.replace(rec, status="active", confirmed_at=now, unsubscribed_at=None)
        )
        return True


_KINDS_BY_ROLE = {"provider": ("provider", "confirm"), "recipient": ("urgent", "digest")}


def unsubscribe(store: Store, raw: str, now: datetime) -> Outcome:
    """Follow an unsubscribe link (a click, or an RFC 8058 one-click POST). Repeating it is fine.

    A provider is unsubscribed from everything. A configured recipient mutes the digest only
    (DIGEST_MUTED): urgent alerts keep coming until an administrator mutes them."""
    with store.transaction() as tx:
        chk = tokens.check(tx, raw, tokens.Purpose.UNSUBSCRIBE, now)
        if chk.state is tokens.TokenState.INVALID or chk.subscriber_id is None:
            return Outcome.INVALID
        if chk.state is tokens.TokenState.EXPIRED:
            return Outcome.EXPIRED
        rec = rows.get(tx, chk.subscriber_id)
        if rec is None:
            return Outcome.INVALID
        tokens.mark_used(tx, raw, now)
        if rec.role == "recipient":
            if rec.digest_muted_at is not None:
                return Outcome.DIGEST_ALREADY_MUTED
            rows.save(tx, dataclasses.replace(rec, digest_muted_at=now))
            _cancel_pending(tx, rec.email, ("digest",))
            return Outcome.DIGEST_MUTED
        if rec.status == "unsubscribed":
            return Outcome.ALREADY
        rows.save(tx, dataclasses.replace(rec, status="unsubscribed", unsubscribed_at=now))
        _cancel_pending(tx, rec.email, _KINDS_BY_ROLE.get(rec.role, ()))
        return Outcome.DONE


def link_role(store: Store, raw: str, now: datetime) -> str | None:
    """Whose unsubscribe link this is ("provider" or "recipient"), for the page before the button."""
    with store.transaction() as tx:
        chk = tokens.check(tx, raw, tokens.Purpose.UNSUBSCRIBE, now)
        rec = rows.get(tx, chk.subscriber_id) if chk.subscriber_id else None
        return rec.role if rec is not None else None


# --- configured recipients: what an administrator may mute and enable ----------------------------


def _recipient(tx: Tx, settings: Settings, email: str, now: datetime) -> rows.SubscriberRow:
    email = email.strip().lower()
    academies = [a.id for a in settings.academies if email in (r.lower() for r in a.recipients)]
    if not academies:
        raise SubscriptionError(
            f"{email} is not a recipient in the settings (academies.recipients); "
            "providers are managed with `mention-monitor subscribers`"
        )
    rec = outbox.recipient_row(tx, email, academies[0], now)
    for a in academies[1:]:
        rec = outbox.recipient_row(tx, email, a, now)
    return rec


def recipient_academies(settings: Settings, email: str) -> tuple[str, ...]:
    email = email.strip().lower()
    return tuple(a.id for a in settings.academies if email in (r.lower() for r in a.recipients))


def mute(
    store: Store,
    settings: Settings,
    email: str,
    *,
    urgent_academies: Sequence[str] = (),
    digest: bool = True,
    now: datetime,
) -> None:
    """An administrator mutes a configured recipient: the digest, and/or urgent alerts for the
    named academies (each must be one the address is a recipient of)."""
    with store.transaction() as tx:
        rec = _recipient(tx, settings, email, now)
        mine = recipient_academies(settings, email)
        bad = [a for a in urgent_academies if a not in mine]
        if bad:
            raise SubscriptionError(
                f"{rec.email} is not a recipient of {', '.join(bad)}; it is of {', '.join(mine)}"
            )
        if digest and rec.digest_muted_at is None:
            rec = dataclasses.replace(rec, digest_muted_at=now)
            rows.save(tx, rec)
            _cancel_pending(tx, rec.email, ("digest",))
        if urgent_academies:
            muted = tuple(sorted(set(rec.urgent_muted) | set(urgent_academies)))
            rows.save(tx, dataclasses.replace(rec, urgent_muted=muted))
            notice_rows.cancel_pending(
                tx,
                rec.email,
                ("urgent",),
                "muted by an administrator",
                academies=urgent_academies,
            )


def enable(store: Store, settings: Settings, email: str, now: datetime) -> None:
    """Undo every mute of a configured recipient: the digest and urgent alerts come again."""
    with store.transaction() as tx:
        rec = _recipient(tx, settings, email, now)
        rows.save(
            tx,
            dataclasses.replace(
                rec, status="active", digest_muted_at=None, urgent_muted=(), unsubscribed_at=None
            ),
        )


def _cancel_pending(tx: Tx, email: str, kinds: Sequence[str]) -> None:
    notice_rows.cancel_pending(tx, email, kinds, "recipient unsubscribed")


def remove(store: Store, email: str) -> bool:
    """Forget a provider: the subscription, its links, and what is still waiting to be sent."""
    email = email.strip().lower()
    with store.transaction() as tx:
        rec = rows.find(tx, email, "provider")
        if rec is None:
            return False
        _cancel_pending(tx, email, _KINDS_BY_ROLE["provider"])
        rows.delete_subscriber(tx, rec.id)
        return True


def list_all(store: Store) -> list[SubscriberView]:
    with store.transaction() as tx:
        return [_view(r) for r in rows.list_all(tx)]


def link_state(store: Store, raw: str, purpose: tokens.Purpose, now: datetime) -> tokens.TokenState:
    """What a link's token is worth, without using it (for the page shown before the button)."""
    with store.transaction() as tx:
        return tokens.check(tx, raw, purpose, now).state
