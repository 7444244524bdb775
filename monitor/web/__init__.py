"""The small web app: subscription links (confirm, unsubscribe with RFC 8058 one-click), /healthz,
and a minimal mention page; the seed of the dashboard.

`create_app(settings, store, health)` builds it; the service serves it with uvicorn on
web.host:web.port (127.0.0.1 by default). Pages are Jinja2, autoescaped, behind a strict
Content-Security-Policy, never cached, and send no Referer (tokens travel in URLs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from alerts import rules, subscriptions
from alerts.subscriptions import Outcome
from alerts.tokens import Purpose, TokenState
from monitor.config import Settings
from monitor.models import Assessment, Mention
from monitor.store import Store
from monitor.store.repository import _mention, assessment_from_record
from monitor.store.schema import AssessmentRecord, MentionRecord

TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_MESSAGES: dict[tuple[str, str], tuple[str, str]] = {
    ("confirm", Outcome.DONE): (
        "Subscription confirmed",
        "Thank you. You will now receive breach notifications for the academies and categories "
        "you were subscribed to. Every notice has an unsubscribe link.",
    ),
    ("confirm", Outcome.ALREADY): ("Already confirmed", "This subscription was already confirmed."),
    ("unsubscribe", Outcome.DONE): (
        "You are unsubscribed",
        "You will not receive any more of these emails. Anything still waiting to be sent to "
        "you has been cancelled.",
    ),
    ("unsubscribe", Outcome.ALREADY): (
        "Already unsubscribed",
        "This address was already unsubscribed.",
    ),
}
_EXPIRED = (
    "This link has expired",
    "Links in these emails expire. Ask the academy to send a new one.",
)
_INVALID = (
    "This link is not valid",
    "The link may be incomplete, or it was meant for something else.",
)


def _page(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    body = _env.get_template(template).render(**ctx)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _message(title: str, text: str, status: int = 200) -> HTMLResponse:
    return _page("message.html", status, title=title, text=text)


def create_app(
    settings: Settings,
    store: Store,
    health: Callable[[], dict[str, Any]],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The web app. `health()` supplies /healthz's JSON; `clock` is injectable for tests."""

    def healthz(request: Request) -> Response:
        doc = health()
        ok = bool(doc.get("ok", True)) if isinstance(doc, dict) else True
        return JSONResponse(
            doc, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"}
        )

    def _link(request: Request, action: str, purpose: Purpose, button: str, intro: str) -> Response:
        token = request.query_params.get("token", "")
        now = clock()
        if request.method == "GET":
            # A page with a button, never an action on GET: mail scanners open every link.
            state = subscriptions.link_state(store, token, purpose, now)
            if state is TokenState.INVALID:
                return _message(*_INVALID, status=404)
            if state is TokenState.EXPIRED:
                return _message(*_EXPIRED, status=410)
            return _page(
                "action.html",
                title=button,
                intro=intro,
                button=button,
                action=f"/{action}",
                token=token,
            )
        # POST: the button, or an RFC 8058 one-click POST (body "List-Unsubscribe=One-Click").
        fn = subscriptions.confirm if purpose is Purpose.CONFIRM else subscriptions.unsubscribe
        outcome = fn(store, token, now)
        if outcome is Outcome.INVALID:
            return _message(*_INVALID, status=404)
        if outcome is Outcome.EXPIRED:
            return _message(*_EXPIRED, status=410)
        return _message(*_MESSAGES[(action, outcome)])

    def confirm(request: Request) -> Response:
        return _link(
            request,
            "confirm",
            Purpose.CONFIRM,
            "Confirm the subscription",
            "Press the button to start receiving breach notifications from Mention Monitor.",
        )

    def unsubscribe(request: Request) -> Response:
        return _link(
            request,
            "unsubscribe",
            Purpose.UNSUBSCRIBE,
            "Unsubscribe",
            "Press the button to stop receiving these emails from Mention Monitor.",
        )

    def mention(request: Request) -> Response:
        # Until the dashboard exists: the mention, redacted like the emails, so an unauthenticated
        # page never shows more than an email did.
        try:
            mention_id = int(request.path_params["mention_id"])
        except ValueError:
            return _message("Not found", "There is no such mention.", status=404)
        row = _one_mention(store, mention_id)
        if row is None:
            return _message("Not found", "There is no such mention.", status=404)
        m, a = row
        facts = rules.mention_facts(m, a, settings.web.public_base_url)
        return _page(
            "mention.html",
            title=facts.title,
            m=facts,
            severity=a.severity.value if a else "not assessed",
        )

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/confirm", confirm, methods=["GET", "POST"]),
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
        Route("/mentions/{mention_id}", mention, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _one_mention(store: Store, mention_id: int) -> tuple[Mention, Assessment | None] | None:
    with store.session() as s:
        m = s.get(MentionRecord, mention_id)
        if m is None:
            return None
        a = s.scalars(
            select(AssessmentRecord).where(AssessmentRecord.mention_id == mention_id)
        ).first()
        return _mention(m), (assessment_from_record(a) if a is not None else None)
