"""The mentions table and what hangs off it: assessments, story clusters, duplicate lookups, and
the erasure and retention purge that remove a mention with everything derived from it.

Functions take the caller's SQLAlchemy session (the `Store`/`Tx` facades of
monitor/store/repository.py open it); callers get the frozen `Mention` and `Assessment` of
monitor.models, never the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.authors import author_key
from monitor.dedup import SIMHASH_NEAR, near_duplicate
from monitor.models import Assessment, Evidence, Match, Mention, RawItem, Severity
from monitor.store.engine import insert_ignoring_conflicts
from monitor.store.schema import (
    AssessmentRecord,
    EmbeddingRecord,
    EvidencePackRecord,
    EvidenceQueueRecord,
    MentionRecord,
    NoticeRecord,
)


@dataclass(frozen=True)
class Candidate:
    """A matched item on its way into storage, with everything dedup computed for it."""

    item: RawItem
    match: Match
    canonical_url: str | None
    fingerprint: str
    simhash: int
    bands: tuple[int, int, int, int]


def _mention(r: MentionRecord) -> Mention:
    return Mention(
        id=r.id,
        organisation=r.organisation,
        source_key=r.source_key,
        external_id=r.external_id,
        url=r.url,
        canonical_url=r.canonical_url,
        title=r.title,
        text=r.text,
        author=r.author,
        published_at=r.published_at,
        first_seen_at=r.first_seen_at,
        has_media=r.has_media,
        fingerprint=r.fingerprint,
        cluster_id=r.cluster_id,
        matched_name=r.matched_name,
    )


def _mention_from_row(mention_id: int, row: dict[str, Any]) -> Mention:
    """The stored mention, built from the values just inserted (as `_mention` of the record)."""
    return Mention(
        id=mention_id,
        organisation=row["organisation"],
        source_key=row["source_key"],
        external_id=row["external_id"],
        url=row["url"],
        canonical_url=row["canonical_url"],
        title=row["title"],
        text=row["text"],
        author=row["author"],
        published_at=row["published_at"],
        first_seen_at=row["first_seen_at"],
        has_media=row["has_media"],
        fingerprint=row["fingerprint"],
        cluster_id=row["cluster_id"],
        matched_name=row["matched_name"],
    )


def assessment_from_record(r: AssessmentRecord) -> Assessment:
    return Assessment(
        probabilities=dict(r.probabilities),
        categories=tuple(
            r.corrected_categories if r.corrected_categories is not None else r.categories
        ),
        severity=Severity(r.severity),
        reason=r.reason,
        evidence=tuple(Evidence(**e) for e in r.evidence),
        model_version=r.model_version,
        truncated=r.truncated,
    )


def _evidence_json(a: Assessment) -> list[dict[str, object]]:
    return [
        {"start": e.start, "end": e.end, "kind": e.kind, "category": e.category, "text": e.text}
        for e in a.evidence
    ]


# --- duplicates and clusters ------------------------------------------------------------------


def find_duplicate(session: Session, c: Candidate) -> Mention | None:
    """The stored mention this candidate repeats: same source id, same URL, or same text."""
    org = c.match.organisation
    conds = [
        (MentionRecord.source_key == c.item.source_key)
        & (MentionRecord.external_id == c.item.external_id),
        MentionRecord.fingerprint == c.fingerprint,
    ]
    if c.canonical_url:
        # The same article reached through another source. Within one source, posts may share
        # a page URL (a forum thread, a review page): there the source's own id decides.
        conds.append(
            (MentionRecord.canonical_url == c.canonical_url)
            & (MentionRecord.source_key != c.item.source_key)
        )
    row = session.scalars(
        select(MentionRecord).where(MentionRecord.organisation == org, or_(*conds)).limit(1)
    ).first()
    return _mention(row) if row else None


def find_duplicates(session: Session, cands: Sequence[Candidate]) -> list[bool]:
    """For each candidate, whether a stored mention repeats it (as `find_duplicate` decides),
    in one query per organisation rather than one per candidate."""
    out = [False] * len(cands)
    by_org: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_org.setdefault(c.match.organisation, []).append(i)
    for org, idx in by_org.items():
        group = [cands[i] for i in idx]
        urls = [c.canonical_url for c in group if c.canonical_url]
        conds: list[ColumnElement[bool]] = [
            MentionRecord.external_id.in_({c.item.external_id for c in group}),
            MentionRecord.fingerprint.in_({c.fingerprint for c in group}),
        ]
        if urls:
            conds.append(MentionRecord.canonical_url.in_(set(urls)))
        q = select(
            MentionRecord.source_key,
            MentionRecord.external_id,
            MentionRecord.fingerprint,
            MentionRecord.canonical_url,
        ).where(MentionRecord.organisation == org, or_(*conds))
        ids: set[tuple[str, str]] = set()
        fps: set[str] = set()
        url_sources: dict[str, set[str]] = {}
        for source_key, external_id, fingerprint, canonical_url in session.execute(q):
            ids.add((source_key, external_id))
            fps.add(fingerprint)
            if canonical_url:
                url_sources.setdefault(canonical_url, set()).add(source_key)
        for i, c in zip(idx, group, strict=True):
            out[i] = (
                (c.item.source_key, c.item.external_id) in ids
                or c.fingerprint in fps
                or bool(
                    c.canonical_url
                    and url_sources.get(c.canonical_url, set()) - {c.item.source_key}
                )
            )
    return out


def find_cluster(
    session: Session,
    organisation: str,
    simhash: int,
    bands: Sequence[int],
    near: int = SIMHASH_NEAR,
) -> str | None:
    """The cluster of a stored near-duplicate (syndicated copy), found through the band index."""
    q = select(MentionRecord.cluster_id, MentionRecord.simhash).where(
        MentionRecord.organisation == organisation,
        or_(
            MentionRecord.band0 == bands[0],
            MentionRecord.band1 == bands[1],
            MentionRecord.band2 == bands[2],
            MentionRecord.band3 == bands[3],
        ),
    )
    for cluster_id, other in session.execute(q.limit(200)):
        if near_duplicate(simhash, other, near):
            return str(cluster_id)
    return None


# A batch's lookups and inserts go to the database in slices of this many candidates, which keeps
# every statement well under SQLite's limit on bound parameters (32766).
BATCH = 400
# find_cluster looks at this many band matches; the batched lookup does the same per candidate.
_CLUSTER_SCAN = 200


def find_clusters(
    session: Session, cands: Sequence[Candidate], near: int = SIMHASH_NEAR
) -> list[str | None]:
    """`find_cluster` for each candidate in one query per organisation and slice, not one per
    candidate. A candidate also finds the candidates before it in `cands`, as it would once they
    are inserted one by one; each gets the cluster id it will be stored with."""
    out: list[str | None] = [None] * len(cands)
    by_org: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_org.setdefault(c.match.organisation, []).append(i)
    for org, idx in by_org.items():
        stored: list[tuple[str, int, tuple[int, int, int, int]]] = []
        for start in range(0, len(idx), BATCH):
            group = [cands[i] for i in idx[start : start + BATCH]]
            q = (
                select(
                    MentionRecord.cluster_id,
                    MentionRecord.simhash,
                    MentionRecord.band0,
                    MentionRecord.band1,
                    MentionRecord.band2,
                    MentionRecord.band3,
                )
                .where(
                    MentionRecord.organisation == org,
                    or_(
                        *(
                            band.in_({c.bands[k] for c in group})
                            for k, band in enumerate(
                                (
                                    MentionRecord.band0,
                                    MentionRecord.band1,
                                    MentionRecord.band2,
                                    MentionRecord.band3,
                                )
                            )
                        )
                    ),
                )
                .order_by(MentionRecord.id)
            )
            stored += [(str(r[0]), int(r[1]), (r[2], r[3], r[4], r[5])) for r in session.execute(q)]
        # Stored rows first, then this batch's earlier candidates (inserted later: higher ids).
        earlier: list[tuple[str, int, tuple[int, int, int, int]]] = []
        for i in idx:
            c = cands[i]
            scanned = 0
            for cid, other, bands in (*stored, *earlier):
                if not any(a == b for a, b in zip(bands, c.bands, strict=True)):
                    continue
                scanned += 1
                if scanned > _CLUSTER_SCAN:
                    break
                if near_duplicate(c.simhash, other, near):
                    out[i] = cid
                    break
            cid = out[i] or _own_cluster(c)
            earlier.append((cid, c.simhash, c.bands))
    return out


def _own_cluster(c: Candidate) -> str:
    """The cluster id of a mention that starts its own story."""
    return f"c-{c.fingerprint[:24]}"


def cluster_already_assessed_urgent(
    session: Session, cluster_id: str, exclude_mention: int
) -> bool:
    q = (
        select(func.count())
        .select_from(MentionRecord)
        .join(AssessmentRecord, AssessmentRecord.mention_id == MentionRecord.id)
        .where(
            MentionRecord.cluster_id == cluster_id,
            MentionRecord.id != exclude_mention,
            AssessmentRecord.severity == Severity.URGENT.value,
        )
    )
    return bool(session.scalar(q))


# --- writes -----------------------------------------------------------------------------------


def add(session: Session, c: Candidate, cluster_id: str | None, now: datetime) -> Mention | None:
    """Insert a mention; None when the database already holds it (a concurrent run won)."""
    rec = MentionRecord(
        organisation=c.match.organisation,
        source_key=c.item.source_key,
        external_id=c.item.external_id,
        url=c.item.url,
        canonical_url=c.canonical_url,
        title=c.item.title,
        text=c.item.text,
        author=c.item.author,
        published_at=c.item.published_at,
        first_seen_at=now,
        has_media=c.item.has_media,
        fingerprint=c.fingerprint,
        simhash=c.simhash,
        band0=c.bands[0],
        band1=c.bands[1],
        band2=c.bands[2],
        band3=c.bands[3],
        cluster_id=cluster_id or _own_cluster(c),
        matched_name=c.match.matched_name,
    )
    try:
        with session.begin_nested():
            session.add(rec)
            session.flush()
    except IntegrityError:
        return None
    return _mention(rec)


def _row(c: Candidate, cluster_id: str | None, now: datetime) -> dict[str, Any]:
    return {
        "organisation": c.match.organisation,
        "source_key": c.item.source_key,
        "external_id": c.item.external_id,
        "url": c.item.url,
        "canonical_url": c.canonical_url,
        "title": c.item.title,
        "text": c.item.text,
        "author": c.item.author,
        "published_at": c.item.published_at,
        "first_seen_at": now,
        "has_media": c.item.has_media,
        "fingerprint": c.fingerprint,
        "simhash": c.simhash,
        "band0": c.bands[0],
        "band1": c.bands[1],
        "band2": c.bands[2],
        "band3": c.bands[3],
        "cluster_id": cluster_id or _own_cluster(c),
        "matched_name": c.match.matched_name,
    }  # other columns (kept, triage, ...) take their defaults, as in `add`


def add_many(
    session: Session,
    cands: Sequence[Candidate],
    assessments: Sequence[Assessment | None],
    now: datetime,
) -> list[Mention | None]:
    """Insert mentions (each in the cluster `find_clusters` gives it) with their assessments, in a
    few statements per batch rather than several per mention. Each result is the stored mention,
    or None where the database already holds it (a concurrent run won) or an earlier candidate of
    this batch has its source id or text: as `add` one by one would decide."""
    if len(assessments) != len(cands):
        raise ValueError("one assessment (or None) per candidate")
    clusters = find_clusters(session, cands)
    out: list[Mention | None] = [None] * len(cands)
    rows: dict[int, dict[str, Any]] = {}
    at: dict[tuple[str, str, str], int] = {}
    taken: set[tuple[str, str]] = set()
    for i, (c, cluster) in enumerate(zip(cands, clusters, strict=True)):
        key = (c.match.organisation, c.item.source_key, c.item.external_id)
        fp = (c.match.organisation, c.fingerprint)
        if key in at or fp in taken:
            continue  # the unique keys would refuse it after the earlier one
        at[key] = i
        taken.add(fp)
        rows[i] = _row(c, cluster, now)
    table = cast(Table, MentionRecord.__table__)
    stmt = insert_ignoring_conflicts(session, table).returning(
        table.c.id, table.c.organisation, table.c.source_key, table.c.external_id
    )
    pending = list(rows.values())
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        for mention_id, org, source_key, external_id in session.execute(stmt, chunk):
            i = at[(org, source_key, external_id)]
            out[i] = _mention_from_row(int(mention_id), rows[i])
    scored = [
        _assessment_row(m.id, a, now)
        for m, a in zip(out, assessments, strict=True)
        if m is not None and a is not None
    ]
    for start in range(0, len(scored), BATCH):
        session.execute(
            insert(cast(Table, AssessmentRecord.__table__)), scored[start : start + BATCH]
        )
    return out


def _assessment_row(mention_id: int, a: Assessment, now: datetime) -> dict[str, Any]:
    return {
        "mention_id": mention_id,
        "probabilities": dict(a.probabilities),
        "categories": list(a.categories),
        "severity": a.severity.value,
        "reason": a.reason,
        "evidence": _evidence_json(a),
        "model_version": a.model_version,
        "truncated": a.truncated,
        "scored_at": now,
        "corrected_categories": None,
    }


def add_assessment(session: Session, mention_id: int, a: Assessment, now: datetime) -> None:
    session.merge(AssessmentRecord(**_assessment_row(mention_id, a, now)))


def save_assessments(
    session: Session, pairs: Sequence[tuple[int, Assessment]], now: datetime
) -> None:
    """Replace assessments (rescoring); a Headteacher's correction is kept."""
    for mention_id, a in pairs:
        old = session.get(AssessmentRecord, mention_id)
        corrected = old.corrected_categories if old else None
        add_assessment(session, mention_id, a, now)
        if corrected is not None:
            session.get_one(AssessmentRecord, mention_id).corrected_categories = corrected


