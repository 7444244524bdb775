"""The small web app: subscription links (confirm, unsubscribe with RFC 8058 one-click), /healthz,
and a minimal mention page; the seed of the dashboard.

`create_app(settings, store, health)` builds it; the service serves it with uvicorn on
web.host:web.port (127.0.0.1 by default). Pages are Jinja2, autoescaped, behind a strict
Content-Security-Policy, never cached, and send no Referer (tokens travel in URLs).

Only POST changes anything: GET and HEAD (what mail scanners and link previewers send) show a page
with a button. Handlers are async and do their work (database, redaction, rendering) in worker
threads, never on the event loop; mention pages, the CPU-heavy part, run on a few threads of their
own, so however many slow pages are in flight, /healthz and the links still get a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from alerts import subscriptions
from alerts.subscriptions import Outcome
from alerts.tokens import Purpose, TokenState
from monitor.clock import Clock, system_clock
from monitor.config import Settings
from monitor.health import Health
from monitor.roles import Viewer
from monitor.store import Store

TEMPLATES = Path(__file__).parent / "templates"
# Mention pages redact and render (CPU); at most this many at once, on threads of their own.
PAGE_THREADS = 4
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
    ("unsubscribe", Outcome.DIGEST_MUTED): (
        "The daily digest is muted",
        "You will not receive the daily digest any more. Urgent alerts (possible data leaks, "
        "harassment and other urgent matters) still come to you: as a recipient named by the "
        "academy, only its administrator can stop those.",
    ),
    ("unsubscribe", Outcome.DIGEST_ALREADY_MUTED): (
        "The daily digest was already muted",
        "You do not receive the daily digest. Urgent alerts still come to you: only the "
        "academy's administrator can stop those.",
    ),
}
_RECIPIENT_INTRO = (
    "Press the button to stop the daily digest from Mention Monitor. Urgent alerts (possible "
    "data leaks, harassment and other urgent matters) will still come to you: as a recipient "
    "named by the academy, only its administrator can stop those."
)
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
    health: Callable[[], Health],
    *,
    clock: Clock = system_clock,
) -> Starlette:
    """The web app. `health()` supplies /healthz (503 when not ok); `clock` is injectable."""
    page_threads: list[anyio.CapacityLimiter] = []  # made on first use, inside the event loop

    def _page_limiter() -> anyio.CapacityLimiter:
        if not page_threads:
            page_threads.append(anyio.CapacityLimiter(PAGE_THREADS))
        return page_threads[0]

    async def healthz(request: Request) -> Response:
        h = await anyio.to_thread.run_sync(health)
        return JSONResponse(
            h.to_json(), status_code=200 if h.ok else 503, headers={"Cache-Control": "no-store"}
        )

    def _show(action: str, purpose: Purpose, button: str, intro: str, token: str) -> Response:
        now = clock()
        state = subscriptions.link_state(store, token, purpose, now)
        if state is TokenState.INVALID:
            return _message(*_INVALID, status=404)
        if state is TokenState.EXPIRED:
            return _message(*_EXPIRED, status=410)
        if purpose is Purpose.UNSUBSCRIBE and subscriptions.link_role(store, token, now) == (
            "recipient"
        ):
            button, intro = "Stop the daily digest", _RECIPIENT_INTRO
        return _page(
            "action.html",
            title=button,
            intro=intro,
            button=button,
            action=f"/{action}",
            token=token,
        )

    def _act(action: str, purpose: Purpose, token: str) -> Response:
        # The button, or an RFC 8058 one-click POST (body "List-Unsubscribe=One-Click").
        fn = subscriptions.confirm if purpose is Purpose.CONFIRM else subscriptions.unsubscribe
        outcome = fn(store, token, clock())
        if outcome is Outcome.INVALID:
            return _message(*_INVALID, status=404)
        if outcome is Outcome.EXPIRED:
            return _message(*_EXPIRED, status=410)
        return _message(*_MESSAGES[(action, outcome)])

    async def _link(
        request: Request, action: str, purpose: Purpose, button: str, intro: str
    ) -> Response:
        token = request.query_params.get("token", "")
        if request.method == "POST":
            return await anyio.to_thread.run_sync(_act, action, purpose, token)
        # GET and HEAD (Starlette answers HEAD with this route too): a page with a button, never
        # an action. Mail scanners and link previewers open every link, some with HEAD.
        return await anyio.to_thread.run_sync(_show, action, purpose, button, intro, token)

    async def confirm(request: Request) -> Response:
        return await _link(
            request,
            "confirm",
            Purpose.CONFIRM,
            "Confirm the subscription",
            "Press the button to start receiving breach notifications from Mention Monitor.",
        )

    async def unsubscribe(request: Request) -> Response:
        return await _link(
            request,
            "unsubscribe",
            Purpose.UNSUBSCRIBE,
            "Unsubscribe",
            "Press the button to stop receiving these emails from Mention Monitor.",
        )

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/confirm", confirm, methods=["GET", "POST"]),
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]
    # The workspace (issue 12) and intake/evidence (issue 14): each part owns its routes; the
    # mention page renders the panels the parts contribute (monitor/web/panels.py).
    from monitor.web import api, auth, exclusions, oversight, pages
    from monitor.web import intake as web_intake

    sign_in = auth.Auth(settings, store, clock, _page)
    panels = [*oversight.panels(store), *web_intake.panels(store)]
    routes += sign_in.routes()
    routes += pages.routes(settings, store, clock, _page, _page_limiter, panels=panels)
    routes += oversight.routes(settings, store, clock, _page, health)  # removals, breaches, health
    routes += web_intake.routes(settings, store, clock, _page)
    routes += api.routes(settings, store, clock, _page_limiter)  # read-only JSON at /api/v1
    routes += exclusions.routes(settings, store, clock, _page)  # /admin/exclusions (corrections)
    app = Starlette(routes=routes)
    app.state.auth = sign_in  # require_viewer(request) and the others find it here

    def nav(viewer: Viewer) -> list[tuple[str, str]]:
        """The header's links for this viewer (path, label), beside Inbox and Sign out."""
        links = []
        if any(viewer.can_act(a.id) for a in settings.academies):
            links.append(("/report", "Report a post"))
        links += oversight.nav_links(settings, viewer)
        if exclusions.may_decide(settings, viewer):
            links.append((exclusions.PATH, "Exclusions"))
        return links

    app.state.nav = nav
    return app
