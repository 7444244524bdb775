"""The signed-in pages: the inbox (GET /) and the mention page with its audited full-text reveal
(POST /mentions/{id}/reveal). Triage forms and their POST routes live in monitor/web/triage.py,
shown on the mention page as its first panel.

Access: a mention page is only for a signed-in user with a role on the mention's academy; anyone
signed in without one gets the very page a missing id gets (404), whatever the id. Without a
session, every page redirects to sign-in and comes back (the emails' "Open it in the dashboard").
The page shows the redacted text (as the emails do); head, dsl and dpo may reveal the full text,
and every reveal is written to the audit log.

The inbox is the store's `inbox(InboxQuery)` over the viewer's academies, filtered by a plain GET
form (no script): academy, category, urgent only, status, source, date range and a text search,
with the counts per status as links and an "Older" link that carries the keyset cursor. Titles
are redacted as in the emails.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from alerts import rules
from monitor.clock import Clock
from monitor.config import Settings
from monitor.models import CATEGORIES, Assessment, Mention, scoring_text
from monitor.roles import Viewer
from monitor.scoring.taxonomy import TAXONOMY
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.inbox import SEARCH_MAX, InboxError, InboxQuery, MentionDetail
from monitor.store.triage import TimelineEvent
from monitor.triage import EventKind, Status
from monitor.web.auth import actor, client_of, page_context, require_form, require_viewer
from monitor.web.panels import Panel

# A mention id: a positive integer that fits a signed 64-bit column (anything else is a 404).
_ID = re.compile(r"[1-9][0-9]{0,18}")
_MAX_ID = 2**63 - 1
PER_PAGE = 50
_CURSOR_MAX = 200
_STATUS_WORDS = {
    Status.NEW: "new",
    Status.ACKNOWLEDGED: "acknowledged",
    Status.ACTION_TAKEN: "action taken",
    Status.CLOSED: "closed",
}
# The inbox form's fields, in the order they appear in links.
_FILTERS = ("academy", "category", "urgent", "status", "source", "from", "until", "q")

Page = Callable[..., HTMLResponse]


def mention_id(raw: str) -> int | None:
    return int(raw) if _ID.fullmatch(raw) and int(raw) <= _MAX_ID else None


def status_word(status: Status) -> str:
    return _STATUS_WORDS[Status(status)]


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


def viewer_academies(settings: Settings, viewer: Viewer) -> list[str]:
    """The configured academies this viewer may read, in the config's order."""
    return [a.id for a in settings.academies if viewer.can_read(a.id)]