def set_kept(session: Session, mention_id: int, kept: bool) -> bool:
    """Exempt a mention from the retention purge (or undo that); False if it does not exist."""
    rec = session.get(MentionRecord, mention_id)
    if rec is None:
        return False
    rec.kept = kept
    return True


# --- reads ------------------------------------------------------------------------------------


def get(session: Session, mention_id: int) -> tuple[Mention, Assessment | None] | None:
    m = session.get(MentionRecord, mention_id)
    if m is None:
        return None
    a = session.get(AssessmentRecord, mention_id)
    return _mention(m), (assessment_from_record(a) if a else None)


def list_mentions(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    organisation: str | None = None,
    limit: int | None = None,
) -> list[tuple[Mention, Assessment | None]]:
    q = select(MentionRecord, AssessmentRecord).outerjoin(
        AssessmentRecord, AssessmentRecord.mention_id == MentionRecord.id
    )
    if since is not None:
        q = q.where(MentionRecord.first_seen_at >= since)
    if until is not None:
        q = q.where(MentionRecord.first_seen_at < until)
    if organisation is not None:
        q = q.where(MentionRecord.organisation == organisation)
    q = q.order_by(MentionRecord.first_seen_at.desc(), MentionRecord.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return [
        (_mention(m), assessment_from_record(a) if a is not None else None)
        for m, a in session.execute(q)
    ]


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(MentionRecord)) or 0)


