"""Who can be reached: each configured recipient's state per academy, the academies that nobody
receives urgent alerts for, and urgent mentions that reached nobody.

Read-only. `status`, /healthz, `sources`, `check-config` and the digest's health section use it,
so that muting the last recipient of an academy can never go unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import Settings
from monitor.store import Store
from monitor.store import notices as notice_rows
from monitor.store import subscribers as subscriber_rows

# How far back an urgent mention that reached nobody keeps health red: the ICO's 72 hours, the
# time within which someone must still be able to act on it.
UNREACHED_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class RecipientState:
    """One configured recipient of one academy, and what they receive."""

    academy_id: str
    email: str
    urgent: bool  # False only when an administrator muted urgent alerts for this academy
    digest: bool  # False when a link (or an administrator) muted the digest
    digest_muted_at: datetime | None


@dataclass(frozen=True)
class Unreached:
    """Urgent mentions of one academy, first seen in the window, that no urgent alert went out for."""

    academy_id: str
    count: int
    latest: datetime


def recipient_states(store: Store, settings: Settings) -> list[RecipientState]:
    with store.transaction() as tx:
        rows = {r.email.lower(): r for r in subscriber_rows.all_of_role(tx, "recipient")}
    out = []
    for a in settings.academies:
        for email in dict.fromkeys(e.lower() for e in a.recipients):
            r = rows.get(email)
            out.append(
                RecipientState(
                    academy_id=a.id,
                    email=email,
                    urgent=r is None or a.id not in r.urgent_muted,
                    digest=r is None or (r.digest_muted_at is None and r.status == "active"),
                    digest_muted_at=r.digest_muted_at if r is not None else None,
                )
            )
    return out


def without_urgent_recipient(
    settings: Settings, states: Sequence[RecipientState]
) -> tuple[str, ...]:
    """Pure: ids of academies that no active recipient receives urgent alerts for."""
    covered = {st.academy_id for st in states if st.urgent}
    return tuple(a.id for a in settings.academies if a.id not in covered)


def unreached_urgent(
    store: Store, settings: Settings, since: datetime, until: datetime | None = None
) -> list[Unreached]:
    """Per academy: urgent mentions first seen in [since, until) whose story has no urgent alert
    in the outbox (pending, sent or dead; cancelled does not count)."""
    found: dict[str, list[datetime]] = {}
    with store.transaction() as tx:
        ids = [a.id for a in settings.academies]
        for academy_id, seen in notice_rows.urgent_without_alert(tx, ids, since, until):
            found.setdefault(academy_id, []).append(seen)
    return [Unreached(a, len(t), max(t)) for a, t in sorted(found.items())]


def problem_lines(
    settings: Settings,
    states: Sequence[RecipientState],
    unreached: Sequence[Unreached],
    *,
    period: str = "of the last 72 hours",
    only: str | None = None,
) -> tuple[str, ...]:
    """Pure: one plain line per problem (no addresses), for status, /healthz and the digest
    (`only`: one academy's)."""
    out = []
    for aid in without_urgent_recipient(settings, states):
        if only is not None and aid != only:
            continue
        mine = [st for st in states if st.academy_id == aid]
        why = (
            "no recipients are configured (academies.recipients)"
            if not mine
            else "every recipient's urgent alerts are muted "
            "(`mention-monitor recipients enable ADDRESS` turns them back on)"
        )
        out.append(f"{aid}: nobody receives urgent alerts: {why}")
    for u in unreached:
        if only is not None and u.academy_id != only:
            continue
        out.append(
            f"{u.academy_id}: {u.count} urgent mention(s) {period} reached nobody "
            f"(latest first seen {u.latest:%Y-%m-%d %H:%M} UTC); see "
            f"`mention-monitor mentions --academy {u.academy_id} --since 72h`"
        )
    return tuple(out)
