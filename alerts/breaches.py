"""The breach log's reminder: 24 hours before an incident's ICO deadline, if the DPO has recorded
no decision, one email to the academy's DPO (academies.dpo_contact) through the outbox.

Exactly once per incident: the notice's scope is the incident id, and the outbox refuses a second
(kind, academy, scope, recipient). Safe to run every few minutes from any number of processes.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from alerts import outbox, rules
from alerts.notice import BreachReminderContent, Found, Notice
from monitor.breaches import ICO_WINDOW, reminder_due
from monitor.config import Settings
from monitor.scoring import taxonomy
from monitor.store import Store

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"[^\s<>@,;:()\"']+@[^\s<>@,;:()\"']+\.[^\s<>@,;:()\"']+")


def dpo_address(dpo_contact: str) -> str | None:
    """The email address in an academy's dpo_contact ("Name, dpo@x.org, 01234 …"), if any."""
    found = _ADDRESS.search(dpo_contact or "")
    return found.group().rstrip(".").lower() if found else None


def enqueue_breach_reminders(store: Store, settings: Settings, now: datetime) -> int:
    """Queue the reminder for every undecided incident within 24 hours of its deadline; returns
    how many were queued (0 for those already in the outbox)."""
    # Incidents whose reminder window can be open now were opened in (now - 72 h, now - 48 h].
    candidates = store.breach_incidents(opened_since=now - ICO_WINDOW)
    if not candidates:
        return 0
    decided = store.decided_incidents([c.id for c in candidates])
    queued = 0
    for inc in candidates:
        if not reminder_due(inc.opened_at, inc.id in decided, now):
            continue
        try:
            academy = settings.academy(inc.academy_id)
        except KeyError:
            continue
        recipient = dpo_address(academy.dpo_contact)
        if recipient is None:
            log.warning(
                "breach decision due but the academy has no DPO email address (dpo_contact)",
                extra={"academy": academy.id, "incident": inc.id},
            )
            continue
        base = settings.web.public_base_url
        content = BreachReminderContent(
            incident_id=inc.id,
            first_seen_at=inc.opened_at,
            deadline=inc.opened_at + ICO_WINDOW,
            found=tuple(
                Found(k, taxonomy.label(k)) for k in inc.categories if k in taxonomy.TAXONOMY
            ),
            dashboard_url=(
                rules.dashboard_url(base, inc.mention_id)
                if inc.mention_id
                else base.rstrip("/") + "/"
            ),
        )
        notice = Notice(
            "breach_reminder",
            academy.id,
            academy.display_name,
            recipient,
            inc.id,
            inc.mention_id,
            content,
        )
        with store.transaction() as tx:
            if outbox.add_notice(tx, notice, settings, now):
                queued += 1
                log.info("breach reminder queued", extra={"incident": inc.id})
    return queued


__all__ = ["dpo_address", "enqueue_breach_reminders"]