def times_from_source(session: Session, source_key: str, since: datetime) -> list[datetime]:
    """When each mention from this source was first seen, since `since`."""
    q = select(MentionRecord.first_seen_at).where(
        MentionRecord.source_key == source_key, MentionRecord.first_seen_at >= since
    )
    return list(session.scalars(q))


def find_ids(
    session: Session,
    *,
    ids: Sequence[int] = (),
    url: str | None = None,
    author: str | None = None,
    text: str | None = None,
) -> list[int]:
    """Mentions to erase: by id, by (canonical) URL, by author, or containing a text."""
    conds: list[ColumnElement[bool]] = []
    if ids:
        conds.append(MentionRecord.id.in_(list(ids)))
    if url:
        conds.append(or_(MentionRecord.url == url, MentionRecord.canonical_url == url))
    if author and author_key(author):
        # Compare normalised forms on both sides: "@handle", "handle" and the profile
        # URL all name the same author (monitor/authors.py).
        wanted = author_key(author)
        stored = session.scalars(
            select(MentionRecord.author).where(MentionRecord.author.is_not(None)).distinct()
        )
        same = [a for a in stored if a is not None and author_key(a) == wanted]
        conds.append(MentionRecord.author.in_(same))
    if text:
        # lower() on both sides: LIKE ignores case on SQLite but not on PostgreSQL, and
        # erasure must find the same mentions on both.
        needle = text.lower()
        conds.append(
            or_(
                func.lower(MentionRecord.text).contains(needle, autoescape=True),
                func.lower(MentionRecord.title).contains(needle, autoescape=True),
            )
        )
    if not conds:
        return []
    return list(session.scalars(select(MentionRecord.id).where(or_(*conds))))


