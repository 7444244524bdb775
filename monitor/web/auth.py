"""Dashboard sign-in and sessions: passwordless email links, server-side sessions, CSRF, rate
limits, and what other pages call to know who is asking.

- GET /signin shows a form; POST /signin always answers the same "check your email" page (no
  account enumeration) and, for a known active user, queues a single-use link (15 minutes) in the
  outbox. GET /signin/{token} shows a button (mail scanners open links); POST consumes the link,
  creates a session (the cookie holds its id; the database only its hash) and redirects to the
  `next` path. POST /signout ends the session.
- Sessions end after `web.session_idle_minutes` without a request and `web.session_max_hours`
  after sign-in. The cookie is HttpOnly, SameSite=Lax, path /, and Secure when
  `web.public_base_url` is https.
- Every POST from a signed-in session must carry the session's CSRF token (`csrf_field`), and a
  POST whose Origin (or Referer) names another host is refused (403).
- POST /signin is rate-limited per address and per client, in memory, on the injected clock.

For other pages: `await require_viewer(request)` (a `Viewer`, or a redirect to sign-in to return),
`await require_form(request)` (a signed-in POST with its CSRF token checked: `(viewer, form)` or
a 403/redirect), `await viewer_for(request)`, `csrf_field(request)`, `client_of(request)` and
`actor(viewer)` for audit entries.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from alerts import outbox
from alerts.notice import Notice, SigninContent
from monitor.clock import Clock
from monitor.config import Settings
from monitor.roles import Viewer
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.users import token_hash

COOKIE = "mm_session"
CSRF_FIELD = "csrf_token"
LINK_LIFETIME = timedelta(minutes=15)
# POST /signin: at most this many per window, per address and per client address.
RATE_WINDOW = timedelta(minutes=15)
RATE_PER_ADDRESS = 5
RATE_PER_CLIENT = 20
_MAX_NEXT = 2000

Page = Callable[..., HTMLResponse]


def client_of(request: Request) -> str:
    """Where a request came from, for the audit log and the rate limits."""
    return request.client.host if request.client else "unknown"


def actor(viewer: Viewer) -> str:
    """The audit log's actor for a signed-in user."""
    return f"user:{viewer.email}"


