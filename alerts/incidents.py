"""Incidents as a record: listing the possible personal-data breaches the alerts opened, for the
`incidents` command (a table, or a JSON or CSV export for the academy's breach log).

An incident row holds no mention text: its id, academy, categories, the ICO clock and a link to
the mention in the dashboard. Opening incidents is alerts/outbox.py's job (`incident_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts import rules
from monitor.store import Store
from monitor.store import incidents as rows


@dataclass(frozen=True)
class IncidentRow:
    id: str
    academy_id: str
    categories: tuple[str, ...]
    opened_at: datetime
    ico_deadline: datetime
    mention_id: int | None  # None once the mention was erased or purged
    dashboard_url: str | None


def list_incidents(
    store: Store, base_url: str, *, academy: str | None = None, since: datetime | None = None
) -> list[IncidentRow]:
    """Incidents, newest first; only one academy's, or only those opened since `since`."""
    with store.transaction() as tx:
        found = rows.list_incidents(tx, academy=academy, since=since)
    return [
        IncidentRow(
            id=r.id,
            academy_id=r.academy_id,
            categories=r.categories,
            opened_at=r.opened_at,
            ico_deadline=r.ico_deadline,
            mention_id=r.mention_id,
            dashboard_url=(rules.dashboard_url(base_url, r.mention_id) if r.mention_id else None),
        )
        for r in found
    ]
