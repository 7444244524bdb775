"""APScheduler wiring only: which job runs how often. The jobs themselves live in monitor/service.py.

Scheduling state (when each source is next due, which digest was sent) is in the database, so
APScheduler only ticks: a restart loses nothing, and missed runs are not replayed one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger


@dataclass(frozen=True)
class Jobs:
    source_tick: Callable[[], object]
    dispatch: Callable[[], object]
    digests: Callable[[], object]
    purge: Callable[[], object]
    health: Callable[[], object]
    removals: Callable[[], object] | None = None  # re-check removal requests' URLs
    breach_reminders: Callable[[], object] | None = None  # DPO reminders before the ICO deadline
    evidence: Callable[[], object] | None = None


def make_scheduler(
    jobs: Jobs,
    tz: ZoneInfo,
    *,
    tick_seconds: int,
    dispatch_seconds: int,
    intake_mailbox: tuple[Callable[[], object], int] | None = None,
) -> BackgroundScheduler:
    """`intake_mailbox`: the mailbox poll and its interval in seconds, when intake.imap is set."""
    # One instance of each job at a time (a slow cycle never overlaps itself), missed runs
    # coalesce into one, and every job also runs once at start.
    sched = BackgroundScheduler(
        timezone=tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )

    def every(fn: Callable[[], object], seconds: int, job_id: str) -> None:
        trigger = IntervalTrigger(seconds=seconds, timezone=tz)
        sched.add_job(fn, trigger, id=job_id, name=job_id, next_run_time=datetime.now(tz))

    every(jobs.source_tick, tick_seconds, "source_tick")
    every(jobs.dispatch, dispatch_seconds, "outbox_dispatch")
    # The digest job checks every minute whether a digest is due; the database decides what was
    # already sent, which makes "down over 07:00" send exactly one digest on restart.
    every(jobs.digests, 60, "digests")
    every(jobs.purge, 6 * 3600, "retention_purge")
    every(jobs.health, 300, "health_summary")
    # Each request has its own next check (12 h, jittered); this only looks for due ones.
    if jobs.removals is not None:
        every(jobs.removals, 600, "check_removals")
    if jobs.breach_reminders is not None:
        every(jobs.breach_reminders, 300, "remind_breach_deadlines")
    if jobs.evidence is not None:
        # Automatic evidence packs of urgent mentions (queue rows written with the mention).
        every(jobs.evidence, 60, "evidence_capture")
    if intake_mailbox is not None:
        every(intake_mailbox[0], intake_mailbox[1], "intake_mailbox")
    return sched
