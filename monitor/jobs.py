"""The jobs: plain functions of ids, the same for every executor.

`poll_source(ctx, source_key)`, `dispatch_outbox(ctx)`, `send_digests(ctx)` and
`purge_expired(ctx)` each load what they need from the database and the settings, so any process
can run any of them: the APScheduler service (monitor/service.py, one process) and Procrastinate
workers (monitor/worker.py, any number) call these same functions. `JobContext` holds only what
is expensive to build and safe to share between jobs of one process: the store (a connection
pool), the HTTP client, the scorer (loaded on first use) and the mail transport.

Like monitor/service.py, this module is part of the composition root: it imports `alerts` (the
outbox sink, the dispatcher, the digest) to wire them into the jobs, lazily.

One run per source at a time is the database's job: `poll_source` takes the source's lease
(monitor/store/leases.py) or does nothing, and a run that finds its source no longer due (another
process ran it meanwhile) does nothing either.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.clock import Clock, system_clock
from monitor.config import Settings
from monitor.health import SourceHealth, source_health
from monitor.models import CollectStats
from monitor.runner import (
    NoticeSink,
    Runner,
    Scorer,
    UnknownSource,
    configured_sources,
    register_sources,
)
from monitor.store import Store
from monitor.store.leases import Holder

if TYPE_CHECKING:
    from alerts.smtp import Transport
    from sources.http import GuardedClient

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What jobs of one process share. Built from Settings; the runner and scorer on first use."""

    settings: Settings
    store: Store
    clock: Clock = system_clock
    score: bool = True
    holder: Holder = field(default_factory=Holder.this_process)
    runner_: Runner | None = None
    transport_: Transport | None = None
    client_: GuardedClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _runs: itertools.count[int] = field(default_factory=itertools.count, repr=False)
    _registered: bool = field(default=False, repr=False)

    @classmethod
    def open(
        cls, settings: Settings, *, clock: Clock = system_clock, score: bool = True
    ) -> JobContext:
        return cls(settings, Store.open(settings.database_url), clock=clock, score=score)

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def runner(self) -> Runner:
        with self._lock:  # worker threads share one runner (and one loaded model)
            if self.runner_ is None:
                self.runner_ = self._build_runner()
            return self.runner_

    def _build_runner(self) -> Runner:
        from monitor.app import client_config
        from sources.http import GuardedClient

        self.client_ = GuardedClient(client_config(self.settings))
        scorer: Scorer | None = None
        notices: NoticeSink | None = None
        if self.score:
            from alerts.outbox import OutboxSink
            from monitor.scoring import cache_key, load_scorer
            from monitor.store.embeddings import StoreEmbeddingCache

            scorer = load_scorer(
                self.settings.scoring,
                cache=StoreEmbeddingCache(self.store, cache_key(self.settings.scoring)),
                # A queue worker runs up to this many jobs at once, sharing this scorer.
                concurrency=self.settings.queue.worker_concurrency,
            )
            notices = OutboxSink(self.settings)
            if self.settings.evidence.auto_capture_urgent:
                from monitor.evidence.access import UrgentEvidenceSink

                notices = UrgentEvidenceSink(notices)
        from monitor.runner import NoNotices

        return Runner(
            settings=self.settings,
            store=self.store,
            client=self.client_,
            scorer=scorer,
            notices=notices or NoNotices(),
            clock=self.clock,
        )

    def transport(self) -> Transport:
        """The mail transport: the one given (the service's), else a new one per dispatch run.

        A transport holds one SMTP connection and the dispatcher closes it when done, so two
        dispatch runs at once in one process (worker threads) must not share one."""
        if self.transport_ is not None:
            return self.transport_
        from alerts.smtp import transport_for

        return transport_for(self.settings.mail)

    def run_holder(self) -> str:
        """A lease holder id for one run: this process, and which of its runs."""
        h = self.holder
        return str(Holder(h.host, h.pid, f"{h.token}-{next(self._runs)}"))

    def close(self) -> None:
        if self.client_ is not None:
            self.client_.close()
        self.store.close()


# --- the jobs ---------------------------------------------------------------------------------


def due_source_keys(ctx: JobContext) -> list[str]:
    """Enabled sources that are due now and that nobody is running."""
    now = ctx.now()
    keys = [s.key for s in configured_sources(ctx.settings)]
    running = {lease.source_key for lease in ctx.store.leases.held(now)}
    return [r.key for r in ctx.store.due_sources(now, keys) if r.key not in running]


def source_tick(ctx: JobContext) -> list[str]:
    """The due sources to queue now; also the executor's heartbeat (`status`, /healthz).

    The first tick of a process gives newly configured sources their rows (due at once)."""
    if not ctx._registered:
        register_sources(ctx.store, configured_sources(ctx.settings), ctx.now())
        ctx._registered = True
    keys = due_source_keys(ctx)
    ctx.store.set_state("last_tick_at", ctx.now().isoformat(), ctx.now())
    return keys


