"""The corrections table (labelled examples made by people) and the matcher-exclusion proposals.

A correction keeps the scoring text of its mention because `train --with-corrections` needs it;
it is deleted with the mention (foreign key ON DELETE CASCADE), so erasure and the retention purge
take it too. Heads trained earlier keep what they learned (weights, no text). An exclusion
proposal keeps only a short phrase around the matched name and outlives its mention (the link
becomes NULL) so that an applied exclusion keeps working.

Functions take the caller's session (the `Store`/`Tx` facades open it) and return frozen values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.schema import CorrectionRecord, ExclusionProposalRecord

KINDS = ("wrong_categories", "not_about_us")
STATUSES = ("proposed", "applied", "rejected")


@dataclass(frozen=True)
class Correction:
    id: int
    mention_id: int
    academy_id: str
    kind: str  # "wrong_categories" | "not_about_us"
    text: str  # the scoring text the scorer saw
    has_media: bool
    categories: tuple[str, ...]  # the right categories (empty for not_about_us)
    urgent: bool | None  # None: not said
    made_by: str
    made_at: datetime


@dataclass(frozen=True)
class ExclusionProposal:
    id: int
    academy_id: str
    phrase: str
    mention_id: int | None
    proposed_by: str
    proposed_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None


def _correction(r: CorrectionRecord) -> Correction:
    return Correction(
        id=r.id,
        mention_id=r.mention_id,
        academy_id=r.academy_id,
        kind=r.kind,
        text=r.text,
        has_media=r.has_media,
        categories=tuple(r.categories),
        urgent=r.urgent,
        made_by=r.made_by,
        made_at=r.made_at,
    )


def _proposal(r: ExclusionProposalRecord) -> ExclusionProposal:
    return ExclusionProposal(
        id=r.id,
        academy_id=r.academy_id,
        phrase=r.phrase,
        mention_id=r.mention_id,
        proposed_by=r.proposed_by,
        proposed_at=r.proposed_at,
        status=r.status,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
    )


def add(
    session: Session,
    *,
    mention_id: int,
    academy_id: str,
    kind: str,
    text: str,
    has_media: bool,
    categories: Sequence[str],
    urgent: bool | None,
    made_by: str,
    made_at: datetime,
) -> Correction:
    if kind not in KINDS:
        raise ValueError(f"unknown correction kind {kind!r}; one of {', '.join(KINDS)}")
    r = CorrectionRecord(
        mention_id=mention_id,
        academy_id=academy_id,
        kind=kind,
        text=text,
        has_media=has_media,
        categories=list(categories),
        urgent=urgent,
        made_by=made_by,
        made_at=made_at,
    )
    session.add(r)
    session.flush()
    return _correction(r)


def list_corrections(
    session: Session, *, academy_id: str | None = None, kind: str | None = None
) -> list[Correction]:
    q = select(CorrectionRecord).order_by(CorrectionRecord.id)
    if academy_id is not None:
        q = q.where(CorrectionRecord.academy_id == academy_id)
    if kind is not None:
        q = q.where(CorrectionRecord.kind == kind)
    return [_correction(r) for r in session.scalars(q)]


def propose(
    session: Session,
    *,
    academy_id: str,
    phrase: str,
    mention_id: int | None,
    by: str,
    now: datetime,
) -> ExclusionProposal:
    """A new proposal, or the open/applied one with the same phrase (no duplicates to review)."""
    same = session.scalars(
        select(ExclusionProposalRecord).where(
            ExclusionProposalRecord.academy_id == academy_id,
            ExclusionProposalRecord.phrase == phrase,
            ExclusionProposalRecord.status != "rejected",
        )
    ).first()
    if same is not None:
        return _proposal(same)
    r = ExclusionProposalRecord(
        academy_id=academy_id,
        phrase=phrase,
        mention_id=mention_id,
        proposed_by=by,
        proposed_at=now,
        status="proposed",
    )
    session.add(r)
    session.flush()
    return _proposal(r)


def list_proposals(
    session: Session, *, academy_id: str | None = None, status: str | None = None
) -> list[ExclusionProposal]:
    q = select(ExclusionProposalRecord).order_by(ExclusionProposalRecord.id)
    if academy_id is not None:
        q = q.where(ExclusionProposalRecord.academy_id == academy_id)
    if status is not None:
        q = q.where(ExclusionProposalRecord.status == status)
    return [_proposal(r) for r in session.scalars(q)]


def get_proposal(session: Session, proposal_id: int) -> ExclusionProposal | None:
    r = session.get(ExclusionProposalRecord, proposal_id)
    return _proposal(r) if r is not None else None


def decide(
    session: Session, proposal_id: int, status: str, by: str, now: datetime
) -> ExclusionProposal | None:
    """Mark a proposal applied or rejected; None when there is no such proposal."""
    if status not in ("applied", "rejected"):
        raise ValueError(f"a proposal is applied or rejected, not {status!r}")
    r = session.get(ExclusionProposalRecord, proposal_id)
    if r is None:
        return None
    r.status, r.decided_by, r.decided_at = status, by, now
    session.flush()
    return _proposal(r)


def applied_exclusions(session: Session) -> dict[str, tuple[str, ...]]:
    """Applied exclusion phrases per academy, for the matcher."""
    q = (
        select(ExclusionProposalRecord.academy_id, ExclusionProposalRecord.phrase)
        .where(ExclusionProposalRecord.status == "applied")
        .order_by(ExclusionProposalRecord.id)
    )
    out: dict[str, list[str]] = {}
    for academy, phrase in session.execute(q):
        out.setdefault(academy, []).append(phrase)
    return {k: tuple(v) for k, v in out.items()}