def safe_next(value: str | None) -> str:
    """A local path to land on after sign-in; anything else (another site, "//host", a
    backslash trick, control characters) becomes "/"."""
    if (
        not value
        or len(value) > _MAX_NEXT
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        return "/"
    return value


class RateLimiter:
    """At most `limit` hits per key in a sliding `window`, on the given clock (thread-safe)."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: datetime) -> bool:
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys so memory stays bounded
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return True


@dataclass(frozen=True)
class SignedIn:
    """What a request's session resolved to (cached on request.state)."""

    viewer: Viewer
    session_hash: str
    csrf: str


def start_session(store: Store, settings: Settings, user_id: int, now: datetime) -> tuple[str, str]:
    """Create a server-side session for a user: (cookie value, CSRF token). The sign-in POST
    uses it; tests use it to start signed in."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with store.transaction() as tx:
        tx.create_web_session(
            token_hash(raw), user_id, now, settings.web.session_idle_minutes, csrf
        )
    return raw, csrf


class Auth:
    """The sign-in routes and the session lookup, for one app."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, page: Page) -> None:
        self.settings, self.store, self.clock, self.page = settings, store, clock, page
        self.per_address = RateLimiter(RATE_PER_ADDRESS, RATE_WINDOW)
        self.per_client = RateLimiter(RATE_PER_CLIENT, RATE_WINDOW)
        base = urlsplit(settings.web.public_base_url)
        self.secure = base.scheme == "https"
        self.public_host = base.netloc.lower()

    # --- sessions -----------------------------------------------------------------------------

    def _lookup(self, raw: str) -> SignedIn | None:
        hashed = token_hash(raw)
        now = self.clock()
        max_age = timedelta(hours=self.settings.web.session_max_hours)
        with self.store.transaction() as tx:
            sess = tx.touch_web_session(hashed, now, max_age)
            if sess is None:
                return None
            v = tx.viewer(sess.user_id)
            if v is None:  # removed or deactivated since: the session is over
                tx.end_web_session(hashed)
                return None
            return SignedIn(v, hashed, sess.csrf_secret)

    async def signed_in(self, request: Request) -> SignedIn | None:
        if "signed_in" in request.state._state:
            found: SignedIn | None = request.state.signed_in
            return found
        raw = request.cookies.get(COOKIE, "")
        found = await anyio.to_thread.run_sync(self._lookup, raw) if raw else None
        request.state.signed_in = found
        return found

    def to_signin(self, request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(safe_next(path), safe='')}", 303)

    def same_origin(self, request: Request) -> bool:
        """False when Origin (or, without it, Referer) names a host other than this app's.

        Browsers that send Sec-Fetch-Site are believed first: under this app's
        Referrer-Policy no-referrer, Chromium sends "Origin: null" even for its own forms."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None:
            return fetch_site in ("same-origin", "none")
        origin = request.headers.get("origin")
        if origin is None:
            origin = request.headers.get("referer")
            if origin is None:
                return True  # neither sent (privacy settings): the CSRF token still decides
        if origin == "null":
            return False
        host = urlsplit(origin).netloc.lower()
        return host in {request.headers.get("host", "").lower(), self.public_host}

    def _cookie(self, response: Response, value: str, max_age: int) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def _audit(self, entry: AuditEntry) -> None:
        with self.store.transaction() as tx:
            tx.audit(entry)

    # --- pages --------------------------------------------------------------------------------

    def _form(self, next_path: str, status: int = 200, error: str = "") -> HTMLResponse:
        return self.page("signin.html", status, title="Sign in", next=next_path, error=error)

    async def signin(self, request: Request) -> Response:
        if request.method != "POST":
            return self._form(safe_next(request.query_params.get("next")))
        if not self.same_origin(request):
            return self.page("message.html", 403, title="Refused", text=_CROSS_SITE)
        form = await request.form()
        email = str(form.get("email", "")).strip().lower()[:320]
        next_path = safe_next(str(form.get("next", "")))
        if "@" not in email:
            return self._form(next_path, 400, "Write the email address you receive alerts at.")
        now = self.clock()
        client = client_of(request)
        if not self.per_client.allow(client, now) or not self.per_address.allow(email, now):
            return self.page("message.html", 429, title="Too many sign-in requests", text=_SLOW)
        await anyio.to_thread.run_sync(self._send_link, email, next_path, client, now)
        # The same answer whether or not the address belongs to a user.
        return self.page("message.html", title="Check your email", text=_SENT)

    def _send_link(self, email: str, next_path: str, client: str, now: datetime) -> None:
        raw = secrets.token_urlsafe(32)
        hashed = token_hash(raw)
        expires = now + LINK_LIFETIME
        base = self.settings.web.public_base_url.rstrip("/")
        with self.store.transaction() as tx:
            user = tx.user(email)
            if user is None or not user.active:
                return
            tx.add_login_link(user.id, hashed, next_path, now, expires)
            notice = Notice(
                kind="signin",
                academy_id="",
                academy_name="Mention Monitor",
                recipient=user.email,
                scope=f"signin:{hashed[:32]}",
                mention_id=None,
                content=SigninContent(signin_url=f"{base}/signin/{raw}", expires_at=expires),
            )
            outbox.add_notice(tx, notice, self.settings, now)
            tx.audit(AuditEntry(now, f"user:{user.email}", "signin.link", client=client))

    def _link_state(self, raw: str) -> str:
        with self.store.transaction() as tx:
            return tx.login_link_state(token_hash(raw), self.clock())

    def _consume(self, raw: str, client: str) -> tuple[str, str, int] | None:
        now = self.clock()
        with self.store.transaction() as tx:
            used = tx.consume_login_link(token_hash(raw), now)
            if used is None:
                return None
            user_id, next_path = used
            v = tx.viewer(user_id)
            if v is None:
                return None
            tx.audit(AuditEntry(now, actor(v), "signin", client=client))
        cookie, _csrf = start_session(self.store, self.settings, user_id, now)
        return cookie, next_path, user_id

    async def link(self, request: Request) -> Response:
        raw = request.path_params["token"]
        if request.method != "POST":
            # GET and HEAD (mail scanners, link previews) only read: a page with a button.
            state = await anyio.to_thread.run_sync(self._link_state, raw)
            if state != "valid":
                return self._dead_link(state)
            return self.page(
                "button.html",
                title="Sign in",
                intro="Press the button to sign in to Mention Monitor.",
                button="Sign in",
                action=f"/signin/{quote(raw, safe='')}",
            )
        if not self.same_origin(request):
            return self.page("message.html", 403, title="Refused", text=_CROSS_SITE)
        done = await anyio.to_thread.run_sync(self._consume, raw, client_of(request))
        if done is None:
            state = await anyio.to_thread.run_sync(self._link_state, raw)
            return self._dead_link(state if state != "valid" else "invalid")
        cookie, next_path, _ = done
        response = RedirectResponse(safe_next(next_path), 303)
        self._cookie(response, cookie, self.settings.web.session_max_hours * 3600)
        return response

    def _dead_link(self, state: str) -> HTMLResponse:
        if state in ("used", "expired"):
            return self.page("message.html", 410, title="This sign-in link has expired", text=_OLD)
        return self.page("message.html", 404, title="This link is not valid", text=_OLD)

    async def signout(self, request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, _form = got
        found = await self.signed_in(request)
        assert found is not None
        now, client = self.clock(), client_of(request)

        def end() -> None:
            with self.store.transaction() as tx:
                tx.end_web_session(found.session_hash)
                tx.audit(AuditEntry(now, actor(viewer), "signout", client=client))

        await anyio.to_thread.run_sync(end)
        response = RedirectResponse("/signin", 303)
        response.delete_cookie(COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/signin", self.signin, methods=["GET", "POST"]),
            Route("/signin/{token}", self.link, methods=["GET", "POST"]),
            Route("/signout", self.signout, methods=["POST"]),
        ]


_SENT = (
    "If this address belongs to a user of Mention Monitor, a sign-in link is on its way to it. "
    "The link works once, for 15 minutes. Nothing arrived? Check the spam folder, or ask the "
    "trust's administrator to add you."
)
_SLOW = (
    "There have been too many sign-in requests from here or for this address. Wait 15 minutes "
    "and try again; the last link sent still works until it expires."
)
_OLD = "Sign-in links work once, for 15 minutes. Ask for a new one on the sign-in page."
_CROSS_SITE = "This form was sent from another site, so it was refused."


# --- for the other pages -------------------------------------------------------------------------


def _auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


async def viewer_for(request: Request) -> Viewer | None:
    """The signed-in viewer of this request, or None (no cookie, or the session has ended)."""
    found = await _auth(request).signed_in(request)
    return found.viewer if found else None


async def require_viewer(request: Request) -> Viewer | Response:
    """The signed-in viewer, or a 303 redirect to /signin?next=<this path> to return as is."""
    v = await viewer_for(request)
    return v if v is not None else _auth(request).to_signin(request)


async def require_form(request: Request) -> tuple[Viewer, FormData] | Response:
    """For a state-changing POST of a signed-in page: the viewer and the form, once the
    request's origin and the form's CSRF token are checked; else a response to return (403, or
    the redirect to sign-in)."""
    auth = _auth(request)
    found = await auth.signed_in(request)
    if found is None:
        return auth.to_signin(request)
    form = await request.form()
    token = str(form.get(CSRF_FIELD, ""))
    if not auth.same_origin(request) or not hmac.compare_digest(
        token.encode("utf-8"), found.csrf.encode("utf-8")
    ):
        return auth.page("message.html", 403, title="Refused", text=_CROSS_SITE)
    return found.viewer, form


def csrf_field(request: Request) -> Markup:
    """The hidden CSRF field for a form of a signed-in page (after `require_viewer`)."""
    found: SignedIn | None = request.state._state.get("signed_in")
    if found is None:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, found.csrf)


def page_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    """What base.html needs: who is signed in, the sign-out button and the header links this
    viewer may follow (create_app sets `app.state.nav`)."""
    nav = getattr(request.app.state, "nav", None)
    return {"viewer": viewer, "csrf": csrf_field(request), "nav": nav(viewer) if nav else []}
