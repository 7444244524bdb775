"""The incidents table: one possible personal-data breach per story (academy, cluster), opened by
alerts/outbox.py and listed by the `incidents` command. No mention text is stored here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select

from monitor.store.engine import insert_if_new
from monitor.store.repository import Tx
from monitor.store.schema import IncidentRecord


@dataclass(frozen=True)
class IncidentRow:
    id: str
    academy_id: str
    cluster_id: str
    mention_id: int | None  # None once the mention was erased or purged
    categories: tuple[str, ...]
    opened_at: datetime
    ico_deadline: datetime


def _row(r: IncidentRecord) -> IncidentRow:
    return IncidentRow(
        r.id,
        r.academy_id,
        r.cluster_id,
        r.mention_id,
        tuple(r.categories or ()),
        r.opened_at,
        r.ico_deadline,
    )


def for_story(
    tx: Tx, academy_id: str, cluster_id: str, categories: Sequence[str] = ()
) -> IncidentRow | None:
    """The story's incident, if it has one; `categories` it does not list yet are added to it."""
    rec = tx.session.scalars(
        select(IncidentRecord).where(
            IncidentRecord.academy_id == academy_id, IncidentRecord.cluster_id == cluster_id
        )
    ).first()
    if rec is None:
        return None
    merged = sorted(set(rec.categories or ()) | set(categories))
    if merged != list(rec.categories or ()):
        rec.categories = merged
    return _row(rec)


def add(tx: Tx, row: IncidentRow) -> bool:
    """Open an incident; False when the story already has one (a concurrent run won)."""
    # Runs inside the runner's write transaction for each new urgent story.
    return insert_if_new(
        tx.session,
        cast(Table, IncidentRecord.__table__),
        {
            "id": row.id,
            "academy_id": row.academy_id,
            "cluster_id": row.cluster_id,
            "mention_id": row.mention_id,
            "categories": sorted(set(row.categories)),
            "opened_at": row.opened_at,
            "ico_deadline": row.ico_deadline,
        },
    )


def list_incidents(
    tx: Tx, *, academy: str | None = None, since: datetime | None = None
) -> list[IncidentRow]:
    """Incidents, newest first; only one academy's, or only those opened since `since`."""
    q = select(IncidentRecord).order_by(IncidentRecord.opened_at.desc(), IncidentRecord.id.desc())
    if academy is not None:
        q = q.where(IncidentRecord.academy_id == academy)
    if since is not None:
        q = q.where(IncidentRecord.opened_at >= since)
    return [_row(r) for r in tx.session.scalars(q)]
