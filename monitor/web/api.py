"""The read-only JSON API (issue 12): `/api/v1/mentions`, `/api/v1/mentions/{id}`,
`/api/v1/incidents`, and its OpenAPI 3.1 document at `/api/v1/openapi.json`
(monitor/web/api_doc.py).

Access is by personal API token only (`mention-monitor users token create`), sent as
`Authorization: Bearer <token>`; only the token's SHA-256 is stored. Cookies are never read here,
so a browser's session cannot be ridden across sites (no CSRF surface), and nothing changes
state: only GET and HEAD are answered, anything else is 405. Each token may make
`RATE_PER_TOKEN` requests per `RATE_WINDOW` (in memory, on the app's clock), then 429.

Scoping, per endpoint, by the token's user's roles (monitor/roles.py):
- mentions (list and detail): every role on the mention's academy (head, dsl, dpo, admin,
  viewer). Another academy's id answers the same 404 as a missing one. The text search `q`
  matches the stored full text, so it is only for roles that may reveal the full text (head,
  dsl, dpo) on every academy searched: for the others it would confirm guesses about the
  redacted parts (403).
- incidents: head, dsl and dpo, for their academies (the breach log is theirs to act on);
  a token whose user holds none of those roles gets 403.

What leaves: the redacted title and excerpt the emails show (alerts/rules.py `clean_text`), the
categories in words, the assessment's reason and evidence labels (phrases redacted, personal
data named by kind, never quoted), status, owner, copies' ids and timeline kinds. Never the full
text (the dashboard's "Show full text" is an audited reveal; an API for it would need the same
audit), never the author's handle, never notes or the DPO's reasoning.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from alerts import rules
from monitor.breach_log import breach_log
from monitor.breaches import BreachEntry
from monitor.clock import Clock
from monitor.config import Settings
from monitor.models import CATEGORIES
from monitor.roles import Role, Viewer
from monitor.store import Store
from monitor.store.inbox import (
    MAX_PAGE,
    SEARCH_MAX,
    InboxError,
    InboxQuery,
    InboxRow,
    MentionDetail,
    decode_cursor,
)
from monitor.store.users import token_hash
from monitor.triage import Status
from monitor.web.api_doc import openapi
from monitor.web.auth import RateLimiter
from monitor.web.pages import mention_id

PREFIX = "/api/v1"
RATE_PER_TOKEN = 60
RATE_WINDOW = timedelta(minutes=1)
DEFAULT_LIMIT = 50
_TOKEN_MAX = 200
_METHODS = ("GET", "HEAD")
_INCIDENT_ROLES = frozenset({Role.HEAD, Role.DSL, Role.DPO})
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
MENTION_PARAMS = frozenset(
    {"academy", "category", "urgent", "status", "source", "since", "until", "q", "limit", "cursor"}
)
INCIDENT_PARAMS = frozenset({"academy", "since"})


@dataclass(frozen=True)
class ApiError(Exception):
    """An answer other than 200: its status, a stable code and one line for a person."""

    status: int
    code: str
    message: str


def _json(doc: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**HEADERS, **(headers or {})},
    )


def error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return _json({"error": {"code": code, "message": message}}, status, headers)


# --- reading the query ------------------------------------------------------------------------


def _no_unknown(params: Mapping[str, str], known: frozenset[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise ApiError(
            400, "invalid_parameter", f"unknown parameter {unknown[0][:40]!r}; see openapi.json"
        )


def parse_time(name: str, raw: str) -> datetime:
    """An ISO 8601 date-time with its zone ('Z' or an offset), or a date (midnight UTC)."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"{name}: {raw[:40]!r} is not an ISO 8601 date or date-time"
        ) from None
    if at.tzinfo is None:
        raise ApiError(400, "invalid_parameter", f"{name}: give the time zone (e.g. Z or +00:00)")
    return at


def _bool(name: str, raw: str) -> bool:
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, "invalid_parameter", f"{name}: true or false, not {raw[:20]!r}")


