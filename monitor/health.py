"""Source health: failing, silent for longer than usual, or waiting for a person.

Shown by `mention-monitor sources`, the digest's "monitoring health" section and /healthz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

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
