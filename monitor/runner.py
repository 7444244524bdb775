"""The one orchestration: run a source end to end (fetch -> parse -> match -> dedup -> score -> store).

Each source run writes its mentions, assessments, outbox notices and scheduling state in one
transaction. An error in one source is recorded on that source and never stops the others.
Scoring happens between the read that finds what is new and the write that stores it, so the
database write lock is never held while the model runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from monitor.clock import Clock, system_clock
from monitor.config import AcademyConfig, Settings, SourceConfig, source_key, source_options
from monitor.dedup import identify, simhash_bands
from monitor.matching import Matcher, Watch
from monitor.models import Assessment, CollectStats, Match, Mention, RawItem, ScoringInput
from monitor.store import SourceRow, Store, Tx
from monitor.store.repository import Candidate
from sources.base import Collected, Collector, SourceSpec, make_spec, registry
from sources.errors import SourceError, SourceUnavailable
from sources.http import GuardedClient, backoff_seconds

log = logging.getLogger(__name__)

# A source that needs a person (credentials, blocked) is looked at again only this often.
UNAVAILABLE_RECHECK = timedelta(hours=24)


class Scorer(Protocol):
    model_version: str

    def assess(self, inputs: Sequence[ScoringInput]) -> list[Assessment]: ...


class NoticeSink(Protocol):
    """Writes outbox notices for a stored mention, inside the caller's transaction."""

    def enqueue(
        self, tx: Tx, mention: Mention, assessment: Assessment | None, now: datetime
    ) -> int: ...


class NoNotices:
    def enqueue(
        self, tx: Tx, mention: Mention, assessment: Assessment | None, now: datetime
    ) -> int:
        return 0


@dataclass(frozen=True)
class ConfiguredSource:
    key: str
    academy_id: str
    collector: Collector
    spec: SourceSpec
    interval: timedelta
    display_name: str = ""
    about_academy: bool = False


def configured_sources(settings: Settings) -> list[ConfiguredSource]:
    """Every enabled source of every academy, with its collector and validated options."""
    return [
        _configured(settings, academy, src)
        for academy in settings.academies
        for src in academy.sources
        if src.enabled
    ]


class UnknownSource(LookupError):
    """No enabled source has this key in the settings (removed or disabled since it was queued)."""


def configured_source(settings: Settings, key: str) -> ConfiguredSource:
    """The enabled source stored under `key`, built afresh from the settings (collectors keep no
    state between runs, so a job can run in any process)."""
    academy_id, _, name = key.partition("/")
    for academy in settings.academies:
        if academy.id != academy_id:
            continue
        for src in academy.sources:
            if src.name == name and src.enabled:
                return _configured(settings, academy, src)
    raise UnknownSource(key)


def _configured(settings: Settings, academy: AcademyConfig, src: SourceConfig) -> ConfiguredSource:
    cls = registry()[src.kind]
    key = source_key(academy.id, src.name)
    minutes = (
        src.interval_minutes
        or cls.default_interval_minutes
        or settings.schedule.default_interval_minutes
    )
    return ConfiguredSource(
        key=key,
        academy_id=academy.id,
        collector=cls(),
        spec=make_spec(key, src.kind, source_options(settings, src), academy.names),
        interval=timedelta(minutes=minutes),
        display_name=academy.display_name,
        about_academy=src.about_academy,
    )


def register_sources(store: Store, sources: Sequence[ConfiguredSource], now: datetime) -> None:
    """Give every configured source its scheduling row (new ones are due at once).

    Several processes may start at once (workers): one that loses the race to insert a new row
    tries again and finds it there."""
    rows = [(s.key, s.academy_id, s.spec.kind) for s in sources]
    try:
        store.sync_sources(rows, now)
    except IntegrityError:
        store.sync_sources(rows, now)


