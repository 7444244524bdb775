"""The repository: every read and write the program makes, behind typed methods.

`Store` owns the engine; `Store.transaction()` yields a `Tx` for one unit of work (one source run
writes its mentions, assessments, notices and scheduling state in one `Tx`). Rows never leave
this module: callers get the frozen dataclasses of monitor.models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.authors import author_key
from monitor.dedup import SIMHASH_NEAR, near_duplicate
from monitor.models import Assessment, Evidence, Match, Mention, RawItem, Severity
from monitor.store.engine import ensure_current, make_engine, migrate
from monitor.store.leases import Leases
from monitor.store.schema import (
    AssessmentRecord,
    EmbeddingRecord,
    MentionRecord,
    NoticeRecord,
    ServiceStateRecord,
    SourceRecord,
)
from monitor.values import SourceState


@dataclass(frozen=True)
class SourceRow:
    """A source's scheduling state and health, as stored."""

    key: str
    academy_id: str
    kind: str
    state: SourceState
    next_check_at: datetime | None
    consecutive_errors: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_checked_at: datetime | None
    last_item_at: datetime | None
    status: str
    advice: str | None


@dataclass(frozen=True)
class Candidate:
    """A matched item on its way into storage, with everything dedup computed for it."""

    item: RawItem
    match: Match
    canonical_url: str | None
    fingerprint: str
    simhash: int
    bands: tuple[int, int, int, int]


def _source_row(r: SourceRecord) -> SourceRow:
    return SourceRow(
        key=r.key,
        academy_id=r.academy_id,
        kind=r.kind,
        state=SourceState(r.etag, r.last_modified, r.cursor),
        next_check_at=r.next_check_at,
        consecutive_errors=r.consecutive_errors or 0,
        last_error=r.last_error,
        last_error_at=r.last_error_at,
        last_success_at=r.last_success_at,
        last_checked_at=r.last_checked_at,
        last_item_at=r.last_item_at,
        status=r.status,
        advice=r.advice,
    )


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


