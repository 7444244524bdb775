"""The running service: the runner, the outbox dispatcher, digests, retention and the web app,
ticked by APScheduler (monitor/scheduler.py) in one process: the default executor of the jobs in
monitor/jobs.py (monitor/worker.py is the other, Procrastinate on PostgreSQL).

One run per source at a time is enforced by the database (each run takes the source's lease); the
service also remembers its own runs in flight, so a tick does not queue a source twice in its pool.

This module and monitor/cli.py are the composition root: the only places in `monitor` that import
`alerts`, to wire the notice sink, the dispatcher and the digest into the jobs.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from monitor import jobs
from monitor.app import App
from monitor.clock import Clock, system_clock
from monitor.config import Settings
from monitor.health import Health, assess, source_health
from monitor.jobs import JobContext
from monitor.runner import ConfiguredSource, NoNotices, NoticeSink, Runner, Scorer
from monitor.store import Store, StoreError

log = logging.getLogger(__name__)


def _store_guarded(job: Callable[[], object]) -> Callable[[], object]:
    """A scheduler job that logs a store failure (a full disk) as one line and returns: the next
    tick retries, and the service keeps running instead of logging a traceback every tick."""

    def run() -> object:
        try:
            return job()
        except StoreError as exc:
            log.error("database unavailable", extra={"job": job.__name__, "reason": str(exc)})
            return None

    run.__name__ = job.__name__
    return run


def build_runner(
    app: App,
    *,
    score: bool = True,
    store: Store | None = None,
    notices: NoticeSink | None = None,
    clock: Clock | None = None,
) -> tuple[Runner, Callable[[], None]]:
    """A Runner wired from the app's settings, and a function that releases what it opened.

    The clock defaults to the app's, so `collect --once` runs at the time a test injects."""
    clock = clock or app.clock
    settings = app.settings()
    own_store = store is None
    st = store or app.store()
    client = app.client()
    scorer: Scorer | None = None
    if score:
        from monitor.scoring import cache_key, load_scorer
        from monitor.store.embeddings import StoreEmbeddingCache

        scorer = load_scorer(
            settings.scoring,
            cache=StoreEmbeddingCache(st, cache_key(settings.scoring)),
            concurrency=settings.schedule.workers,  # the service's pool runs this many at once
        )
    if notices is None and score:
        from alerts.outbox import OutboxSink

        notices = OutboxSink(settings)
    notices = notices or NoNotices()
    runner = Runner(
        settings=settings, store=st, client=client, scorer=scorer, notices=notices, clock=clock
    )

    def close() -> None:
        client.close()
        if own_store:
            st.close()

    return runner, close


# Source ticks run every 30 s (APScheduler) or 10 s (workers): an older heartbeat means none runs.
HEARTBEAT_STALE = timedelta(seconds=120)


def workers_alive(store: Store, now: datetime) -> bool:
    """Whether some executor ticked recently (the heartbeat `source_tick` writes)."""
    last = store.get_state("last_tick_at")
    return bool(last) and now - datetime.fromisoformat(last) < HEARTBEAT_STALE  # type: ignore[arg-type]


def collect_health(
    settings: Settings,
    store: Store,
    sources: list[ConfiguredSource],
    now: datetime,
    *,
    scheduler_alive: bool,
) -> Health:
    """Gather the facts health is judged on (used by the service's /healthz and by `status`)."""
    from alerts import reach
    from alerts.outbox import outbox_backlog

    states = reach.recipient_states(store, settings)
    unreached = reach.unreached_urgent(store, settings, now - reach.UNREACHED_WINDOW)
    backlog = outbox_backlog(store)
    return assess(
        scheduler_alive=scheduler_alive,
        last_tick_at=store.get_state("last_tick_at"),
        last_cycle_at=store.get_state("last_cycle_at"),
        outbox_backlog=backlog["pending"],
        outbox_dead=backlog["dead"],
        sources=source_health(store, sources, now),
        academies_without_urgent_recipient=reach.without_urgent_recipient(settings, states),
        recipient_problems=reach.problem_lines(settings, states, unreached),
    )


