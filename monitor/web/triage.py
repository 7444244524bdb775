"""The mention page's triage panel and its POST route: status, owner, notes, "not about us",
"wrong categories" and author/thread mutes.

`panel(settings, store)` is the page's first section (monitor/web/panels.py): head, dsl and dpo
get the forms; a viewer (or admin) sees the status and owner read-only. Every form posts to
POST /mentions/{id}/triage with a `do` field; the route checks the session's CSRF token
(`require_form`), answers 404 for a mention the user may not read and 403 for one they may only
read, applies the command through the store's triage API (one transaction, with an audit row
"status" for every status change), and redirects 303 back to the mention (post/redirect/get). A
refused command (e.g. closed → action taken) answers 409 with its one-line reason and a link back.
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
from monitor.corrections import NOT_ABOUT_US, WRONG_CATEGORIES, CorrectionError, record_correction
from monitor.models import CATEGORIES, Assessment, Mention
from monitor.roles import Viewer
from monitor.scoring.taxonomy import TAXONOMY
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.triage import (
    ALLOWED,
    NOTE_MAX,
    Acknowledge,
    AddNote,
    Assign,
    Command,
    CorrectCategories,
    MarkNotAboutUs,
    MuteAuthor,
    MuteKind,
    MuteThread,
    SetStatus,
    Status,
    TriageError,
    Unmute,
)
from monitor.web.auth import actor, client_of, csrf_field, page_context, require_form
from monitor.web.panels import Panel, Section

Page = Callable[..., HTMLResponse]
_WORDS = {
    Status.NEW: "new",
    Status.ACKNOWLEDGED: "acknowledged",
    Status.ACTION_TAKEN: "action taken",
    Status.CLOSED: "closed",
}
# The button for each move, in words ("reopen" is closed → acknowledged).
_MOVE_WORDS = {
    Status.ACKNOWLEDGED: "Acknowledge",
    Status.ACTION_TAKEN: "Action taken",
    Status.CLOSED: "Close",
}


def owners(store: Store, academy_id: str) -> list[str]:
    """Active users with a role on this academy (its own or a trust-wide one), by email."""
    with store.transaction() as tx:
        users = tx.users()
    return sorted(
        u.email for u in users if u.active and Viewer(u.id, u.email, u.grants).can_read(academy_id)
    )


def panel(settings: Settings, store: Store) -> Panel:
    def triage_panel(
        request: Request, viewer: Viewer, mention: Mention, assessment: Assessment | None
    ) -> Section | None:
        detail = store.mention_detail(mention.id)
        if detail is None:
            return None
        status = detail.status
        can_act = viewer.can_act(mention.organisation)
        ctx: dict[str, object] = {
            "id": mention.id,
            "status": _WORDS[status],
            "owner": detail.owner or "",
            "can_act": can_act,
            "csrf": csrf_field(request),
        }
        if can_act:
            with store.transaction() as tx:
                mutes = tx.mutes([mention.organisation])
            from monitor.authors import author_key

            key = author_key(mention.author) if mention.author else ""
            shown = detail.assessment.categories if detail.assessment else ()
            ctx |= {
                "moves": [
                    {
                        "to": s.value,
                        "label": "Reopen" if status is Status.CLOSED else _MOVE_WORDS[s],
                    }
                    for s in sorted(ALLOWED[status], key=list(Status).index)
                ],
                "owners": owners(store, mention.organisation),
                "me": viewer.email,
                "note_max": NOTE_MAX,
                "scored": assessment is not None,
                "categories": [
                    {"key": c, "title": TAXONOMY[c].title, "on": c in shown} for c in CATEGORIES
                ],
                "author": mention.author or "",
                "author_muted": any(
                    m.kind is MuteKind.AUTHOR and m.key == key for m in mutes if key
                ),
                "thread_muted": any(
                    m.kind is MuteKind.THREAD and m.key == mention.cluster_id for m in mutes
                ),
            }
        return Section("triage_panel.html", ctx)

    return triage_panel


def command_for(form: FormData, viewer: Viewer, mention: Mention) -> Command:
    """The triage command a panel form asks for; TriageError for one it does not know."""
    do = str(form.get("do", ""))
    match do:
        case "acknowledge":
            return Acknowledge()
        case "status":
            raw = str(form.get("status", ""))
            if raw not in {s.value for s in Status}:
                raise TriageError(f"unknown status {raw[:30]!r}")
            return SetStatus(Status(raw))
        case "assign":
            owner = str(form.get("owner", "")).strip()
            if owner == "me":
                return Assign(viewer.email)
            return Assign(owner or None)
        case "note":
            return AddNote(str(form.get("text", "")))
        case "not_about_us":
            return MarkNotAboutUs()
        case "categories":
            return CorrectCategories(tuple(str(c) for c in form.getlist("category")))
        case "mute_author":
            return MuteAuthor(mention.author or "")
        case "mute_thread":
            return MuteThread(mention.cluster_id)
        case "unmute_author":
            return Unmute(MuteKind.AUTHOR, mention.author or "")
        case "unmute_thread":
            return Unmute(MuteKind.THREAD, mention.cluster_id)
    raise TriageError(f"unknown triage action {do[:30]!r}")


def routes(settings: Settings, store: Store, clock: Clock, page: Page) -> list[Route]:
    from monitor.web.pages import mention_id, readable

    def refused(request: Request, viewer: Viewer, status: int, title: str, text: str) -> Response:
        return page(
            "triage_refused.html",
            status,
            title=title,
            text=text,
            back=request.url.path.removesuffix("/triage"),
            **page_context(request, viewer),
        )

    def _apply(request: Request, viewer: Viewer, form: FormData) -> Response:
        mid = mention_id(request.path_params["mention_id"])
        row = readable(store, viewer, mid)
        if row is None or mid is None:
            return refused(request, viewer, 404, "Not found", "There is no such mention.")
        m, _a = row
        if not viewer.can_act(m.organisation):
            return refused(
                request, viewer, 403, "Not allowed", "Your role on this academy is read-only."
            )
        now = clock()
        try:
            command = command_for(form, viewer, m)
            with store.transaction() as tx:
                before = tx.mention_detail(mid)
                if isinstance(command, MarkNotAboutUs | CorrectCategories):
                    result = tx.correct(mid, command, viewer.email, now)
                    # The same correction, kept as a labelled example for `train
                    # --with-corrections` (and, for "not about us", a matcher exclusion proposal).
                    cats: tuple[str, ...] = ()
                    if isinstance(command, MarkNotAboutUs):
                        kind = NOT_ABOUT_US
                    else:
                        kind, cats = WRONG_CATEGORIES, command.categories
                    record_correction(tx, mid, kind, cats, viewer.email, now)
                    tx.audit(
                        AuditEntry(
                            now,
                            actor(viewer),
                            "correction",
                            academy_id=m.organisation,
                            target=f"mention:{mid}",
                            detail=kind if not cats else f"{kind}: {', '.join(cats)}",
                            client=client_of(request),
                        )
                    )
                else:
                    result = tx.triage(mid, command, viewer.email, now)
                old = before.status if before else None
                if result.state.status != old:
                    tx.audit(
                        AuditEntry(
                            now,
                            actor(viewer),
                            "status",
                            academy_id=m.organisation,
                            target=f"mention:{mid}",
                            detail=f"{old.value if old else '?'} -> {result.state.status.value}",
                            client=client_of(request),
                        )
                    )
        except (TriageError, CorrectionError) as e:
            return refused(request, viewer, 409, "Not done", str(e))
        return RedirectResponse(f"/mentions/{mid}#triage", 303)

    async def triage(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        return await anyio.to_thread.run_sync(functools.partial(_apply, request, viewer, form))

    return [Route("/mentions/{mention_id}/triage", triage, methods=["POST"])]