class Tx:
    """One unit of work. Commit happens when the `with store.transaction()` block ends cleanly."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- mentions ---------------------------------------------------------------------------

    def find_duplicate(self, c: Candidate) -> Mention | None:
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
        row = self.session.scalars(
            select(MentionRecord).where(MentionRecord.organisation == org, or_(*conds)).limit(1)
        ).first()
        return _mention(row) if row else None

    def find_duplicates(self, cands: Sequence[Candidate]) -> list[bool]:
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
            for source_key, external_id, fingerprint, canonical_url in self.session.execute(q):
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
        self, organisation: str, simhash: int, bands: Sequence[int], near: int = SIMHASH_NEAR
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
        for cluster_id, other in self.session.execute(q.limit(200)):
            if near_duplicate(simhash, other, near):
                return str(cluster_id)
        return None

    def add_mention(self, c: Candidate, cluster_id: str | None, now: datetime) -> Mention | None:
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
            cluster_id=cluster_id or f"c-{c.fingerprint[:24]}",
            matched_name=c.match.matched_name,
        )
        try:
            with self.session.begin_nested():
                self.session.add(rec)
                self.session.flush()
        except IntegrityError:
            return None
        return _mention(rec)

    def add_assessment(self, mention_id: int, a: Assessment, now: datetime) -> None:
        self.session.merge(
            AssessmentRecord(
                mention_id=mention_id,
                probabilities=dict(a.probabilities),
                categories=list(a.categories),
                severity=a.severity.value,
                reason=a.reason,
                evidence=_evidence_json(a),
                model_version=a.model_version,
                truncated=a.truncated,
                scored_at=now,
                corrected_categories=None,
            )
        )

    def cluster_already_assessed_urgent(self, cluster_id: str, exclude_mention: int) -> bool:
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
        return bool(self.session.scalar(q))

    # --- sources ----------------------------------------------------------------------------

    def _source(self, key: str) -> SourceRecord:
        rec = self.session.scalars(select(SourceRecord).where(SourceRecord.key == key)).one()
        return rec

    def source_succeeded(
        self,
        key: str,
        state: SourceState,
        now: datetime,
        next_check: datetime,
        *,
        not_modified: bool,
        newest_item: datetime | None,
    ) -> None:
        rec = self._source(key)
        rec.etag, rec.last_modified, rec.cursor = state.etag, state.last_modified, state.cursor
        rec.next_check_at = next_check
        rec.consecutive_errors = 0
        rec.last_success_at = now
        rec.last_checked_at = now
        rec.status = "not_modified" if not_modified else "ok"
        rec.advice = None
        rec.running_since = None
        if newest_item is not None:
            rec.last_item_at = max(rec.last_item_at or newest_item, newest_item)

    def source_failed(
        self,
        key: str,
        reason: str,
        now: datetime,
        next_check: datetime,
        *,
        status: str = "error",
        advice: str | None = None,
    ) -> int:
        """Record a failure; returns the new count of consecutive errors."""
        rec = self._source(key)
        if status == "error":
            rec.consecutive_errors = (rec.consecutive_errors or 0) + 1
        rec.last_error = reason[:1000]
        rec.last_error_at = now
        rec.last_checked_at = now
        rec.next_check_at = next_check
        rec.status = status
        rec.advice = advice
        rec.running_since = None
        return rec.consecutive_errors


# service_state key prefix: when an academy was first configured (see Store.sync_sources).
ACADEMY_ADDED = "academy_added:"


class Store:
    """The database, opened and migrated."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, database_url: str, *, run_migrations: bool = True) -> Store:
        """Open the database; with `run_migrations`, make sure its schema is current (applied on
        SQLite, refused with SchemaNotCurrent on PostgreSQL: see monitor/store/engine.py)."""
        engine = make_engine(database_url)
        if run_migrations:
            ensure_current(engine)
        return cls(engine)

    @classmethod
    def migrate(cls, database_url: str) -> Store:
        """`mention-monitor migrate`: apply every pending migration, on any database."""
        engine = make_engine(database_url)
        migrate(engine)
        return cls(engine)

    @property
    def leases(self) -> Leases:
        """Who runs which source now (monitor/store/leases.py)."""
        return Leases(self._sessions)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._sessions() as session, session.begin():
            yield Tx(session)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A raw session, for the store's own modules and for tests that inspect tables; the
        program's code outside monitor/store/ uses `transaction()` and the repository functions."""
        with self._sessions() as session, session.begin():
            yield session

    # --- sources ----------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[tuple[str, str, str]], now: datetime) -> None:
        """Make sure every configured (key, academy id, kind) has a row; new ones are due now."""
        wanted = list(sources)
        with self.transaction() as tx:
            have = {r.key: r for r in tx.session.scalars(select(SourceRecord))}
            known = {r.academy_id for r in have.values()}
            for academy_id in sorted({a for _, a, _ in wanted} - known):
                # An academy none of whose sources was stored before is new: remember when, so
                # that its first digest covers only the time since (alerts/digest.py).
                key = ACADEMY_ADDED + academy_id
                if tx.session.get(ServiceStateRecord, key) is None:
                    tx.session.add(
                        ServiceStateRecord(key=key, value=now.isoformat(), updated_at=now)
                    )
            for key, academy_id, kind in wanted:
                rec = have.get(key)
                if rec is None:
                    tx.session.add(
                        SourceRecord(
                            key=key,
                            academy_id=academy_id,
                            kind=kind,
                            next_check_at=now,
                            status="new",
                            consecutive_errors=0,
                        )
                    )
                elif rec.kind != kind:
                    # A changed kind means a different source: forget the old cursor and validators.
                    rec.kind, rec.etag, rec.last_modified, rec.cursor = kind, None, None, None
                    rec.next_check_at = now

    def academy_added(self, academy_id: str) -> datetime | None:
        """When the academy's sources were first registered; None when that is not known (it
        was configured before this was recorded, or has no sources)."""
        value = self.get_state(ACADEMY_ADDED + academy_id)
        return datetime.fromisoformat(value) if value else None

    def sources(self, keys: Iterable[str] | None = None) -> list[SourceRow]:
        with self.transaction() as tx:
            q = select(SourceRecord).order_by(SourceRecord.key)
            if keys is not None:
                q = q.where(SourceRecord.key.in_(list(keys)))
            return [_source_row(r) for r in tx.session.scalars(q)]

    def source(self, key: str) -> SourceRow:
        with self.transaction() as tx:
            return _source_row(tx._source(key))

    def due_sources(self, now: datetime, keys: Iterable[str]) -> list[SourceRow]:
        with self.transaction() as tx:
            q = (
                select(SourceRecord)
                .where(
                    SourceRecord.key.in_(list(keys)),
                    or_(SourceRecord.next_check_at.is_(None), SourceRecord.next_check_at <= now),
                )
                .order_by(SourceRecord.next_check_at)
            )
            return [_source_row(r) for r in tx.session.scalars(q)]

    def mention_times(self, source_key: str, since: datetime) -> list[datetime]:
        """When each mention from this source was first seen, since `since`."""
        with self.transaction() as tx:
            q = select(MentionRecord.first_seen_at).where(
                MentionRecord.source_key == source_key, MentionRecord.first_seen_at >= since
            )
            return list(tx.session.scalars(q))

    # --- mentions ---------------------------------------------------------------------------

    def mentions(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        organisation: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[Mention, Assessment | None]]:
        with self.transaction() as tx:
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
                for m, a in tx.session.execute(q)
            ]

    def count_mentions(self) -> int:
        with self.transaction() as tx:
            return int(tx.session.scalar(select(func.count()).select_from(MentionRecord)) or 0)

    # --- service state ----------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self.transaction() as tx:
            rec = tx.session.get(ServiceStateRecord, key)
            return rec.value if rec else None

    def set_state(self, key: str, value: str, now: datetime) -> None:
        with self.transaction() as tx:
            tx.session.merge(ServiceStateRecord(key=key, value=value, updated_at=now))

    def mention(self, mention_id: int) -> tuple[Mention, Assessment | None] | None:
        with self.transaction() as tx:
            m = tx.session.get(MentionRecord, mention_id)
            if m is None:
                return None
            a = tx.session.get(AssessmentRecord, mention_id)
            return _mention(m), (assessment_from_record(a) if a else None)

    def save_assessments(self, pairs: Sequence[tuple[int, Assessment]], now: datetime) -> None:
        """Replace assessments (rescoring); a Headteacher's correction is kept."""
        with self.transaction() as tx:
            for mention_id, a in pairs:
                old = tx.session.get(AssessmentRecord, mention_id)
                corrected = old.corrected_categories if old else None
                tx.add_assessment(mention_id, a, now)
                if corrected is not None:
                    tx.session.get_one(
                        AssessmentRecord, mention_id
                    ).corrected_categories = corrected

    def find_mention_ids(
        self,
        *,
        ids: Sequence[int] = (),
        url: str | None = None,
        author: str | None = None,
        text: str | None = None,
    ) -> list[int]:
        """Mentions to erase: by id, by (canonical) URL, by author, or containing a text."""
        with self.transaction() as tx:
            conds: list[ColumnElement[bool]] = []
            if ids:
                conds.append(MentionRecord.id.in_(list(ids)))
            if url:
                conds.append(or_(MentionRecord.url == url, MentionRecord.canonical_url == url))
            if author and author_key(author):
                # Compare normalised forms on both sides: "@handle", "handle" and the profile
                # URL all name the same author (monitor/authors.py).
                wanted = author_key(author)
                stored = tx.session.scalars(
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
            return list(tx.session.scalars(select(MentionRecord.id).where(or_(*conds))))

    def set_kept(self, mention_id: int, kept: bool) -> bool:
        """Exempt a mention from the retention purge (or undo that); False if it does not exist."""
        with self.transaction() as tx:
            rec = tx.session.get(MentionRecord, mention_id)
            if rec is None:
                return False
            rec.kept = kept
            return True

    def erase(self, mention_ids: Sequence[int]) -> int:
        """Erase mentions and everything derived from them, including unsent notices about them."""
        if not mention_ids:
            return 0
        with self.transaction() as tx:
            return _delete_mentions(tx.session, list(mention_ids), keep_pending_notices=False)

    # --- retention --------------------------------------------------------------------------

    def purge_before(self, cutoff: datetime) -> int:
        """Delete mentions first seen before `cutoff` (unless kept) and what derives from them."""
        with self.transaction() as tx:
            old = select(MentionRecord.id).where(
                MentionRecord.first_seen_at < cutoff, MentionRecord.kept.is_(False)
            )
            return _delete_mentions(
                tx.session, list(tx.session.scalars(old)), keep_pending_notices=True
            )


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
    session.execute(delete(MentionRecord).where(MentionRecord.id.in_(ids)))
    return len(ids)