def mentions_query(params: Mapping[str, str], readable: tuple[str, ...]) -> InboxQuery | None:
    """The inbox query for these parameters over the academies the viewer may read; None when the
    answer is empty whatever is stored (an academy filter that is not the viewer's, or no
    academy at all: both look like an academy with no mentions). ApiError(400) for bad input."""
    _no_unknown(params, MENTION_PARAMS)
    academies = readable
    if "academy" in params:
        academies = tuple(a for a in readable if a == params["academy"])
    category = params.get("category")
    if category is not None and category not in CATEGORIES:
        raise ApiError(400, "invalid_parameter", f"category: one of {', '.join(CATEGORIES)}")
    status = params.get("status")
    if status is not None and status not in {s.value for s in Status}:
        raise ApiError(
            400, "invalid_parameter", f"status: one of {', '.join(s.value for s in Status)}"
        )
    raw_limit = params.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise ApiError(400, "invalid_parameter", f"limit: a whole number from 1 to {MAX_PAGE}")
    search = params.get("q")
    if search is not None and len(search) > SEARCH_MAX:
        raise ApiError(400, "invalid_parameter", f"q: at most {SEARCH_MAX} characters")
    cursor = params.get("cursor") or None
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except InboxError as e:
            raise ApiError(400, "invalid_cursor", str(e)) from None
    query = InboxQuery(
        academies=academies,
        category=category,
        urgent_only=_bool("urgent", params["urgent"]) if "urgent" in params else False,
        status=Status(status) if status else None,
        source_key=params.get("source") or None,
        seen_from=parse_time("since", params["since"]) if "since" in params else None,
        seen_until=parse_time("until", params["until"]) if "until" in params else None,
        search=search,
        cursor=cursor,
        limit=int(raw_limit),
    )
    return query if academies else None


# --- what leaves: redacted, never the full text -----------------------------------------------


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def summary_doc(row: InboxRow, base_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "academy": row.academy,
        "title": rules.clean_text(row.title, rules.TITLE_CHARS) or "(no title)",
        "source": row.source,
        "first_seen": row.first_seen.isoformat(),
        "published": _time(row.published),
        "severity": row.severity.value if row.severity else None,
        "categories": list(row.categories),
        "status": row.status.value,
        "owner": row.owner,
        "muted": row.muted,
        "cluster_size": row.cluster_size,
        "dashboard_url": rules.dashboard_url(base_url, row.id),
    }


def detail_doc(d: MentionDetail, base_url: str) -> dict[str, Any]:
    m, a = d.mention, d.assessment
    facts = rules.mention_facts(m, a, base_url)
    return {
        "id": m.id,
        "academy": m.organisation,
        "source": m.source_key,
        "url": facts.url,
        "title": facts.title,
        "excerpt": facts.excerpt,
        "first_seen": m.first_seen_at.isoformat(),
        "published": _time(m.published_at),
        "severity": a.severity.value if a else None,
        "categories": list(a.categories) if a else [],
        "scored_categories": list(d.scored_categories),
        "found": [{"category": f.key, "label": f.label} for f in facts.found],
        "reason": rules.clean_text(a.reason, rules.EXCERPT_CHARS) if a else None,
        "evidence": list(facts.why),
        "status": d.status.value,
        "owner": d.owner,
        "muted": d.muted,
        "copies": [c.id for c in d.copies],
        "timeline": [{"at": e.at.isoformat(), "kind": e.kind.value} for e in d.events],
        "dashboard_url": facts.dashboard_url,
    }


def incident_doc(e: BreachEntry) -> dict[str, Any]:
    d = e.decision
    return {
        "id": e.incident.id,
        "academy": e.incident.academy_id,
        "mention_id": e.incident.mention_id,
        "categories": list(e.incident.categories),
        "first_seen": e.clock.first_seen.isoformat(),
        "deadline": e.clock.deadline.isoformat(),
        "remaining_seconds": int(e.clock.remaining.total_seconds()),
        "overdue": e.clock.overdue and d is None,
        "decision": "undecided"
        if d is None
        else ("report_to_ico" if d.report_to_ico else "not_reported"),
        "decided_at": _time(d.decided_at) if d else None,
        "decisions": len(e.history),
    }


