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
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.dedup import SIMHASH_NEAR
from monitor.models import Assessment, Mention
from monitor.roles import Role, Viewer
from monitor.store import audit as audit_rows
from monitor.store import breaches as breach_rows
from monitor.store import corrections as correction_rows
from monitor.store import inbox as inbox_rows
from monitor.store import intake as intake_rows
from monitor.store import mentions as mention_rows
from monitor.store import removals as removal_rows
from monitor.store import sources as source_rows
from monitor.store import state as service_state
from monitor.store import triage as triage_rows
from monitor.store import users as user_rows
from monitor.store.audit import AuditEntry, AuditRow
from monitor.store.corrections import Correction, ExclusionProposal
from monitor.store.engine import READ_ONLY, ensure_current, make_engine, migrate
from monitor.store.inbox import InboxPage, InboxQuery, MentionDetail
from monitor.store.intake import IntakeLinks, NewReport
from monitor.store.leases import Leases
from monitor.store.mentions import Candidate, assessment_from_record
from monitor.store.schema import SourceRecord
from monitor.store.sources import SourceRow
from monitor.store.state import ACADEMY_ADDED
from monitor.store.triage import MuteRow, TimelineEvent, TriageResult
from monitor.store.users import ApiTokenRow, UserRow, WebSession
from monitor.triage import Command as TriageCommand
from monitor.triage import CorrectCategories, MarkNotAboutUs
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

    # --- workspace: users, sign-in, sessions, API tokens (monitor/store/users.py) and the
    # append-only audit log (monitor/store/audit.py). There is no method that changes or
    # deletes an audit row, on purpose.

    def audit(self, entry: AuditEntry) -> int:
        """Append one entry to the audit log; its id."""
        return audit_rows.append(self.session, entry)

    def audit_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRow]:
        return audit_rows.read(
            self.session, since=since, until=until, actor=actor, action=action, limit=limit
        )

    def user(self, email: str) -> UserRow | None:
        return user_rows.find(self.session, email)

    def user_by_id(self, user_id: int) -> UserRow | None:
        return user_rows.get(self.session, user_id)

    def users(self) -> list[UserRow]:
        return user_rows.list_users(self.session)

    def add_user(self, email: str, name: str, now: datetime) -> tuple[UserRow, bool]:
        return user_rows.add(self.session, email, name, now)

    def remove_user(self, email: str) -> bool:
        return user_rows.remove(self.session, email)

    def grant_role(self, user_id: int, academy_id: str, role: Role) -> bool:
        return user_rows.grant(self.session, user_id, academy_id, role)

    def revoke_role(self, user_id: int, academy_id: str, role: Role) -> bool:
        return user_rows.revoke(self.session, user_id, academy_id, role)

    def viewer(self, user_id: int) -> Viewer | None:
        return user_rows.viewer(self.session, user_id)

    def add_login_link(
        self, user_id: int, hashed: str, next_path: str, now: datetime, expires: datetime
    ) -> None:
        user_rows.add_login_link(self.session, user_id, hashed, next_path, now, expires)

    def login_link_state(self, hashed: str, now: datetime) -> str:
        return user_rows.login_link_state(self.session, hashed, now)

    def consume_login_link(self, hashed: str, now: datetime) -> tuple[int, str] | None:
        return user_rows.consume_login_link(self.session, hashed, now)

    def create_web_session(
        self, hashed: str, user_id: int, now: datetime, idle_minutes: int, csrf_secret: str
    ) -> None:
        user_rows.create_session(self.session, hashed, user_id, now, idle_minutes, csrf_secret)

    def touch_web_session(
        self, hashed: str, now: datetime, max_age: timedelta
    ) -> WebSession | None:
        return user_rows.touch_session(self.session, hashed, now, max_age)

    def end_web_session(self, hashed: str) -> bool:
        return user_rows.end_session(self.session, hashed)

    def add_api_token(self, user_id: int, hashed: str, name: str, now: datetime) -> int:
        return user_rows.add_api_token(self.session, user_id, hashed, name, now)

    def revoke_api_tokens(self, user_id: int, name: str, now: datetime) -> int:
        return user_rows.revoke_api_tokens(self.session, user_id, name, now)

    def api_token_user(self, hashed: str, now: datetime) -> int | None:
        return user_rows.api_token_user(self.session, hashed, now)

    def api_tokens(self) -> list[ApiTokenRow]:
        return user_rows.list_api_tokens(self.session)

    # --- triage (monitor/store/triage.py) ---------------------------------------------------

    def triage(
        self, mention_id: int, command: TriageCommand, actor: str, at: datetime
    ) -> TriageResult:
        """Apply one triage command (status, owner, note, mute…) and append its timeline event;
        TriageError when it is refused, and then nothing is written."""
        return triage_rows.apply(self.session, mention_id, command, actor, at)

    def correct(
        self,
        mention_id: int,
        command: MarkNotAboutUs | CorrectCategories,
        actor: str,
        at: datetime,
    ) -> TriageResult:
        """ "Not about us" / "wrong categories": the triage event and the corrected categories
        (the caller adds the labelled example: monitor.corrections.record_correction)."""
        return triage_rows.correct(self.session, mention_id, command, actor, at)

    def timeline(self, mention_id: int) -> list[TimelineEvent]:
        return triage_rows.timeline(self.session, mention_id)

    def inbox(self, query: InboxQuery) -> InboxPage:
        return inbox_rows.inbox(self.session, query)

    def mention_detail(self, mention_id: int) -> MentionDetail | None:
        return inbox_rows.mention_detail(self.session, mention_id)

    def mutes(self, academies: Sequence[str]) -> list[MuteRow]:
        return triage_rows.list_mutes(self.session, academies)

    # --- intake (monitor/store/intake.py) ---------------------------------------------------

    def add_intake_report(self, report: NewReport) -> int:
        """Record a report (and its screenshots) with the mention it made, in this transaction."""
        return intake_rows.add_report(self.session, report)

    # --- corrections (monitor/store/corrections.py) -----------------------------------------

    def mention(self, mention_id: int) -> tuple[Mention, Assessment | None] | None:
        return mention_rows.get(self.session, mention_id)

    def add_correction(
        self,
        mention: Mention,
        kind: str,
        text: str,
        categories: Sequence[str],
        urgent: bool | None,
        by: str,
        now: datetime,
    ) -> Correction:
        """Store a labelled example made from `mention` (text: the scoring text it had)."""
        return correction_rows.add(
            self.session,
            mention_id=mention.id,
            academy_id=mention.organisation,
            kind=kind,
            text=text,
            has_media=mention.has_media,
            categories=categories,
            urgent=urgent,
            made_by=by,
            made_at=now,
        )

    def propose_exclusion(
        self, academy_id: str, phrase: str, mention_id: int | None, by: str, now: datetime
    ) -> ExclusionProposal:
        return correction_rows.propose(
            self.session,
            academy_id=academy_id,
            phrase=phrase,
            mention_id=mention_id,
            by=by,
            now=now,
        )

    def decide_exclusion(
        self, proposal_id: int, status: str, by: str, now: datetime
    ) -> ExclusionProposal | None:
        return correction_rows.decide(self.session, proposal_id, status, by, now)

    def exclusion_proposal(self, proposal_id: int) -> ExclusionProposal | None:
        return correction_rows.get_proposal(self.session, proposal_id)