def matcher_for(settings: Settings, applied: Mapping[str, Sequence[str]]) -> Matcher:
    """The matcher of the configured academies, with the exclusions an admin applied (from
    "not about us" corrections, monitor/corrections.py) added to each academy's configured ones."""
    watches = []
    for a in settings.academies:
        w = Watch.from_config(a)
        extra = tuple(p for p in applied.get(a.id, ()) if p not in w.exclusions)
        watches.append(replace(w, exclusions=w.exclusions + extra) if extra else w)
    return Matcher(watches)


@dataclass
class Runner:
    settings: Settings
    store: Store
    client: GuardedClient
    scorer: Scorer | None = None
    notices: NoticeSink = field(default_factory=NoNotices)
    clock: Clock = system_clock
    sources: list[ConfiguredSource] = field(init=False)
    matcher: Matcher = field(init=False)
    _exclusions: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sources = configured_sources(self.settings)
        self._exclusions = self.store.applied_exclusions()
        self.matcher = matcher_for(self.settings, self._exclusions)
        register_sources(self.store, self.sources, self.now())

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def due(self) -> list[ConfiguredSource]:
        by_key = {s.key: s for s in self.sources}
        return [by_key[r.key] for r in self.store.due_sources(self.now(), by_key)]

    def run_due(self) -> list[CollectStats]:
        """Run every due source one after another (the service runs them in a pool)."""
        return [self.run_source(src) for src in self.due()]

    def run_source(self, src: ConfiguredSource | str) -> CollectStats:
        """Run one source: a configured source, or its key (looked up in the settings afresh)."""
        if isinstance(src, str):
            src = configured_source(self.settings, src)
        started = time.monotonic()
        self._refresh_exclusions()
        row = self.store.source(src.key)
        try:
            collected = src.collector.collect(src.spec, row.state, self.client)
        except SourceError as exc:  # sources/errors.py: fetch, parse or unavailable
            if isinstance(exc, SourceUnavailable):
                return self._unavailable(src, exc, started)
            return self._failed(src, row, str(exc) or type(exc).__name__, exc.retry_after, started)
        except Exception as exc:  # a collector bug must not stop the other sources
            log.exception("collector crashed", extra={"source": src.key})
            reason = f"internal error in the {src.spec.kind} collector: {type(exc).__name__}"
            return self._failed(src, row, reason, None, started)
        return self._store(src, collected, started)

    def _refresh_exclusions(self) -> None:
        """An exclusion an admin applied since the last run counts from this run on (one small
        query per source run; the matcher is rebuilt only when the set changed)."""
        current = self.store.applied_exclusions()
        if current != self._exclusions:
            self._exclusions = current
            self.matcher = matcher_for(self.settings, current)

    # --- outcomes ---------------------------------------------------------------------------

    def _failed(
        self,
        src: ConfiguredSource,
        row: SourceRow,
        reason: str,
        retry_after: float | None,
        started: float,
    ) -> CollectStats:
        now = self.now()
        wait = (
            retry_after
            if retry_after
            else backoff_seconds(
                row.consecutive_errors + 1, cap=self.settings.network.max_backoff_hours * 3600
            )
        )
        next_check = now + max(timedelta(seconds=wait), min(src.interval, timedelta(minutes=5)))
        with self.store.transaction() as tx:
            n = tx.source_failed(src.key, reason, now, next_check)
        log.warning(
            "source failed", extra={"source": src.key, "reason": reason, "consecutive_errors": n}
        )
        return CollectStats(src.key, error=reason, seconds=time.monotonic() - started)

    def _unavailable(
        self, src: ConfiguredSource, exc: SourceUnavailable, started: float
    ) -> CollectStats:
        now = self.now()
        with self.store.transaction() as tx:
            tx.source_failed(
                src.key,
                exc.reason,
                now,
                now + UNAVAILABLE_RECHECK,
                status=exc.status,
                advice=exc.advice,
            )
        log.info("source needs attention", extra={"source": src.key, "status": exc.status})
        return CollectStats(
            src.key, attention=f"{exc.status}: {exc.reason}", seconds=time.monotonic() - started
        )

    def _store(self, src: ConfiguredSource, collected: Collected, started: float) -> CollectStats:
        now = self.now()
        next_check = now + src.interval
        if collected.not_modified:
            with self.store.transaction() as tx:
                tx.source_succeeded(
                    src.key, collected.state, now, next_check, not_modified=True, newest_item=None
                )
            return CollectStats(
                src.key,
                not_modified=True,
                seconds=time.monotonic() - started,
                notes=collected.notes,
            )

        candidates = list(self._candidates(src, collected.items))
        # Read first: which candidates are already stored? (A read-only transaction: on SQLite it
        # does not queue behind the other workers' writes.)
        with self.store.reading() as tx:
            known = tx.find_duplicates(candidates)  # one query per batch, not one per item
        fresh = [c for c, dup in zip(candidates, known, strict=True) if not dup]
        fresh = _unique(fresh)
        assessments: list[Assessment | None] = [None] * len(fresh)
        if self.scorer is not None and fresh:
            inputs = [
                ScoringInput(c.item.title, c.item.text, c.item.has_media, c.fingerprint)
                for c in fresh
            ]
            assessments = list(self.scorer.assess(inputs))

        stored = 0
        newest = (
            max((i.published_at or now for i in collected.items), default=None)
            if collected.items
            else None
        )
        with self.store.transaction() as tx:
            # Again inside the writing transaction, in one query: another source's run may have
            # stored one of these while we scored. Repeats within the batch went in _unique, and
            # the database's unique keys catch a concurrent run of this source (add_mention).
            stored_meanwhile = tx.find_duplicates(fresh)
            keep = [
                (c, a)
                for c, a, dup in zip(fresh, assessments, stored_meanwhile, strict=True)
                if not dup
            ]
            # Clusters, mentions and assessments in a few statements for the whole batch.
            mentions = tx.add_mentions([c for c, _ in keep], [a for _, a in keep], now)
            for (_c, a), mention in zip(keep, mentions, strict=True):
                if mention is None:
                    continue
                stored += 1
                self.notices.enqueue(tx, mention, a, now)
            tx.source_succeeded(
                src.key, collected.state, now, next_check, not_modified=False, newest_item=newest
            )
        stats = CollectStats(
            src.key,
            fetched=len(collected.items),
            new=stored,
            relevant=len(candidates),
            duplicates=len(candidates) - stored,
            seconds=time.monotonic() - started,
            notes=collected.notes,
        )
        log.info(
            "source collected",
            extra={
                "source": src.key,
                "fetched": stats.fetched,
                "new": stats.new,
                "relevant": stats.relevant,
            },
        )
        return stats

    def _candidates(self, src: ConfiguredSource, items: Iterable[RawItem]) -> Iterable[Candidate]:
        for item in items:
            matches = self.matcher.match(item.title, item.text)
            if not matches and src.about_academy:
                # The user says everything here is about the academy (its own review page, say).
                matches = [Match(src.academy_id, src.display_name, "source", 0, 0)]
            if not matches:
                continue
            ident = identify(item)
            b = simhash_bands(ident.simhash)
            for match in matches:
                # A source belongs to one academy, but an item found there may be about a sister
                # academy of the trust too: keep every match.
                yield Candidate(
                    item=item,
                    match=match,
                    canonical_url=ident.canonical_url,
                    fingerprint=ident.fingerprint,
                    simhash=ident.simhash,
                    bands=(b[0], b[1], b[2], b[3]),
                )


def _unique(cands: list[Candidate]) -> list[Candidate]:
    """Drop repeats inside one batch (a feed listing the same story twice)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for c in cands:
        # One batch is one source: its own id and the text decide (posts may share a page URL).
        keys = {
            (c.match.organisation, "fp:" + c.fingerprint),
            (c.match.organisation, "id:" + c.item.external_id),
        }
        if keys & seen:
            continue
        seen |= keys
        out.append(c)
    return out
