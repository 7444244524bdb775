"""Removal tracking on the mention page (policy 11.2): the panel with the mention's removal
requests and their checks, the forms "Reported to platform" and "Removal requested from poster",
"Check now", and where to report (the platform's own form, UK help lines).

- The panel (`panel(...)`, a monitor/web/panels.py `Panel`) shows every role that may read the
  mention the requests' status; only head, dsl and dpo (`can_act`) get the forms and the button.
- POST /mentions/{id}/removals records a request (monitor/removal_checks.request_removal);
  POST /mentions/{id}/removals/{rid}/check re-checks that request's URL now, through the guarded
  client (sources/http.py: SSRF guard, robots.txt, politeness). Both go through `require_form`
  (CSRF and origin), are audited ("removal.request", "removal.check") and answer with a 303 back
  to the mention page (post/redirect/get), so a reload never repeats them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.clock import Clock
from monitor.config import Settings
from monitor.models import Assessment, Mention
from monitor.platforms import report_help
from monitor.removal_checks import RemovalError, check_due, request_removal
from monitor.removals import RemovalKind
from monitor.roles import Viewer
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.removals import RemovalCheckRow, RemovalRow
from monitor.web.auth import actor, client_of, csrf_field, require_form
from monitor.web.pages import mention_id, readable
from monitor.web.panels import Panel, Section

Page = Callable[..., HTMLResponse]

STATUS_WORDS = {
    "open": "open: the post was still there at the last check",
    "gone_once": "gone once: confirmed after a second check a day later",
    "removed": "removed",
}
_MAX_FIELD = 200


def _when(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC" if dt else "not yet"


def _removal_view(r: RemovalRow, last: RemovalCheckRow | None) -> dict[str, Any]:
    return {
        "id": r.id,
        "where": f"reported to {r.platform}" if r.platform else "removal requested from poster",
        "reference": r.reference or "",
        "reported": _when(r.reported_at),
        "by": r.requested_by,
        "status": r.status,
        "status_words": STATUS_WORDS.get(r.status, r.status),
        "last_check": (
            f"{_when(last.at)}: {last.outcome}"
            + (f" (HTTP {last.http_status})" if last.http_status else "")
            if last
            else "not yet"
        ),
        "next_check": _when(r.next_check_at) if r.status != "removed" else "none (removed)",
        "removed_at": _when(r.removed_at) if r.removed_at else "",
    }


def panel(store: Store) -> Panel:
    """The mention page's removal section (read-only for roles that may not act)."""

    def section(
        request: Request, viewer: Viewer, m: Mention, a: Assessment | None
    ) -> Section | None:
        rows = store.removals(mention_id=m.id)
        last: dict[int, RemovalCheckRow] = {}
        for c in store.removal_checks([r.id for r in rows]) if rows else ():
            last[c.removal_id] = c  # oldest first: the last one wins
        can_act = viewer.can_act(m.organisation)
        url = m.url or m.canonical_url
        # The collector kind is not on the mention; a fediverse post is still known by the
        # shape of its URL (monitor/platforms.py).
        help_ = report_help(url) if can_act else None
        return Section(
            "removals.html",
            {
                "mention_id": m.id,
                "removals": [_removal_view(r, last.get(r.id)) for r in rows],
                "can_act": can_act,
                "checkable": bool(url),
                "help": help_,
                "csrf": csrf_field(request),
                "error": request.query_params.get("removal_error", "")[:_MAX_FIELD],
            },
        )

    return section


def _parse_when(raw: str, now: datetime) -> datetime | None:
    """A datetime-local value ("2026-11-28T09:00"), read as UTC; empty is now."""
    raw = raw.strip()
    if not raw:
        return now
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def routes(settings: Settings, store: Store, clock: Clock, page: Page) -> list[Route]:
    client_holder: list[Any] = []
    lock = threading.Lock()

    def guarded_client() -> Any:
        # One guarded client for the app, made on the first "Check now" (it holds connections).
        with lock:
            if not client_holder:
                from monitor.app import client_config
                from sources.http import GuardedClient

                client_holder.append(GuardedClient(client_config(settings)))
            return client_holder[0]

    def back(mid: int, error: str = "") -> Response:
        extra = f"?removal_error={quote(error[:_MAX_FIELD], safe='')}" if error else ""
        return RedirectResponse(f"/mentions/{mid}{extra}#removals", 303)

    def not_found() -> HTMLResponse:
        return page("message.html", 404, title="Not found", text="There is no such mention.")

    def _request(viewer: Viewer, mid: int | None, form: dict[str, str], client: str) -> Response:
        row = readable(store, viewer, mid)
        if row is None or mid is None:
            return not_found()
        m, _ = row
        if not viewer.can_act(m.organisation):
            return page("message.html", 403, title="Not allowed", text=_READ_ONLY)
        now = clock()
        kind_raw = form.get("kind", "")
        try:
            kind = RemovalKind(kind_raw)
        except ValueError:
            return back(mid, "Choose what was done: reported to platform, or asked the poster.")
        reported_at = _parse_when(form.get("reported_at", ""), now)
        if reported_at is None:
            return back(mid, "The date and time could not be read; use the date picker.")
        if reported_at > now:
            return back(mid, "The date and time is in the future.")
        try:
            request_removal(
                store,
                mid,
                kind,
                by=viewer.email,
                now=now,
                platform=form.get("platform", "")[:_MAX_FIELD],
                reference=form.get("reference", "")[:_MAX_FIELD],
                reported_at=reported_at,
                actor=actor(viewer),
                client=client,
            )
        except RemovalError as exc:
            return back(mid, str(exc).capitalize() + ".")
        return back(mid)

    def _check(viewer: Viewer, mid: int | None, rid_raw: str, client: str) -> Response:
        row = readable(store, viewer, mid)
        if row is None or mid is None:
            return not_found()
        m, _ = row
        rid = mention_id(rid_raw)  # the same shape: a positive integer
        removal = store.removal(rid) if rid is not None else None
        if removal is None or removal.mention_id != m.id:
            return not_found()
        if not viewer.can_act(m.organisation):
            return page("message.html", 403, title="Not allowed", text=_READ_ONLY)
        done = check_due(store, guarded_client(), clock, ids=(removal.id,))
        outcome = (
            f"{done[0].result.outcome.value}, now {done[0].removal.status}"
            if done
            else "not checked (already removed)"
        )
        store.audit(
            AuditEntry(
                clock(),
                actor(viewer),
                "removal.check",
                academy_id=m.organisation,
                target=f"mention:{m.id}",
                detail=f"request {removal.id}: {outcome}",
                client=client,
            )
        )
        return back(mid)

    async def add(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        mid = mention_id(request.path_params["mention_id"])
        return await anyio.to_thread.run_sync(
            functools.partial(_request, viewer, mid, fields, client_of(request))
        )

    async def check(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, _form = got
        mid = mention_id(request.path_params["mention_id"])
        return await anyio.to_thread.run_sync(
            functools.partial(
                _check, viewer, mid, request.path_params["removal_id"], client_of(request)
            )
        )

    return [
        Route("/mentions/{mention_id}/removals", add, methods=["POST"]),
        Route("/mentions/{mention_id}/removals/{removal_id}/check", check, methods=["POST"]),
    ]


_READ_ONLY = "Your role on this academy shows removal requests but cannot record or check them."