@dataclass
class Service:
    """Everything `mention-monitor run` does. Jobs are plain methods, so tests call them directly."""

    app: App
    clock: Clock = system_clock
    score: bool = True
    serve_web: bool = True
    runner: Runner = field(init=False)
    store: Store = field(init=False)
    _close_runner: Callable[[], None] = field(init=False)
    _pool: ThreadPoolExecutor = field(init=False)
    jobs: JobContext = field(init=False)
    _running: dict[str, Future[Any]] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _stopping: threading.Event = field(init=False, default_factory=threading.Event)
    _scheduler: Any = field(init=False, default=None)
    _web: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        settings = self.app.settings()
        self.store = self.app.store()
        self.runner, self._close_runner = build_runner(
            self.app, score=self.score, store=self.store, clock=self.clock
        )
        self._pool = ThreadPoolExecutor(
            max_workers=settings.schedule.workers, thread_name_prefix="source"
        )
        from alerts.smtp import transport_for

        self.transport = transport_for(settings.mail)
        self.jobs = JobContext(
            settings,
            self.store,
            clock=self.clock,
            score=self.score,
            runner_=self.runner,
            transport_=self.transport,
        )

    # --- jobs ---------------------------------------------------------------------------------

    def tick_sources(self) -> int:
        """Submit every due source that is not already running; returns how many were started."""
        if self._stopping.is_set():
            return 0
        started = 0
        for src in self.runner.due():
            with self._lock:
                if src.key in self._running or self._stopping.is_set():
                    continue  # at most one run per source at a time
                self._running[src.key] = self._pool.submit(self._run_one, src)
            started += 1
        self.store.set_state("last_tick_at", self.clock().isoformat(), self.clock())
        return started

    def _run_one(self, src: ConfiguredSource) -> None:
        try:
            jobs.poll_source(self.jobs, src.key)
        except StoreError as exc:  # the source is due again, so the next tick retries it
            log.error("database unavailable", extra={"source": src.key, "reason": str(exc)})
        except Exception:  # the runner records source errors itself; this is a bug guard
            log.exception("source run crashed", extra={"source": src.key})
        finally:
            with self._lock:
                self._running.pop(src.key, None)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for the source runs in flight (tests and `--once` style callers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                futures = list(self._running.values())
            if not futures:
                return
            for f in futures:
                f.result(timeout=max(0.0, deadline - time.monotonic()))

    def dispatch(self) -> None:
        jobs.dispatch_outbox(self.jobs)

    def digests(self) -> int:
        return jobs.send_digests(self.jobs)

    def purge(self) -> int:
        return jobs.purge_expired(self.jobs)

    def check_removals(self) -> int:
        return jobs.check_removals(self.jobs)

    def remind_breaches(self) -> int:
        return jobs.remind_breach_deadlines(self.jobs)

    def evidence(self) -> int:
        return jobs.capture_evidence_sweep(self.jobs)

    def poll_intake_mailbox(self) -> object:
        return jobs.poll_intake_mailbox(self.jobs)

    def log_health(self) -> None:
        h = self.health()
        fields = {
            "ok": h.ok,
            "scheduler_alive": h.scheduler_alive,
            "outbox_backlog": h.outbox_backlog,
            "outbox_dead": h.outbox_dead,
            "sources": h.sources,
            "failing": len(h.failing_sources),
        }
        if h.ok:
            log.info("health", extra=fields)
        else:
            log.warning("unhealthy", extra=fields | {"problems": "; ".join(h.problems)})

    # --- health ---------------------------------------------------------------------------------

    def source_health_for(self, academy_id: str) -> list[Any]:
        srcs = [s for s in self.runner.sources if s.academy_id == academy_id]
        return source_health(self.store, srcs, self.clock())

    def health(self) -> Health:
        alive = bool(self._scheduler is not None and self._scheduler.running)
        if self.app.settings().queue.backend == "procrastinate":
            alive = workers_alive(self.store, self.clock())
        return collect_health(
            self.app.settings(),
            self.store,
            self.runner.sources,
            self.clock(),
            scheduler_alive=alive,
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        import psutil

        from monitor.scheduler import Jobs, make_scheduler

        settings = self.app.settings()
        # A service killed mid-run left its leases: free those of dead processes on this host
        # now, rather than waiting for them to expire.
        h = self.jobs.holder
        self.store.leases.release_dead(h.host, psutil.pid_exists, h)
        if settings.queue.backend == "procrastinate":
            # `worker` processes run the jobs; this process serves the web app and /healthz.
            if self.serve_web:
                self._start_web()
            log.info("service started (web only: jobs run in `mention-monitor worker`)")
            return
        tick, dispatch, digests, purge, health = map(
            _store_guarded,
            (self.tick_sources, self.dispatch, self.digests, self.purge, self.log_health),
        )
        every = Jobs(
            tick,
            dispatch,
            digests,
            purge,
            health,
            removals=_store_guarded(self.check_removals),
            breach_reminders=_store_guarded(self.remind_breaches),
        )
        every = replace(every, evidence=_store_guarded(self.evidence))
        imap = settings.intake.imap
        mailbox = (
            (_store_guarded(self.poll_intake_mailbox), imap.poll_interval_minutes * 60)
            if imap is not None
            else None
        )
        self._scheduler = make_scheduler(
            every,
            settings.tz,
            tick_seconds=30,
            dispatch_seconds=settings.schedule.outbox_interval_seconds,
            intake_mailbox=mailbox,
        )
        self._scheduler.start()
        if self.serve_web:
            self._start_web()
        log.info(
            "service started",
            extra={
                "sources": len(self.runner.sources),
                "web": f"http://{settings.web.host}:{settings.web.port}",
            },
        )

    def _start_web(self) -> None:
        import uvicorn

        from monitor.web import create_app

        settings = self.app.settings()
        web = create_app(settings, self.store, self.health)
        config = uvicorn.Config(
            web,
            host=settings.web.host,
            port=settings.web.port,
            log_level="warning",
            access_log=False,
        )
        self._web = uvicorn.Server(config)
        threading.Thread(target=self._web.run, name="web", daemon=True).start()

    def stop(self, timeout: float = 8.0) -> None:
        """Stop taking work, let running sources finish (or leave their transaction uncommitted)."""
        self._stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._web is not None:
            self._web.should_exit = True
        deadline = time.monotonic() + timeout
        self._pool.shutdown(wait=False, cancel_futures=True)
        while time.monotonic() < deadline:
            with self._lock:
                if not self._running:
                    break
            time.sleep(0.05)
        self._close_runner()
        self.store.close()
        log.info("service stopped")


def run_forever(app: App) -> int:
    """`mention-monitor run`: start, then wait for SIGTERM/SIGINT and stop within 10 s."""
    stop = threading.Event()

    def _signal(signum: int, _frame: object) -> None:
        log.info("signal received, stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    service = Service(app)
    service.start()
    while not stop.wait(1.0):
        pass
    service.stop()
    logging.shutdown()
    return 0


__all__ = ["Service", "build_runner", "collect_health", "run_forever"]
