"""The breach log pages for the DPO (UK GDPR Art. 33(5)): the incidents of the academies the
viewer is DPO of, each with its 72-hour clock in plain words, the decision history and the
decision form, and the export as CSV or JSON.

- GET /breaches: the log (newest first). Anyone signed in without a dpo role gets 404, as for a
  missing page: the log's existence says nothing to other roles.
- GET /breaches/{incident_id}: one incident (its mention linked), its history and the form.
- POST /breaches/{incident_id}/decision records a decision (monitor/breach_log.record_decision;
  appended, the latest in force), audited "breach.decision", then 303 back (post/redirect/get).
- POST /breaches/export (format csv|json) answers the file as a download, audited
  "breach.export". It is a POST because an export is an audited act, never a link a scanner
  could open.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.breach_log import breach_log, record_decision
from monitor.breaches import BreachEntry, export_csv, export_json, remaining_words
from monitor.clock import Clock
from monitor.config import Settings
from monitor.roles import Viewer
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.breaches import TimelineEntry
from monitor.web.auth import actor, client_of, page_context, require_form, require_viewer

Page = Callable[..., HTMLResponse]
_MAX_TEXT = 5000
_MAX_LINES = 50


def dpo_academies(settings: Settings, viewer: Viewer) -> list[str]:
    """The configured academies this viewer is DPO of (empty for every other role)."""
    return [a.id for a in settings.academies if viewer.is_dpo(a.id)]


def parse_timeline_lines(text: str) -> tuple[TimelineEntry, ...]:
    """Timeline entries from lines "YYYY-MM-DD HH:MM what happened" (UTC); blank lines skipped.
    ValueError with a one-line reason naming the bad line."""
    out = []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) > _MAX_LINES:
        raise ValueError(f"at most {_MAX_LINES} timeline lines")
    for line in lines:
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise ValueError(f'timeline line "{line[:80]}": write it as YYYY-MM-DD HH:MM what')
        try:
            at = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(
                f'timeline line "{line[:80]}": the date and time must read YYYY-MM-DD HH:MM'
            ) from None
        out.append(TimelineEntry(at, parts[2][:500]))
    return tuple(sorted(out, key=lambda e: e.at))


def clock_words(e: BreachEntry) -> str:
    """The clock as the pages say it: decided, time left, or overdue."""
    if e.decision is not None:
        return "decided"
    return remaining_words(e.clock)


def _decision_words(e: BreachEntry) -> str:
    d = e.decision
    if d is None:
        return "no decision yet"
    verdict = "report to the ICO" if d.report_to_ico else "not reported to the ICO"
    return f"{verdict} ({d.decided_by}, {d.decided_at:%Y-%m-%d %H:%M} UTC)"


def _entry_view(e: BreachEntry, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": e.incident.id,
        "academy": names.get(e.incident.academy_id, e.incident.academy_id),
        "mention_id": e.incident.mention_id,
        "categories": ", ".join(e.incident.categories) or "none",
        "first_seen": f"{e.clock.first_seen:%Y-%m-%d %H:%M} UTC",
        "deadline": f"{e.clock.deadline:%Y-%m-%d %H:%M} UTC",
        "clock": clock_words(e),
        "overdue": e.clock.overdue and e.decision is None,
        "decision": _decision_words(e),
        "decided": e.decision is not None,
        "history": [
            {
                "verdict": "report to the ICO" if d.report_to_ico else "not reported to the ICO",
                "reasoning": d.reasoning,
                "people_told": list(d.people_told),
                "timeline": [{"at": f"{t.at:%Y-%m-%d %H:%M}", "what": t.what} for t in d.timeline],
                "by": d.decided_by,
                "at": f"{d.decided_at:%Y-%m-%d %H:%M} UTC",
            }
            for d in reversed(e.history)  # newest first: the one in force on top
        ],
    }


def routes(settings: Settings, store: Store, clock: Clock, page: Page) -> list[Route]:
    names = {a.id: a.display_name for a in settings.academies}

    def not_found(request: Request, viewer: Viewer) -> HTMLResponse:
        return page(
            "message.html",
            404,
            title="Not found",
            text="There is no such page.",
            **page_context(request, viewer),
        )

    def _log(viewer: Viewer, academies: list[str]) -> list[BreachEntry]:
        now = clock()
        if viewer.every_academy() and len(academies) == len(settings.academies):
            return breach_log(store, now)
        out: list[BreachEntry] = []
        for academy in academies:
            out += breach_log(store, now, academy=academy)
        out.sort(key=lambda e: (e.incident.opened_at, e.incident.id), reverse=True)
        return out

    def _entry(viewer: Viewer, incident_id: str) -> BreachEntry | None:
        if len(incident_id) > 200:
            return None
        found = breach_log(store, clock(), incident_id=incident_id)
        if not found or not viewer.is_dpo(found[0].incident.academy_id):
            return None
        return found[0]

    def _list_page(request: Request, viewer: Viewer) -> HTMLResponse:
        academies = dpo_academies(settings, viewer)
        if not academies:
            return not_found(request, viewer)
        log_ = _log(viewer, academies)
        return page(
            "breaches.html",
            title="Breach log",
            entries=[_entry_view(e, names) for e in log_],
            now=f"{clock():%Y-%m-%d %H:%M} UTC",
            **page_context(request, viewer),
        )

    def _incident_page(
        request: Request, viewer: Viewer, incident_id: str, error: str = "", status: int = 200
    ) -> HTMLResponse:
        e = _entry(viewer, incident_id)
        if e is None:
            return not_found(request, viewer)
        return page(
            "breach.html",
            status,
            title=f"Incident {e.incident.id}",
            e=_entry_view(e, names),
            action=f"/breaches/{quote(e.incident.id, safe='')}/decision",
            error=error,
            **page_context(request, viewer),
        )

    async def list_page(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        return await anyio.to_thread.run_sync(_list_page, request, viewer)

    async def incident_page(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        return await anyio.to_thread.run_sync(
            _incident_page, request, viewer, request.path_params["incident_id"]
        )

    def _decide(
        request: Request, viewer: Viewer, incident_id: str, form: dict[str, str]
    ) -> Response:
        e = _entry(viewer, incident_id)
        if e is None:
            return not_found(request, viewer)

        def again(error: str) -> Response:
            return _incident_page(request, viewer, incident_id, error, 400)

        report = form.get("report_to_ico", "")
        if report not in ("yes", "no"):
            return again("Choose whether to report to the ICO.")
        try:
            timeline = parse_timeline_lines(form.get("timeline", "")[:_MAX_TEXT])
        except ValueError as exc:
            return again(str(exc).capitalize() + ".")
        told = [t.strip()[:200] for t in form.get("people_told", "")[:_MAX_TEXT].splitlines()]
        try:
            record_decision(
                store,
                e.incident.id,
                report_to_ico=report == "yes",
                reasoning=form.get("reasoning", "")[:_MAX_TEXT],
                people_told=[t for t in told if t][:_MAX_LINES],
                timeline=timeline,
                decided_by=viewer.email,
                now=clock(),
                actor=actor(viewer),
                client=client_of(request),
            )
        except ValueError as exc:
            return again(str(exc).capitalize() + ".")
        return RedirectResponse(f"/breaches/{quote(e.incident.id, safe='')}#history", 303)

    async def decide(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        return await anyio.to_thread.run_sync(
            functools.partial(_decide, request, viewer, request.path_params["incident_id"], fields)
        )

    def _export(request: Request, viewer: Viewer, fmt: str) -> Response:
        academies = dpo_academies(settings, viewer)
        if not academies:
            return not_found(request, viewer)
        if fmt not in ("csv", "json"):
            return page(
                "message.html",
                400,
                title="Unknown format",
                text="Export the breach log as CSV or JSON.",
                **page_context(request, viewer),
            )
        now = clock()
        log_ = _log(viewer, academies)
        body = export_csv(log_) if fmt == "csv" else export_json(log_)
        store.audit(
            AuditEntry(
                now,
                actor(viewer),
                "breach.export",
                academy_id=academies[0] if len(academies) == 1 else "",
                target="breach log",
                detail=f"{fmt}, {len(log_)} incident(s), academies {' '.join(academies)}",
                client=client_of(request),
            )
        )
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        name = f"breach-log-{now:%Y%m%d-%H%M}.{fmt}"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def export(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        fmt = str(form.get("format", "csv"))
        return await anyio.to_thread.run_sync(_export, request, viewer, fmt)

    return [
        Route("/breaches", list_page, methods=["GET"]),
        Route("/breaches/export", export, methods=["POST"]),
        Route("/breaches/{incident_id}", incident_page, methods=["GET"]),
        Route("/breaches/{incident_id}/decision", decide, methods=["POST"]),
    ]