def _date(raw: str, what: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InboxError(f"the {what} date must look like 2026-11-28, not {raw[:20]!r}") from None


def inbox_query(
    params: Mapping[str, str], academies: Sequence[str], sources: Sequence[str]
) -> InboxQuery:
    """The store query for the inbox form's values; InboxError (one line) when one is wrong.
    `academies` are the viewer's; `sources` the source keys the form offers."""
    academy = params.get("academy", "")
    if academy and academy not in academies:
        raise InboxError("there is no such academy among yours")
    status = params.get("status", "")
    if status and status not in {s.value for s in Status}:
        raise InboxError(f"unknown status {status[:30]!r}")
    category = params.get("category", "")
    if category and category not in CATEGORIES:
        raise InboxError(f"unknown category {category[:30]!r}")
    source = params.get("source", "")
    if source and source not in sources:
        raise InboxError("there is no such source among your academies'")
    since, until = _date(params.get("from", ""), "from"), _date(params.get("until", ""), "until")
    if since and until and until < since:
        raise InboxError("the date range ends before it starts")
    search = params.get("q", "").strip()
    if len(search) > SEARCH_MAX:
        raise InboxError(f"the search is longer than {SEARCH_MAX} characters")
    cursor = params.get("cursor", "")[:_CURSOR_MAX] or None
    return InboxQuery(
        academies=(academy,) if academy else tuple(academies),
        category=category or None,
        urgent_only=params.get("urgent", "") == "1",
        status=Status(status) if status else None,
        source_key=source or None,
        seen_from=datetime.combine(since, time(), UTC) if since else None,
        # "until" is inclusive in the form: up to the end of that day.
        seen_until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        search=search or None,
        cursor=cursor,
        limit=PER_PAGE,
    )


def _link(params: Mapping[str, str], **changes: str) -> str:
    values = {k: params.get(k, "") for k in _FILTERS}
    values.update(changes)
    kept = {k: v for k, v in values.items() if v}
    return "/?" + urlencode(kept) if kept else "/"


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else ""


def describe(event: TimelineEvent) -> str:
    """One timeline line in words (the actor and time are shown beside it)."""
    d = event.detail
    match event.kind:
        case EventKind.STATUS:
            return (
                f"status {status_word(Status(d['from']))} → {status_word(Status(d['to']))}"
                if d.get("from") in set(Status) and d.get("to") in set(Status)
                else "status changed"
            )
        case EventKind.ASSIGNED:
            return f"assigned to {d.get('to') or 'nobody'}"
        case EventKind.NOTE:
            return f"note: {d.get('text', '')}"
        case EventKind.NOT_ABOUT_US:
            return "marked not about us (closed)"
        case EventKind.CATEGORIES:
            cats = [TAXONOMY[c].title for c in d.get("categories", []) if c in TAXONOMY]
            return "categories corrected to " + (", ".join(cats) if cats else "none")
        case EventKind.MUTED:
            return f"muted {d.get('kind', '')} {d.get('key', '')}"
        case EventKind.UNMUTED:
            return f"unmuted {d.get('kind', '')} {d.get('key', '')}"
    return str(event.kind)


def raw_phrases(mention: Mention, assessment: Assessment | None) -> list[str]:
    """The evidence as found, unredacted: only for the full-text view after an audited reveal."""
    if assessment is None:
        return []
    text = scoring_text(mention.title, mention.text)
    out: list[str] = []
    for e in assessment.evidence:
        phrase = (e.text or text[e.start : e.end]).strip()
        if phrase and phrase not in out:
            out.append(phrase)
    return out[:20]


def routes(
    settings: Settings,
    store: Store,
    clock: Clock,
    page: Page,
    limiter: Callable[[], anyio.CapacityLimiter],
    panels: Sequence[Panel] = (),
) -> list[Route]:
    names = {a.id: a.display_name for a in settings.academies}
    from monitor.web import triage  # the mention page's first panel: status, owner, notes…

    all_panels: list[Panel] = [triage.panel(settings, store), *panels]

    def not_found(request: Request, viewer: Viewer) -> HTMLResponse:
        return page(
            "message.html",
            404,
            title="Not found",
            text="There is no such mention.",
            **page_context(request, viewer),
        )

    def _sources(academies: Sequence[str]) -> list[tuple[str, str]]:
        return [
            (f"{a.id}/{s.name}", f"{a.display_name} · {s.name}" if len(academies) > 1 else s.name)
            for a in settings.academies
            if a.id in academies
            for s in a.sources
        ]

    def _inbox(request: Request, viewer: Viewer) -> HTMLResponse:
        academies = viewer_academies(settings, viewer)
        params = {k: str(v)[:400] for k, v in request.query_params.items()}
        sources = _sources(academies)
        ctx: dict[str, Any] = {
            "title": "Inbox",
            "wide": True,
            "f": {k: params.get(k, "") for k in _FILTERS},
            "academies": [(a, names.get(a, a)) for a in academies],
            "categories": [(c, TAXONOMY[c].title) for c in CATEGORIES],
            "statuses": [(s.value, status_word(s)) for s in Status],
            "sources": sources,
            "no_academy": not academies,
            "error": "",
            "items": [],
            "counts": [],
            "total": 0,
            "older": None,
            "first_page": _link(params),
            "paged": bool(params.get("cursor")),
            **page_context(request, viewer),
        }
        if not academies:
            return page("inbox.html", **ctx)
        try:
            q = inbox_query(params, academies, [k for k, _ in sources])
            got = store.inbox(q)
        except InboxError as e:
            return page("inbox.html", 400, **{**ctx, "error": str(e)})
        ctx["items"] = [
            {
                "id": r.id,
                "title": rules.clean_text(r.title, 140) or "(no title)",
                "academy": names.get(r.academy, r.academy),
                "source": rules.source_name(r.source),
                "seen": _when(r.first_seen),
                "severity": r.severity.value if r.severity else "not assessed",
                "status": status_word(r.status),
                "status_key": r.status.value,
                "owner": r.owner or "",
                "muted": r.muted,
                "copies": r.cluster_size - 1,
                "categories": [TAXONOMY[c].title for c in r.categories if c in TAXONOMY],
            }
            for r in got.rows
        ]
        ctx["counts"] = [
            {
                "word": status_word(s),
                "n": got.counts.get(s, 0),
                "href": _link(params, status=s.value),
                "current": params.get("status") == s.value,
            }
            for s in Status
        ]
        ctx["all_href"] = _link(params, status="")
        ctx["total"] = got.total
        ctx["older"] = _link(params, cursor=got.next_cursor) if got.next_cursor else None
        return page("inbox.html", **ctx)

    async def inbox(request: Request) -> Response:
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        return await anyio.to_thread.run_sync(
            functools.partial(_inbox, request, viewer), limiter=limiter()
        )

    def _timeline(detail: MentionDetail) -> list[dict[str, str]]:
        m = detail.mention
        lines = [
            {"at": _when(e.at), "who": e.actor, "what": describe(e), "sort": e.at.isoformat()}
            for e in detail.events
        ]
        # Reveals are in the audit log, not the mention's events: both make its history.
        for row in store.audit_entries(action="reveal"):
            if row.entry.target == f"mention:{m.id}":
                who = row.entry.actor.removeprefix("user:")
                lines.append(
                    {
                        "at": _when(row.entry.at),
                        "who": who,
                        "what": "full text shown (audited)",
                        "sort": row.entry.at.isoformat(),
                    }
                )
        lines.sort(key=lambda x: x["sort"])
        return lines

    def _incident(m: Mention) -> str | None:
        from monitor.store import incidents

        with store.transaction() as tx:
            row = incidents.for_story(tx, m.organisation, m.cluster_id)
        return row.id if row else None

    def _mention_page(
        request: Request, viewer: Viewer, mid: int | None, reveal: bool
    ) -> HTMLResponse:
        row = readable(store, viewer, mid)
        detail = store.mention_detail(mid) if row is not None and mid is not None else None
        if row is None or detail is None:
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
        facts = rules.mention_facts(m, detail.assessment or a, settings.web.public_base_url)
        shown = detail.assessment or a
        copies = [
            {
                "id": c.id,
                "source": rules.source_name(c.source),
                "title": rules.clean_text(c.title, 140) or "(no title)",
                "seen": _when(c.first_seen),
            }
            for c in detail.copies
            if viewer.can_read(m.organisation)
        ]
        corrected = shown is not None and tuple(shown.categories) != detail.scored_categories
        return page(
            "mention.html",
            title=facts.title,
            wide=True,
            m=facts,
            academy=names.get(m.organisation, m.organisation),
            seen=_when(m.first_seen_at),
            published=_when(m.published_at),
            severity=shown.severity.value if shown else "not assessed",
            state=status_word(detail.status),
            owner=detail.owner or "",
            muted=detail.muted,
            corrected=corrected,
            scored=[TAXONOMY[c].title for c in detail.scored_categories if c in TAXONOMY],
            copies=copies,
            incident=_incident(m),
            timeline=_timeline(detail),
            full={"title": m.title, "text": m.text, "phrases": raw_phrases(m, shown)}
            if reveal
            else None,
            can_reveal=viewer.can_reveal(m.organisation),
            sections=[s for s in (panel(request, viewer, m, a) for panel in all_panels) if s],
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
        *triage.routes(settings, store, clock, page),
    ]