# --- erasure and retention --------------------------------------------------------------------


def erase(session: Session, mention_ids: Sequence[int]) -> int:
    """Erase mentions and everything derived from them, including unsent notices about them."""
    return _delete_mentions(session, list(mention_ids), keep_pending_notices=False)


def purge_before(session: Session, cutoff: datetime) -> int:
    """Delete mentions first seen before `cutoff` (unless kept) and what derives from them."""
    old = select(MentionRecord.id).where(
        MentionRecord.first_seen_at < cutoff, MentionRecord.kept.is_(False)
    )
    return _delete_mentions(session, list(session.scalars(old)), keep_pending_notices=True)


def _delete_mentions(session: Session, ids: list[int], *, keep_pending_notices: bool) -> int:
    """Delete mentions with their assessments, embeddings and outbox rows.

    Retention keeps notices still pending (an alert must not be lost to a purge); erasure does not.
    """
    if not ids:
        return 0
    fps = list(session.scalars(select(MentionRecord.fingerprint).where(MentionRecord.id.in_(ids))))
    session.execute(delete(AssessmentRecord).where(AssessmentRecord.mention_id.in_(ids)))
    notices = delete(NoticeRecord).where(NoticeRecord.mention_id.in_(ids))
    if keep_pending_notices:
        notices = notices.where(NoticeRecord.status != "pending")
    session.execute(notices)
    # Another stored mention may share the text (another academy): keep its embedding.
    still_used = set(
        session.scalars(
            select(MentionRecord.fingerprint).where(
                MentionRecord.fingerprint.in_(fps), MentionRecord.id.not_in(ids)
            )
        )
    )
    session.execute(
        delete(EmbeddingRecord).where(
            EmbeddingRecord.fingerprint.in_([f for f in fps if f not in still_used])
        )
    )
    # Evidence packs are kept as long as their mention: the rows go here, the folders after the
    # commit (monitor/evidence/pack.py remove_orphans).
    session.execute(delete(EvidenceQueueRecord).where(EvidenceQueueRecord.mention_id.in_(ids)))
    session.execute(delete(EvidencePackRecord).where(EvidencePackRecord.mention_id.in_(ids)))
    session.execute(delete(MentionRecord).where(MentionRecord.id.in_(ids)))
    return len(ids)