class Store:
    """The database, opened and migrated."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reads = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

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

    @property
    def intake(self) -> IntakeLinks:
        """Intake links, their rate limit, and reports by mention (monitor/store/intake.py)."""
        return IntakeLinks(self._sessions)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._sessions() as session, session.begin():
            yield Tx(session)

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A transaction that only reads (duplicate lookups before scoring, say). On SQLite it
        takes no write lock, so it neither waits for nor holds up the workers that write. Never
        write in it: SQLite would upgrade the lock mid-transaction, which fails at once when
        another writer is active. `transaction()` for anything that writes."""
        with self._reads() as session, session.begin():
            yield Tx(session)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A raw session that only reads (see `reading`), for the store's own modules."""
        with self._reads() as session, session.begin():
            yield session

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
        with self.read_session() as session:
            return source_rows.get(session, key)

    def due_sources(self, now: datetime, keys: Iterable[str]) -> list[SourceRow]:
        with self.read_session() as session:
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

    # --- audit log (monitor/store/audit.py): append and read only -----------------------------

    def audit(self, entry: AuditEntry) -> int:
        with self.transaction() as tx:
            return tx.audit(entry)

    def audit_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRow]:
        with self.transaction() as tx:
            return tx.audit_entries(
                since=since, until=until, actor=actor, action=action, limit=limit
            )

    # --- removal tracking and the breach log (monitor/store/removals.py, breaches.py) ---------

    def add_removal(self, new: removal_rows.NewRemoval, now: datetime) -> removal_rows.RemovalRow:
        """A new removal request, open and due for its first check now."""
        with self.session() as session:
            return removal_rows.add(session, new, now)

    def removal(self, removal_id: int) -> removal_rows.RemovalRow | None:
        with self.session() as session:
            return removal_rows.get(session, removal_id)

    def removals(
        self,
        *,
        open_only: bool = False,
        academy: str | None = None,
        mention_id: int | None = None,
        reported_before: datetime | None = None,
    ) -> list[removal_rows.RemovalRow]:
        """Removal requests, oldest first; `open_only` leaves out the confirmed removed."""
        with self.session() as session:
            return removal_rows.list_removals(
                session,
                open_only=open_only,
                academy=academy,
                mention_id=mention_id,
                reported_before=reported_before,
            )

    def due_removals(self, now: datetime, limit: int = 100) -> list[removal_rows.RemovalRow]:
        with self.session() as session:
            return removal_rows.due(session, now, limit)

    def record_removal_check(
        self,
        check: removal_rows.RemovalCheckRow,
        *,
        status: str,
        first_gone_at: datetime | None,
        removed_at: datetime | None,
        next_check_at: datetime | None,
    ) -> removal_rows.RemovalRow | None:
        """Log a check and move its request on, in one transaction; None if the request is gone."""
        with self.session() as session:
            return removal_rows.record_check(
                session,
                check,
                status=status,
                first_gone_at=first_gone_at,
                removed_at=removed_at,
                next_check_at=next_check_at,
            )

    def removal_checks(self, removal_ids: Sequence[int]) -> list[removal_rows.RemovalCheckRow]:
        with self.session() as session:
            return removal_rows.checks(session, removal_ids)

    def add_breach_decision(self, d: breach_rows.BreachDecision) -> breach_rows.BreachDecision:
        """Append the DPO's decision (UnknownIncident when there is no such incident)."""
        with self.session() as session:
            return breach_rows.add(session, d)

    def breach_decisions(
        self, incident_ids: Sequence[str] | None = None
    ) -> list[breach_rows.BreachDecision]:
        with self.session() as session:
            return breach_rows.decisions(session, incident_ids)

    def decided_incidents(self, incident_ids: Sequence[str]) -> set[str]:
        with self.session() as session:
            return breach_rows.decided_ids(session, incident_ids)

    def breach_incidents(
        self,
        *,
        academy: str | None = None,
        opened_since: datetime | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[breach_rows.IncidentFacts]:
        with self.session() as session:
            return breach_rows.incidents(
                session, academy=academy, opened_since=opened_since, ids=ids
            )

    # --- triage and the inbox (monitor/store/triage.py, inbox.py) ---------------------------

    def inbox(self, query: InboxQuery) -> InboxPage:
        """One page of the inbox with counts per status (monitor/store/inbox.py)."""
        with self.session() as session:
            return inbox_rows.inbox(session, query)

    def mention_detail(self, mention_id: int) -> MentionDetail | None:
        with self.session() as session:
            return inbox_rows.mention_detail(session, mention_id)

    # --- corrections (monitor/store/corrections.py) -----------------------------------------

    def corrections(
        self, *, academy_id: str | None = None, kind: str | None = None
    ) -> list[Correction]:
        with self.session() as session:
            return correction_rows.list_corrections(session, academy_id=academy_id, kind=kind)

    def exclusion_proposals(
        self, *, academy_id: str | None = None, status: str | None = None
    ) -> list[ExclusionProposal]:
        with self.session() as session:
            return correction_rows.list_proposals(session, academy_id=academy_id, status=status)

    def applied_exclusions(self) -> dict[str, tuple[str, ...]]:
        """Applied matcher exclusions per academy (merged with the configured ones)."""
        with self.read_session() as session:
            return correction_rows.applied_exclusions(session)
