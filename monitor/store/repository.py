"""The facades the program stores through: `Store` owns the engine, `Tx` is one unit of work.

`Store.transaction()` yields a `Tx` (one source run writes its mentions, assessments, notices and
scheduling state in one `Tx`). Both only open sessions and delegate: the queries live in one
module per aggregate (monitor/store/mentions.py, sources.py, state.py, and subscribers.py,
notices.py, incidents.py, leases.py, embeddings.py). Rows never leave the store: callers get
frozen dataclasses (monitor.models, `SourceRow`, `Candidate`, …).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.dedup import SIMHASH_NEAR
from monitor.models import Assessment, Mention
from monitor.store import mentions as mention_rows
from monitor.store import sources as source_rows
from monitor.store import state as service_state
from monitor.store.engine import ensure_current, make_engine, migrate
from monitor.store.leases import Leases
from monitor.store.mentions import Candidate, assessment_from_record
from monitor.store.schema import SourceRecord
from monitor.store.sources import SourceRow
from monitor.store.state import ACADEMY_ADDED
from monitor.values import SourceState

# Re-exported from their old home here: the row types and helpers moved to their own modules.
__all__ = [
    "ACADEMY_ADDED",
    "Candidate",
    "SourceRow",
    "Store",
    "Tx",
    "assessment_from_record",
]


class Tx:
    """One unit of work. Commit happens when the `with store.transaction()` block ends cleanly."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- mentions (monitor/store/mentions.py) -----------------------------------------------

    def find_duplicate(self, c: Candidate) -> Mention | None:
        """The stored mention this candidate repeats: same source id, same URL, or same text."""
        return mention_rows.find_duplicate(self.session, c)

    def find_duplicates(self, cands: Sequence[Candidate]) -> list[bool]:
        """For each candidate, whether a stored mention repeats it (as `find_duplicate` decides),
        in one query per organisation rather than one per candidate."""
        return mention_rows.find_duplicates(self.session, cands)

    def find_cluster(
        self, organisation: str, simhash: int, bands: Sequence[int], near: int = SIMHASH_NEAR
    ) -> str | None:
        """The cluster of a stored near-duplicate (syndicated copy), found through the band index."""
        return mention_rows.find_cluster(self.session, organisation, simhash, bands, near)

    def add_mention(self, c: Candidate, cluster_id: str | None, now: datetime) -> Mention | None:
        """Insert a mention; None when the database already holds it (a concurrent run won)."""
        return mention_rows.add(self.session, c, cluster_id, now)

    def add_mentions(
        self, cands: Sequence[Candidate], assessments: Sequence[Assessment | None], now: datetime
    ) -> list[Mention | None]:
        """Insert a batch of mentions, each in its story cluster, with their assessments, in a few
        statements; None for each one the database already holds (as `add_mention` decides)."""
        return mention_rows.add_many(self.session, cands, assessments, now)

    def add_assessment(self, mention_id: int, a: Assessment, now: datetime) -> None:
        mention_rows.add_assessment(self.session, mention_id, a, now)

    def cluster_already_assessed_urgent(self, cluster_id: str, exclude_mention: int) -> bool:
        return mention_rows.cluster_already_assessed_urgent(
            self.session, cluster_id, exclude_mention
        )

    # --- sources (monitor/store/sources.py) -------------------------------------------------

    def _source(self, key: str) -> SourceRecord:
        return source_rows.record(self.session, key)

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
        source_rows.succeeded(
            self.session,
            key,
            state,
            now,
            next_check,
            not_modified=not_modified,
            newest_item=newest_item,
        )

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
        return source_rows.failed(
            self.session, key, reason, now, next_check, status=status, advice=advice
        )


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

    # --- sources (monitor/store/sources.py) -------------------------------------------------

    def sync_sources(self, sources: Iterable[tuple[str, str, str]], now: datetime) -> None:
        """Make sure every configured (key, academy id, kind) has a row; new ones are due now."""
        with self.session() as session:
            source_rows.sync(session, sources, now)

    def academy_added(self, academy_id: str) -> datetime | None:
        """When the academy's sources were first registered; None when that is not known (it
        was configured before this was recorded, or has no sources)."""
        with self.session() as session:
            return service_state.academy_added(session, academy_id)

    def sources(self, keys: Iterable[str] | None = None) -> list[SourceRow]:
        with self.session() as session:
            return source_rows.list_sources(session, keys)

    def source(self, key: str) -> SourceRow:
        with self.session() as session:
            return source_rows.get(session, key)

    def due_sources(self, now: datetime, keys: Iterable[str]) -> list[SourceRow]:
        with self.session() as session:
            return source_rows.due(session, now, keys)

    def mention_times(self, source_key: str, since: datetime) -> list[datetime]:
        """When each mention from this source was first seen, since `since`."""
        with self.session() as session:
            return mention_rows.times_from_source(session, source_key, since)

    # --- mentions (monitor/store/mentions.py) -----------------------------------------------

    def mentions(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        organisation: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[Mention, Assessment | None]]:
        with self.session() as session:
            return mention_rows.list_mentions(
                session, since=since, until=until, organisation=organisation, limit=limit
            )

    def count_mentions(self) -> int:
        with self.session() as session:
            return mention_rows.count(session)

    def mention(self, mention_id: int) -> tuple[Mention, Assessment | None] | None:
        with self.session() as session:
            return mention_rows.get(session, mention_id)

    def save_assessments(self, pairs: Sequence[tuple[int, Assessment]], now: datetime) -> None:
        """Replace assessments (rescoring); a Headteacher's correction is kept."""
        with self.session() as session:
            mention_rows.save_assessments(session, pairs, now)

    def find_mention_ids(
        self,
        *,
        ids: Sequence[int] = (),
        url: str | None = None,
        author: str | None = None,
        text: str | None = None,
    ) -> list[int]:
        """Mentions to erase: by id, by (canonical) URL, by author, or containing a text."""
        with self.session() as session:
            return mention_rows.find_ids(session, ids=ids, url=url, author=author, text=text)

    def set_kept(self, mention_id: int, kept: bool) -> bool:
        """Exempt a mention from the retention purge (or undo that); False if it does not exist."""
        with self.session() as session:
            return mention_rows.set_kept(session, mention_id, kept)

    def erase(self, mention_ids: Sequence[int]) -> int:
        """Erase mentions and everything derived from them, including unsent notices about them."""
        if not mention_ids:
            return 0
        with self.session() as session:
            return mention_rows.erase(session, mention_ids)

    # --- service state (monitor/store/state.py) ---------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self.session() as session:
            return service_state.get(session, key)

    def set_state(self, key: str, value: str, now: datetime) -> None:
        with self.session() as session:
            service_state.put(session, key, value, now)

    # --- retention (monitor/store/mentions.py) ----------------------------------------------

    def purge_before(self, cutoff: datetime) -> int:
        """Delete mentions first seen before `cutoff` (unless kept) and what derives from them."""
        with self.session() as session:
            return mention_rows.purge_before(session, cutoff)