# --- the routes -------------------------------------------------------------------------------


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is none."""
    scheme, _, raw = request.headers.get("authorization", "").strip().partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw or len(raw) > _TOKEN_MAX:
        return None
    if not raw.isascii() or not raw.isprintable() or " " in raw:
        return None
    return raw


Handler = Callable[[Request, Viewer], dict[str, Any]]


class _AnyMethod:
    """A route endpoint that receives every method, so that the API itself answers the ones it
    refuses with its JSON 405 (Starlette limits a plain function endpoint to GET and HEAD and
    answers the others in plain text)."""

    def __init__(self, fn: Callable[[Request], Awaitable[Response]]) -> None:
        self._app = request_response(fn)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def routes(
    settings: Settings,
    store: Store,
    clock: Clock,
    limiter: Callable[[], anyio.CapacityLimiter],
) -> list[Route]:
    """The API's routes, the public document and a JSON 404 for any other /api/ path."""
    per_token = RateLimiter(RATE_PER_TOKEN, RATE_WINDOW)
    base_url = settings.web.public_base_url
    document = json.dumps(openapi(), ensure_ascii=False, indent=1).encode("utf-8")

    def _readable(viewer: Viewer) -> tuple[str, ...]:
        return tuple(a.id for a in settings.academies if viewer.can_read(a.id))

    def _viewer(hashed: str) -> Viewer | None:
        with store.transaction() as tx:
            user_id = tx.api_token_user(hashed, clock())  # records its last use
            return tx.viewer(user_id) if user_id is not None else None

    def _allowed(request: Request) -> Response | None:
        if request.method in _METHODS:
            return None
        return error(
            405,
            "method_not_allowed",
            "the API is read-only: GET or HEAD",
            {"Allow": ", ".join(_METHODS)},
        )

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            refused = _allowed(request)
            if refused is not None:
                return refused
            raw = bearer(request)
            if raw is None:
                return error(
                    401,
                    "unauthorized",
                    "send a personal API token: Authorization: Bearer <token>",
                    {"WWW-Authenticate": 'Bearer realm="mention-monitor"'},
                )
            hashed = token_hash(raw)
            if not per_token.allow(hashed, clock()):
                return error(
                    429,
                    "rate_limited",
                    f"at most {RATE_PER_TOKEN} requests a minute per token; try again shortly",
                    {"Retry-After": str(int(RATE_WINDOW.total_seconds()))},
                )
            viewer = await anyio.to_thread.run_sync(_viewer, hashed)
            if viewer is None:
                return error(
                    401,
                    "unauthorized",
                    "the token is not valid (unknown, revoked, or its user was removed)",
                    {"WWW-Authenticate": 'Bearer realm="mention-monitor", error="invalid_token"'},
                )
            try:
                doc = await anyio.to_thread.run_sync(handler, request, viewer, limiter=limiter())
            except ApiError as e:
                return error(e.status, e.code, e.message)
            return _json(doc)

        return run

    def list_mentions(request: Request, viewer: Viewer) -> dict[str, Any]:
        params = dict(request.query_params)
        query = mentions_query(params, _readable(viewer))
        searching = query is not None and bool(query.search and query.search.strip())
        if searching and query and not all(viewer.can_reveal(a) for a in query.academies):
            raise ApiError(
                403,
                "forbidden",
                "your role shows the redacted text only, so it may not search the full text",
            )
        if query is None:
            counts = dict.fromkeys((s.value for s in Status), 0)
            return {"mentions": [], "next_cursor": None, "counts": counts, "total": 0}
        try:
            page = store.inbox(query)
        except InboxError as e:
            raise ApiError(400, "invalid_parameter", str(e)) from None
        return {
            "mentions": [summary_doc(r, base_url) for r in page.rows],
            "next_cursor": page.next_cursor,
            "counts": {s.value: page.counts.get(s, 0) for s in Status},
            "total": page.total,
        }

    def get_mention(request: Request, viewer: Viewer) -> dict[str, Any]:
        if request.query_params:
            _no_unknown(request.query_params, frozenset())
        mid = mention_id(request.path_params["mention_id"])
        detail = store.mention_detail(mid) if mid is not None else None
        # Missing and not yours answer alike, so ids reveal nothing.
        if detail is None or not viewer.can_read(detail.mention.organisation):
            raise ApiError(404, "not_found", "there is no such mention")
        return detail_doc(detail, base_url)

    def list_incidents(request: Request, viewer: Viewer) -> dict[str, Any]:
        params = dict(request.query_params)
        _no_unknown(params, INCIDENT_PARAMS)
        if not any(role in _INCIDENT_ROLES for _, role in viewer.grants):
            raise ApiError(
                403, "forbidden", "incidents are for the head, the DSL and the DPO of an academy"
            )
        since = parse_time("since", params["since"]) if "since" in params else None
        academy = params.get("academy") or None
        log_entries = breach_log(store, clock(), academy=academy, since=since)
        return {
            "incidents": [
                incident_doc(e) for e in log_entries if viewer.can_act(e.incident.academy_id)
            ]
        }

    async def document_route(request: Request) -> Response:
        refused = _allowed(request)
        if refused is not None:
            return refused
        return Response(
            document,
            media_type="application/json",
            headers=HEADERS,
        )

    async def not_found(request: Request) -> Response:
        return _allowed(request) or error(404, "not_found", "no such API endpoint")

    return [
        Route(f"{PREFIX}/openapi.json", _AnyMethod(document_route)),
        Route(f"{PREFIX}/mentions", _AnyMethod(endpoint(list_mentions))),
        Route(f"{PREFIX}/mentions/{{mention_id}}", _AnyMethod(endpoint(get_mention))),
        Route(f"{PREFIX}/incidents", _AnyMethod(endpoint(list_incidents))),
        Route(f"{PREFIX}/{{rest:path}}", _AnyMethod(not_found)),
    ]


__all__ = ["ApiError", "PREFIX", "RATE_PER_TOKEN", "routes"]
