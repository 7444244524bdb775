"""The Procrastinate executor (`queue.backend = "procrastinate"`): the jobs of monitor/jobs.py run
by `mention-monitor worker` processes, any number, on any number of machines, sharing one
PostgreSQL database that holds both the data and the job queue.

Tasks (each a thin async wrapper that runs the plain job in a thread):
- `source_tick` (periodic, every 10 s): defers `poll_source(source_key)` for every due source
  that nobody is running, with `queueing_lock=source_key`, so a source never has two jobs
  waiting.
- `poll_source(source_key)`: `retry=0`. A failed or killed poll is not retried: the next tick
  queues the source again when it is due (a retried job holding a queueing lock can get stuck
  behind a newer one). One run per source at a time is the source lease in the database
  (monitor/store/leases.py), which expires when its holder dies; Procrastinate's `lock` is not
  used, since a killed worker's job would keep it until the stalled-job sweeper runs.
- `dispatch_outbox` (periodic, every 10 s, and deferred right after a poll that stored
  something), `send_digests` (every minute), `purge_expired` (every 6 hours),
  `check_removals` (every 10 minutes: removal requests whose URL is due for a re-check),
  `remind_breach_deadlines` (every 5 minutes: the DPO's reminder, once per incident).
- `sweep_stalled` (every minute): jobs of workers that stopped sending heartbeats (killed) are
  marked failed; every job here is periodic or re-queued by a tick, so none needs a retry.
  `clean_jobs` (hourly) deletes finished jobs older than an hour.
Every worker schedules the periodic tasks; Procrastinate de-duplicates them in the database.
Dispatch runs before everything else and the ticks before polls (priorities), so a backlog of
polls never delays an urgent alert.

Exactly-once alerts do not depend on the job queue. The outbox row is the durable record: the
runner writes a mention and its notices in one transaction (alerts/outbox.py). The dispatch job
deferred after that commit is only a wake-up; if it is lost (the worker dies between commit and
defer), the periodic dispatch finds the row within 10 s. Dispatchers claim rows with SKIP LOCKED
and a lease, and mark them sent, so concurrent dispatchers send each notice once, and a resend
after a crash mid-send carries the same Message-ID. This is why the dispatch job need not commit
in the mention's transaction (SQLAlchemy's and Procrastinate's connections are separate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import procrastinate
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status
from sqlalchemy import text
from sqlalchemy.engine import make_url

from monitor import jobs
from monitor.clock import Clock, system_clock
from monitor.config import Settings
from monitor.store import Store

log = logging.getLogger(__name__)

TICK_CRON = "* * * * * */10"  # every 10 seconds (the 6th column is seconds)
DISPATCH_CRON = "* * * * * */10"
STALLED_AFTER_SECONDS = 30.0
# Workers take the highest priority first: an urgent alert never waits behind a backlog of
# polls, and the ticks that keep the schedule (and the heartbeat) come next.
URGENT, TICK = 20, 10  # a worker without a heartbeat for this long is gone


def conninfo(database_url: str) -> str:
    """The libpq connection string for a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the procrastinate queue backend needs a PostgreSQL database_url")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def install_schema(store: Store) -> bool:
    """Create Procrastinate's tables when missing (`migrate` calls it); True when it did."""
    with store.engine.connect() as conn:
        present = conn.execute(text("select to_regclass('procrastinate_jobs')")).scalar()
    if present:
        return False
    url = store.engine.url.render_as_string(hide_password=False)
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(url)))
    with app.open():
        app.schema_manager.apply_schema()
    return True


class _Process:
    """This process's job context, built on the first job (and its model on the first poll)."""

    def __init__(self, settings: Settings, clock: Clock, score: bool) -> None:
        self.settings, self.clock, self.score = settings, clock, score
        self._ctx: jobs.JobContext | None = None
        self._lock = threading.Lock()

    def ctx(self) -> jobs.JobContext:
        with self._lock:
            if self._ctx is None:
                self._ctx = jobs.JobContext.open(self.settings, clock=self.clock, score=self.score)
            return self._ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()