def poll_source(ctx: JobContext, source_key: str, *, force: bool = False) -> CollectStats | None:
    """Run one source end to end, if it is still due and nobody else is running it.

    None when it was skipped: another process holds its lease, it ran since it was queued, or it
    is no longer configured. Errors of the source itself are recorded on the source by the runner.
    """
    now = ctx.now()
    holder = ctx.run_holder()
    ttl = timedelta(seconds=ctx.settings.queue.lease_seconds)
    if not ctx.store.leases.take(source_key, holder, now, ttl):
        log.info("source running elsewhere, skipped", extra={"source": source_key})
        return None
    try:
        if not force and not ctx.store.due_sources(now, [source_key]):
            return None  # another process ran it after this job was queued
        stats = ctx.runner().run_source(source_key)
        ctx.store.set_state("last_cycle_at", ctx.now().isoformat(), ctx.now())
        return stats
    except UnknownSource:
        log.info("source no longer configured, skipped", extra={"source": source_key})
        return None
    finally:
        ctx.store.leases.release(source_key, holder)


def dispatch_outbox(ctx: JobContext) -> Any:
    """Send what the outbox holds that is due (claims rows with SKIP LOCKED leases)."""
    from alerts.outbox import dispatch_pending

    result = dispatch_pending(ctx.store, ctx.settings, ctx.transport(), ctx.now())
    if result.sent or result.dead:
        log.info("outbox dispatched", extra={"result": str(result)})
    return result


def source_health_for(ctx: JobContext, academy_id: str) -> list[SourceHealth]:
    srcs = [s for s in configured_sources(ctx.settings) if s.academy_id == academy_id]
    return source_health(ctx.store, srcs, ctx.now())


def send_digests(ctx: JobContext) -> int:
    """Queue every academy's due digest (the outbox refuses a second one of a date)."""
    from alerts.digest import enqueue_due_digests

    return enqueue_due_digests(
        ctx.store, ctx.settings, ctx.clock(), lambda a: source_health_for(ctx, a)
    )


def purge_expired(ctx: JobContext) -> int:
    days = ctx.settings.retention.mention_days
    n = ctx.store.purge_before(ctx.now() - timedelta(days=days))
    if n:
        log.info("retention purge", extra={"deleted_mentions": n, "days": days})
    # Packs go with their mention: the rows went in the purge, the folders go now (and any
    # left by an erasure or a crash between the two).
    from monitor.evidence import remove_orphan_folders

    remove_orphan_folders(ctx)
    return n


# --- removal tracking and the breach log (issue 12) --------------------------------------------


def _http_client(ctx: JobContext) -> GuardedClient:
    """The process's guarded client (the runner's, when it was built), without the scorer."""
    with ctx._lock:
        if ctx.client_ is None:
            from monitor.app import client_config
            from sources.http import GuardedClient

            ctx.client_ = GuardedClient(client_config(ctx.settings))
        return ctx.client_


def check_removals(ctx: JobContext) -> int:
    """Re-check the URLs of the removal requests that are due (monitor/removal_checks.py)."""
    from monitor.removal_checks import check_due

    done = check_due(ctx.store, _http_client(ctx), ctx.now)
    if done:
        log.info("removal requests checked", extra={"checked": len(done)})
    return len(done)


def remind_breach_deadlines(ctx: JobContext) -> int:
    """Queue the DPO's reminder for incidents 24 hours from their deadline with no decision."""
    from alerts.breaches import enqueue_breach_reminders

    return enqueue_breach_reminders(ctx.store, ctx.settings, ctx.now())


def capture_evidence(ctx: JobContext, mention_id: int) -> bool:
    """The automatic evidence pack of one urgent mention (claimed; does nothing when done or
    taken). True when a pack was made."""
    from monitor.evidence import capture_queued

    return capture_queued(ctx, mention_id) is not None


def pending_evidence(ctx: JobContext) -> list[int]:
    """Mentions whose automatic capture is waiting (queue rows written with the mention: an
    urgent one when `evidence.auto_capture_urgent` is on, and every reported one)."""
    from monitor.evidence.access import pending_captures

    return pending_captures(ctx)


def capture_evidence_sweep(ctx: JobContext) -> int:
    """Run every waiting automatic capture in this process (the APScheduler service); the
    Procrastinate worker defers one `capture_evidence` job per mention instead."""
    made = 0
    for mention_id in pending_evidence(ctx):
        try:
            made += capture_evidence(ctx, mention_id)
        except Exception:
            log.exception("evidence capture failed", extra={"mention": mention_id})
    return made


def poll_intake_mailbox(ctx: JobContext, *, submit: Any = None, force: bool = False) -> Any:
    """Read the intake mailbox (intake.imap) once: each forwarded message from an allowed sender
    becomes a report through the intake core, the rest is quarantined (monitor/mailintake.py).
    `submit` replaces the intake core (tests); `force` polls even while backing off."""
    from monitor.mailintake import default_submit, poll_job

    return poll_job(ctx.store, ctx.settings, submit or default_submit(ctx), ctx.now(), force=force)


__all__ = [
    "JobContext",
    "check_removals",
    "remind_breach_deadlines",
    "capture_evidence",
    "capture_evidence_sweep",
    "pending_evidence",
    "dispatch_outbox",
    "due_source_keys",
    "poll_intake_mailbox",
    "poll_source",
    "purge_expired",
    "send_digests",
    "source_tick",
    "source_health_for",
]
