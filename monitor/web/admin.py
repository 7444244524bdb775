"""The admin's health page, GET /admin/health (admin role; a DPO may see it too): the service's
verdict (as /healthz gives it), each source's state, last success and errors, the outbox (pending
and dead letters), the configured recipients who do not receive everything, the model and heads
version the scorer uses, and the evidence capture queue. No mention text, and no personal data
beyond the recipients' addresses the admin configured.

It reuses the same facts as `mention-monitor status` and /healthz (monitor/health.py, the
service's `health()`), so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from monitor.clock import Clock
from monitor.config import Settings
from monitor.health import Health, source_health
from monitor.roles import Viewer
from monitor.store import Store
from monitor.web.auth import page_context, require_viewer

Page = Callable[..., HTMLResponse]
EVIDENCE_QUEUE_LIMIT = 1000  # counted up to this many ("1000 or more")


def may_see_health(settings: Settings, viewer: Viewer) -> bool:
    """Admins, and the DPO of any academy."""
    return viewer.is_admin or any(viewer.is_dpo(a.id) for a in settings.academies)


def heads_version(settings: Settings) -> str:
    """The version of the heads file the scorer loads (read from its metadata only, without
    loading the model); a short reason when it cannot be read."""
    import json

    import numpy as np

    from monitor.scoring.heads import DEFAULT_HEADS

    path = Path(settings.scoring.heads).expanduser() if settings.scoring.heads else DEFAULT_HEADS
    try:
        with np.load(path, allow_pickle=False) as data:
            body = json.loads(str(data["__meta__"]))
    except FileNotFoundError:
        return f"no heads file at {path}"
    except (OSError, ValueError, KeyError) as exc:
        return f"unreadable heads file {path}: {type(exc).__name__}"
    return str(body.get("meta", {}).get("version", "untrained"))


def _when(value: Any) -> str:
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else str(value)


def routes(
    settings: Settings, store: Store, clock: Clock, page: Page, health: Callable[[], Health]
) -> list[Route]:
    def _facts() -> dict[str, Any]:
        from alerts import reach
        from monitor.runner import configured_sources
        from monitor.store import evidence as evidence_rows

        now = clock()
        h = health()
        sources = source_health(store, configured_sources(settings), now)
        states = reach.recipient_states(store, settings)
        with store.transaction() as tx:
            waiting = len(evidence_rows.pending(tx, now, limit=EVIDENCE_QUEUE_LIMIT))
        return {
            "ok": h.ok,
            "problems": list(h.problems),
            "scheduler_alive": h.scheduler_alive,
            "last_tick": h.last_tick_at or "never",
            "last_cycle": h.last_cycle_at or "never",
            "outbox_pending": h.outbox_backlog,
            "outbox_dead": h.outbox_dead,
            "sources": [
                {
                    "key": s.key,
                    "kind": s.kind,
                    "state": s.state,
                    "last_success": _when(s.last_success),
                    "errors": s.consecutive_errors,
                    "why": s.advice or s.last_error or "",
                    "items_7d": s.items_7d,
                }
                for s in sources
            ],
            "without_urgent": list(h.academies_without_urgent_recipient),
            "recipients": [
                {
                    "academy": st.academy_id,
                    "email": st.email,
                    "missing": ", ".join(
                        w
                        for w, on in (("urgent alerts", st.urgent), ("the daily digest", st.digest))
                        if not on
                    ),
                }
                for st in states
                if not (st.urgent and st.digest)
            ],
            "model": settings.scoring.model or "all-MiniLM-L6-v2 (bundled)",
            "heads": heads_version(settings),
            "evidence_waiting": waiting,
            "evidence_more": waiting >= EVIDENCE_QUEUE_LIMIT,
            "now": _when(now),
        }

    def _page(request: Request, viewer: Viewer) -> HTMLResponse:
        if not may_see_health(settings, viewer):
            return page(
                "message.html",
                404,
                title="Not found",
                text="There is no such page.",
                **page_context(request, viewer),
            )
        return page(
            "admin_health.html", title="Health", h=_facts(), **page_context(request, viewer)
        )

    async def health_page(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        return await anyio.to_thread.run_sync(_page, request, viewer)

    return [Route("/admin/health", health_page, methods=["GET"])]