def make_app(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    score: bool = True,
) -> tuple[procrastinate.App, _Process]:
    """The Procrastinate app with every task registered, and the process state its jobs share."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(settings.database_url), min_size=1, max_size=4
        )
    )
    proc = _Process(settings, clock, score)

    async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    @app.task(
        name="dispatch_outbox", queue="alerts", queueing_lock="dispatch_outbox", priority=URGENT
    )
    async def dispatch_outbox(timestamp: int | None = None) -> None:
        await in_thread(jobs.dispatch_outbox, proc.ctx())

    @app.task(name="poll_source", queue="sources", retry=0)
    async def poll_source(source_key: str, force: bool = False) -> None:
        stats = await in_thread(jobs.poll_source, proc.ctx(), source_key, force=force)
        if stats is not None and stats.new:
            # A wake-up for the dispatcher; the periodic dispatch is the guarantee (see above).
            with contextlib.suppress(pexc.AlreadyEnqueued):
                await dispatch_outbox.defer_async()

    @app.periodic(cron=TICK_CRON, periodic_id="source_tick")
    @app.task(name="source_tick", queue="ticks", queueing_lock="source_tick", priority=TICK)
    async def source_tick(timestamp: int) -> None:
        keys = await in_thread(jobs.source_tick, proc.ctx())
        queued = 0
        for key in keys:
            try:
                await poll_source.configure(queueing_lock=key).defer_async(source_key=key)
                queued += 1
            except pexc.AlreadyEnqueued:
                pass  # still waiting from an earlier tick
        if queued:
            log.info("sources queued", extra={"queued": queued, "due": len(keys)})

    app.periodic(cron=DISPATCH_CRON, periodic_id="dispatch_outbox")(dispatch_outbox)

    @app.periodic(cron="* * * * *", periodic_id="send_digests")
    @app.task(name="send_digests", queue="alerts", queueing_lock="send_digests", priority=TICK)
    async def send_digests(timestamp: int) -> None:
        await in_thread(jobs.send_digests, proc.ctx())

    @app.periodic(cron="17 */6 * * *", periodic_id="purge_expired")
    @app.task(name="purge_expired", queue="ticks", queueing_lock="purge_expired")
    async def purge_expired(timestamp: int) -> None:
        await in_thread(jobs.purge_expired, proc.ctx())

    @app.periodic(cron="*/10 * * * *", periodic_id="check_removals")
    @app.task(name="check_removals", queue="ticks", queueing_lock="check_removals")
    async def check_removals(timestamp: int) -> None:
        await in_thread(jobs.check_removals, proc.ctx())

    @app.periodic(cron="*/5 * * * *", periodic_id="remind_breach_deadlines")
    @app.task(
        name="remind_breach_deadlines",
        queue="alerts",
        queueing_lock="remind_breach_deadlines",
        priority=TICK,
    )
    async def remind_breach_deadlines(timestamp: int) -> None:
        await in_thread(jobs.remind_breach_deadlines, proc.ctx())

    @app.task(name="capture_evidence", queue="evidence", retry=0)
    async def capture_evidence(mention_id: int) -> None:
        await in_thread(jobs.capture_evidence, proc.ctx(), mention_id)

    @app.periodic(cron="* * * * *", periodic_id="evidence_sweep")
    @app.task(name="evidence_sweep", queue="ticks", queueing_lock="evidence_sweep", priority=TICK)
    async def evidence_sweep(timestamp: int) -> None:
        # The queue rows are the durable record (written with the mention); a lost job is
        # deferred again by the next sweep, and the row's claim stops a second capture.
        for mention_id in await in_thread(jobs.pending_evidence, proc.ctx()):
            with contextlib.suppress(pexc.AlreadyEnqueued):
                await capture_evidence.configure(
                    queueing_lock=f"evidence-{mention_id}"
                ).defer_async(mention_id=mention_id)

    imap = settings.intake.imap
    if imap is not None:  # the intake mailbox, only when configured (monitor/mailintake.py)
        n = imap.poll_interval_minutes
        cron = "0 * * * *" if n >= 60 else f"*/{n} * * * *"

        @app.periodic(cron=cron, periodic_id="poll_intake_mailbox")
        @app.task(name="poll_intake_mailbox", queue="ticks", queueing_lock="poll_intake_mailbox")
        async def poll_intake_mailbox(timestamp: int) -> None:
            await in_thread(jobs.poll_intake_mailbox, proc.ctx())

    @app.periodic(cron="* * * * *", periodic_id="sweep_stalled")
    @app.task(name="sweep_stalled", queue="ticks", queueing_lock="sweep_stalled", priority=TICK)
    async def sweep_stalled(timestamp: int) -> None:
        stalled = list(
            await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS)
        )
        for job in stalled:
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
        if stalled:
            log.warning("stalled jobs failed", extra={"jobs": len(stalled)})

    @app.periodic(cron="41 * * * *", periodic_id="clean_jobs")
    @app.task(name="clean_jobs", queue="ticks", queueing_lock="clean_jobs")
    async def clean_jobs(timestamp: int) -> None:
        # At 200 polls a second a day of finished jobs would be ~17 million rows: keep an hour.
        await app.job_manager.delete_old_jobs(nb_hours=1, include_failed=True)

    return app, proc


def run_worker(settings: Settings, *, score: bool = True, concurrency: int | None = None) -> int:
    """`mention-monitor worker`: run jobs until SIGTERM/SIGINT (finishing the ones in flight)."""
    app, proc = make_app(settings, score=score)
    n = concurrency or settings.queue.worker_concurrency
    proc.ctx().runner()  # load the model before taking jobs, not inside the first one
    log.info("worker started", extra={"concurrency": n})
    try:
        with app.open():
            app.run_worker(concurrency=n, wait=True, stalled_worker_timeout=STALLED_AFTER_SECONDS)
    finally:
        proc.close()
    log.info("worker stopped")
    return 0


__all__ = ["conninfo", "install_schema", "make_app", "run_worker"]
