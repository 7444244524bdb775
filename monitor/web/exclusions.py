"""The admin's page of matcher exclusions proposed by "not about us" corrections
(monitor/corrections.py): GET /admin/exclusions lists them (proposed first, then applied and
rejected), each with its academy, who proposed it and who decided; POST
/admin/exclusions/{id}/apply and /reject decide one (`decide_exclusion`, audited
"exclusion.apply" / "exclusion.reject" in the same transaction), then 303 back.

Who: an admin, or a DPO, of the proposal's academy (a grant on "*" covers every academy). Anyone
else signed in gets 404, as for a missing page. No mention text is shown: the phrase is the few
words the proposal keeps, and the mention is linked only for those who may read it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import anyio.to_thread
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.clock import Clock
from monitor.config import Settings
from monitor.corrections import CorrectionError, decide_exclusion
from monitor.roles import EVERY_ACADEMY, Role, Viewer
from monitor.store import Store
from monitor.web.auth import actor, client_of, page_context, require_form, require_viewer

Page = Callable[..., HTMLResponse]
PATH = "/admin/exclusions"
_ORDER = {"proposed": 0, "applied": 1, "rejected": 2}


def deciding_academies(settings: Settings, viewer: Viewer) -> list[str]:
    """The configured academies whose exclusions this viewer may see and decide: admin or DPO."""
    return [
        a.id
        for a in settings.academies
        if viewer.is_dpo(a.id)
        or any(r is Role.ADMIN and g in (a.id, EVERY_ACADEMY) for g, r in viewer.grants)
    ]


def may_decide(settings: Settings, viewer: Viewer) -> bool:
    """Whether the header shows the link (admins and DPOs)."""
    return bool(deciding_academies(settings, viewer))


def routes(settings: Settings, store: Store, clock: Clock, page: Page) -> list[Route]:
    def _not_found(request: Request, viewer: Viewer) -> HTMLResponse:
        return page(
            "message.html",
            404,
            title="Not found",
            text="There is no such page.",
            **page_context(request, viewer),
        )

    def _list(request: Request, viewer: Viewer) -> HTMLResponse:
        mine = deciding_academies(settings, viewer)
        if not mine:
            return _not_found(request, viewer)
        names = {a.id: a.display_name for a in settings.academies}
        rows = [p for p in store.exclusion_proposals() if p.academy_id in mine]
        rows.sort(key=lambda p: (_ORDER.get(p.status, 3), -p.id))
        return page(
            "exclusions.html",
            title="Matcher exclusions",
            rows=[
                {
                    "id": p.id,
                    "phrase": p.phrase,
                    "academy": names.get(p.academy_id, p.academy_id),
                    "status": p.status,
                    "proposed_by": p.proposed_by,
                    "proposed_at": p.proposed_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "mention": p.mention_id,
                    "mention_link": p.mention_id is not None and viewer.can_read(p.academy_id),
                    "decided_by": p.decided_by or "",
                    "decided_at": p.decided_at.strftime("%Y-%m-%d %H:%M UTC")
                    if p.decided_at
                    else "",
                }
                for p in rows
            ],
            **page_context(request, viewer),
        )

    def _decide(request: Request, viewer: Viewer, form: FormData) -> Response:
        raw = request.path_params["proposal_id"]
        decision = request.path_params["decision"]
        apply = decision == "apply"
        mine = deciding_academies(settings, viewer)
        found = None
        if raw.isdigit() and len(raw) < 12 and decision in ("apply", "reject"):
            found = next((p for p in store.exclusion_proposals() if p.id == int(raw)), None)
        if found is None or found.academy_id not in mine:
            return _not_found(request, viewer)
        try:
            decide_exclusion(
                store,
                found.id,
                apply,
                viewer.email,
                clock(),
                actor=actor(viewer),
                client=client_of(request),
            )
        except CorrectionError as exc:
            return page(
                "message.html",
                409,
                title="Not done",
                text=f"{exc}. Reload the list of exclusions to see where it stands.",
                **page_context(request, viewer),
            )
        return RedirectResponse(PATH, 303)

    async def listing(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        return await anyio.to_thread.run_sync(_list, request, viewer)

    async def decision(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        return await anyio.to_thread.run_sync(functools.partial(_decide, request, viewer, form))

    return [
        Route(PATH, listing, methods=["GET"]),
        Route(PATH + "/{proposal_id}/{decision:str}", decision, methods=["POST"]),
    ]
