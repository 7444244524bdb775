"""Health: each source's (failing, silent for longer than usual, or waiting for a person) and the
service's as one typed value, `Health`.

`Health.ok` is False when the service cannot do its job: the scheduler is not running, an academy
has nobody who receives urgent alerts, an urgent mention of the last 72 hours reached nobody, or
an email is a dead letter. /healthz answers 503 then. Sources that need attention are listed too
(`status` exits 1 for them), but do not make /healthz fail: a blocked feed is not a dead service.
Shown by `mention-monitor status` and `sources`, the digest's "monitoring health" section and
/healthz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.runner import ConfiguredSource
    from monitor.store import Store

# A source counts as silent after three of its usual gaps without an item (at least a day).
SILENT_FACTOR = 3
MIN_SILENT = timedelta(days=1)


@dataclass(frozen=True)
class SourceHealth:
    key: str
    kind: str
    state: str  # ok | failing | needs_credentials | blocked | silent | new
    last_success: datetime | None
    consecutive_errors: int
    last_error: str | None
    advice: str | None
    items_7d: int
    silent: bool

    @property
    def healthy(self) -> bool:
        return self.state in ("ok", "new")


def is_silent(times: Sequence[datetime], now: datetime, last_success: datetime | None) -> bool:
    """Pure: no item for SILENT_FACTOR times the usual gap between items (needs ≥ 3 items)."""
    if len(times) < 3 or last_success is None:
        return False
    ordered = sorted(times)
    gaps = [(b - a) for a, b in zip(ordered, ordered[1:], strict=False)]
    usual = sorted(gaps)[len(gaps) // 2]
    return now - ordered[-1] > max(MIN_SILENT, usual * SILENT_FACTOR)


def source_health(
    store: Store, sources: Sequence[ConfiguredSource], now: datetime
) -> list[SourceHealth]:
    rows = {r.key: r for r in store.sources([s.key for s in sources])}
    out = []
    for src in sources:
        row = rows.get(src.key)
        if row is None:
            continue
        times = store.mention_times(src.key, now - timedelta(days=60))
        items_7d = sum(1 for t in times if t >= now - timedelta(days=7))
        silent = is_silent(times, now, row.last_success_at)
        if row.status in ("needs_credentials", "blocked", "disabled"):
            state = row.status
        elif row.consecutive_errors > 0:
            state = "failing"
        elif row.status == "new":
            state = "new"
        elif silent:
            state = "silent"
        else:
            state = "ok"
        out.append(
            SourceHealth(
                key=src.key,
                kind=src.spec.kind,
                state=state,
                last_success=row.last_success_at,
                consecutive_errors=row.consecutive_errors,
                last_error=row.last_error,
                advice=row.advice,
                items_7d=items_7d,
                silent=silent,
            )
        )
    return out


@dataclass(frozen=True)
class FailingSource:
    source: str
    state: str
    reason: str | None


@dataclass(frozen=True)
class Health:
    """The service's health. `problems` says in words why `ok` is False."""

    ok: bool
    problems: tuple[str, ...]
    scheduler_alive: bool
    last_tick_at: str | None
    last_cycle_at: str | None
    outbox_backlog: int  # pending emails
    outbox_dead: int
    sources: int
    failing_sources: tuple[FailingSource, ...]
    academies_without_urgent_recipient: tuple[str, ...]

    @property
    def all_clear(self) -> bool:
        """Healthy and no source needs attention (what `status` exits 0 for)."""
        return self.ok and not self.failing_sources

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = "ok" if self.ok else "unhealthy"
        return doc


def assess(
    *,
    scheduler_alive: bool,
    last_tick_at: str | None,
    last_cycle_at: str | None,
    outbox_backlog: int,
    outbox_dead: int,
    sources: Sequence[SourceHealth],
    academies_without_urgent_recipient: Sequence[str],
    recipient_problems: Sequence[str],
) -> Health:
    """Pure: the facts in, the verdict out."""
    problems: list[str] = []
    if not scheduler_alive:
        problems.append("the scheduler is not running (is `mention-monitor run` up?)")
    problems += recipient_problems
    if outbox_dead:
        problems.append(
            f"{outbox_dead} email(s) could not be delivered (dead letters; see "
            "`mention-monitor outbox --status dead`)"
        )
    return Health(
        ok=not problems,
        problems=tuple(problems),
        scheduler_alive=scheduler_alive,
        last_tick_at=last_tick_at,
        last_cycle_at=last_cycle_at,
        outbox_backlog=outbox_backlog,
        outbox_dead=outbox_dead,
        sources=len(sources),
        failing_sources=tuple(
            FailingSource(h.key, h.state, h.advice or h.last_error)
            for h in sources
            if not h.healthy
        ),
        academies_without_urgent_recipient=tuple(academies_without_urgent_recipient),
    )
