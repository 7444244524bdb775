"""The signed-in pages of phase 1: the landing inbox (GET /) and the mention page with its audited
full-text reveal (POST /mentions/{id}/reveal).

Access: a mention page is only for a signed-in user with a role on the mention's academy; anyone
signed in without one gets the very page a missing id gets (404), whatever the id. Without a
session, every page redirects to sign-in and comes back (the emails' "Open it in the dashboard").
The page shows the redacted text (as the emails do); head, dsl and dpo may reveal the full text,
and every reveal is written to the audit log.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from alerts import rules
from monitor.clock import Clock
from monitor.config import Settings
from monitor.models import Assessment, Mention
from monitor.roles import Viewer
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.web.auth import actor, client_of, page_context, require_form, require_viewer
from monitor.web.panels import Panel

# A mention id: a positive integer that fits a signed 64-bit column (anything else is a 404).
_ID = re.compile(r"[1-9][0-9]{0,18}")
_MAX_ID = 2**63 - 1
PER_PAGE = 50
_MAX_PAGE = 1000

Page = Callable[..., HTMLResponse]


def mention_id(raw: str) -> int | None:
    return int(raw) if _ID.fullmatch(raw) and int(raw) <= _MAX_ID else None


def readable(
    store: Store, viewer: Viewer, mid: int | None
) -> tuple[Mention, Assessment | None] | None:
    """The mention if this viewer may read it; None when it is missing or not theirs (the
    caller answers both the same way, so ids reveal nothing)."""
    if mid is None:
        return None
    row = store.mention(mid)
    if row is None or not viewer.can_read(row[0].organisation):
        return None
    return row


def routes(
    settings: Settings,
    store: Store,
    clock: Clock,
    page: Page,
    limiter: Callable[[], anyio.CapacityLimiter],
    panels: Sequence[Panel] = (),
) -> list[Route]:
    def not_found(request: Request, viewer: Viewer) -> HTMLResponse:
        return page(
            "message.html",
            404,
            title="Not found",
            text="There is no such mention.",
            **page_context(request, viewer),
        )

    def _academies(viewer: Viewer) -> list[str]:
        every = [a.id for a in settings.academies]
        if viewer.every_academy():
            return every
        return [a for a in every if viewer.can_read(a)]

    def _inbox(request: Request, viewer: Viewer, page_no: int) -> HTMLResponse:
        # Phase 1: newest first across the viewer's academies (TRIAGE builds the real inbox).
        want = page_no * PER_PAGE + 1
        rows: list[tuple[Mention, Assessment | None]] = []
        for academy in _academies(viewer):
            rows += store.mentions(organisation=academy, limit=want)
        rows.sort(key=lambda r: (r[0].first_seen_at, r[0].id), reverse=True)
        shown = rows[(page_no - 1) * PER_PAGE : page_no * PER_PAGE]
        names = {a.id: a.display_name for a in settings.academies}
        items = [
            {
                "id": m.id,
                "title": rules.clean_text(m.title or m.text, 140),
                "academy": names.get(m.organisation, m.organisation),
                "seen": m.first_seen_at.strftime("%Y-%m-%d %H:%M"),
                "severity": a.severity.value if a else "not assessed",
            }
            for m, a in shown
        ]
        return page(
            "inbox.html",
            title="Inbox",
            items=items,
            page_no=page_no,
            more=len(rows) > page_no * PER_PAGE,
            no_academy=not _academies(viewer),
            **page_context(request, viewer),
        )

    async def inbox(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        raw = request.query_params.get("page", "1")
        page_no = int(raw) if raw.isdigit() and 1 <= int(raw) <= _MAX_PAGE else 1
        return await anyio.to_thread.run_sync(
            functools.partial(_inbox, request, viewer, page_no), limiter=limiter()
        )

    def _mention_page(
        request: Request, viewer: Viewer, mid: int | None, reveal: bool
    ) -> HTMLResponse:
        row = readable(store, viewer, mid)
        if row is None:
            return not_found(request, viewer)
        m, a = row
        if reveal and not viewer.can_reveal(m.organisation):
            return page(
                "message.html",
                403,
                title="Not allowed",
                text="Your role on this academy shows the redacted text only.",
                **page_context(request, viewer),
            )
        if reveal:
            with store.transaction() as tx:
                tx.audit(
                    AuditEntry(
                        clock(),
                        actor(viewer),
                        "reveal",
                        academy_id=m.organisation,
                        target=f"mention:{m.id}",
                        detail="full text shown",
                        client=client_of(request),
                    )
                )
        facts = rules.mention_facts(m, a, settings.web.public_base_url)
        return page(
            "mention.html",
            title=facts.title,
            m=facts,
            severity=a.severity.value if a else "not assessed",
            full={"title": m.title, "text": m.text} if reveal else None,
            can_reveal=viewer.can_reveal(m.organisation),
            sections=[s for s in (panel(request, viewer, m, a) for panel in panels) if s],
            **page_context(request, viewer),
        )

    async def mention(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        mid = mention_id(request.path_params["mention_id"])
        return await anyio.to_thread.run_sync(
            functools.partial(_mention_page, request, viewer, mid, False), limiter=limiter()
        )

    async def reveal(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, _form = got
        mid = mention_id(request.path_params["mention_id"])
        return await anyio.to_thread.run_sync(
            functools.partial(_mention_page, request, viewer, mid, True), limiter=limiter()
        )

    return [
        Route("/", inbox, methods=["GET"]),
        Route("/mentions/{mention_id}", mention, methods=["GET"]),
        Route("/mentions/{mention_id}/reveal", reveal, methods=["POST"]),
    ]
