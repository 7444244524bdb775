"""The workspace's intake and evidence pages (issue 14): the report-a-link form, each academy's
secret intake link, and the evidence panel of the mention page.

- GET/POST /report: signed-in users with head, dsl or dpo on an academy (a select when more than
  one) report a link, where it was seen, a note and up to `MAX_IMAGES` screenshots. The reporter
  recorded is the user's address.
- GET/POST /report/{secret}: the academy's intake link (monitor/intake.py `new_intake_link`), for
  people without an account. No session, so its CSRF defence is a form token: an HMAC (a key made
  when the app starts) of the time and the link's secret, valid `FORM_TOKEN_TTL`; plus the Origin
  check and the link's hourly limit (`take_link_submission`, 429). The reporter recorded is
  "intake link: <where seen>". A rotated link is a 404 at once.
- The body is bounded before it is read: a Content-Length over `MAX_BODY` is a 413 without
  reading; otherwise the stream is counted as it is parsed and the request is refused (413) the
  moment it passes `MAX_BODY`. Each file over `MAX_IMAGE_BYTES` is refused, and the intake core
  checks every image by its content (sources/ocr.py). A refusal stores nothing.
- The evidence panel lists the mention's packs (time, status, cut at the deadline, what
  `evidence verify` says now), with "Capture evidence now" (POST, head/dsl/dpo, audited
  "evidence.capture") and "Download pack" (POST, head/dsl/dpo: a zip; the export is appended to
  the pack's custody log and audited "evidence.export", monitor/evidence/access.py).

Reports go through `monitor.intake.submit_report` in a worker thread, with the app's JobContext
(`app.state.intake_ctx` when the caller gave one, else one built on first use over the app's
store), which matches, scores, stores, alerts and queues the evidence pack.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.clock import Clock
from monitor.config import Settings
from monitor.intake import (
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    Image,
    Report,
    SubmitResult,
    intake_link_academy,
    submit_report,
    take_link_submission,
)
from monitor.jobs import JobContext
from monitor.models import Assessment, Mention
from monitor.roles import Viewer
from monitor.store import Store
from monitor.store import evidence as pack_rows
from monitor.store.audit import AuditEntry
from monitor.web.auth import (
    CSRF_FIELD,
    actor,
    client_of,
    csrf_field,
    page_context,
    require_form,
    require_viewer,
)
from monitor.web.pages import mention_id, readable
from monitor.web.panels import Panel, Section

# Five images of 10 MB, and room for the text fields and the multipart framing.
MAX_BODY = MAX_IMAGES * MAX_IMAGE_BYTES + 256 * 1024
MAX_FIELD = 64 * 1024
MAX_URL, MAX_WHERE, MAX_NOTE = 2000, 300, 5000
FORM_TOKEN_TTL = timedelta(hours=4)
PANEL_PACKS = 10

Page = Callable[..., HTMLResponse]

_MB = 1024 * 1024
_NEXT = (
    "It is matched to the academy and checked like every mention Mention Monitor finds; if it "
    "looks urgent, the academy's Headteacher is emailed now. An evidence pack is being made: a "
    "copy of the page if it is public, with any screenshots you sent, kept unaltered."
)


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class _Parsed:
    url: str
    seen_where: str
    note: str
    academy: str
    token: str
    images: tuple[Image, ...]


def _refuse(page: Page, status: int, title: str, text: str, **ctx: Any) -> HTMLResponse:
    return page("message.html", status, title=title, text=text, **ctx)


async def _counted(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _TooLarge
        yield chunk


async def read_bounded_form(request: Request, limit: int | None = None) -> FormData:
    """The form, read with its size bounded (raises _TooLarge) and at most MAX_IMAGES files."""
    limit = MAX_BODY if limit is None else limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        parser: MultiPartParser | FormParser = MultiPartParser(
            request.headers,
            _counted(request, limit),
            max_files=MAX_IMAGES,
            max_fields=20,
            max_part_size=MAX_FIELD,
        )
    else:
        parser = FormParser(
            request.headers, _counted(request, limit), max_fields=20, max_part_size=MAX_FIELD
        )
    return await parser.parse()


async def _parse(form: FormData) -> _Parsed | str:
    """The report's fields and images, or a one-line reason to refuse it."""
    images: list[Image] = []
    for value in form.getlist("screenshots"):
        if not isinstance(value, UploadFile):
            continue
        if not value.filename and not value.size:
            continue  # the field left empty
        size = value.size or 0
        if size > MAX_IMAGE_BYTES:
            return (
                f"{value.filename or 'A file'} is too large: {size / _MB:.1f} MB "
                f"(at most {MAX_IMAGE_BYTES // _MB} MB each)."
            )
        data = await value.read()
        images.append(Image(value.filename or "screenshot", data, value.content_type or ""))
    url = str(form.get("url", "")).strip()[:MAX_URL]
    if url and "://" not in url:
        url = "https://" + url
    return _Parsed(
        url=url,
        seen_where=str(form.get("seen_where", "")).strip()[:MAX_WHERE],
        note=str(form.get("note", "")).strip()[:MAX_NOTE],
        academy=str(form.get("academy", "")),
        token=str(form.get(CSRF_FIELD, "")),
        images=tuple(images),
    )


async def _close(form: FormData) -> None:
    await form.close()


def _link_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class FormTokens:
    """The intake link form's CSRF token: "<unix time>.<HMAC(key, time|link hash)>"."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    def _mac(self, ts: int, secret: str) -> str:
        msg = f"{ts}|{_link_hash(secret)}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()

    def issue(self, secret: str, now: datetime) -> str:
        ts = int(now.timestamp())
        return f"{ts}.{self._mac(ts, secret)}"

    def check(self, token: str, secret: str, now: datetime) -> bool:
        ts_text, _, mac = token.partition(".")
        if not ts_text.isdigit() or not mac:
            return False
        ts = int(ts_text)
        age = now.timestamp() - ts
        if age > FORM_TOKEN_TTL.total_seconds() or age < -300:
            return False
        return hmac.compare_digest(mac.encode(), self._mac(ts, secret).encode())


def routes(settings: Settings, store: Store, clock: Clock, page: Page) -> list[Route]:
    tokens = FormTokens()
    lock = threading.Lock()
    made: list[JobContext] = []
    names = {a.id: a.display_name for a in settings.academies}

    def job_context(request: Request) -> JobContext:
        given: JobContext | None = getattr(request.app.state, "intake_ctx", None)
        if given is not None:
            return given
        with lock:
            if not made:
                made.append(JobContext(settings, store, clock=clock))
            return made[0]

    def actable(viewer: Viewer) -> list[str]:
        return [a.id for a in settings.academies if viewer.can_act(a.id)]

    # --- the form -------------------------------------------------------------------------

    def form_page(status: int = 200, error: str = "", **ctx: Any) -> HTMLResponse:
        return page(
            "report.html",
            status,
            title="Report a post",
            error=error,
            max_images=MAX_IMAGES,
            max_mb=MAX_IMAGE_BYTES // _MB,
            **ctx,
        )

    def done_page(result: SubmitResult, signed_in: bool, **ctx: Any) -> HTMLResponse:
        return page(
            "report_done.html",
            title="Thank you",
            duplicate=result.duplicate,
            mention_id=result.mention_id if signed_in else None,
            unread=result.fetch_error,
            next_steps=_NEXT,
            **ctx,
        )

    def submit(request: Request, report: Report) -> SubmitResult:
        ctx = job_context(request)
        return submit_report(ctx, report, ctx.now())

    async def signed_in_report(request: Request) -> Response:
        if request.method != "POST":
            viewer = await require_viewer(request)
            if isinstance(viewer, Response):
                return viewer
            mine = actable(viewer)
            if not mine:
                return _refuse(page, 403, "Not allowed", _NO_ROLE, **page_context(request, viewer))
            return form_page(
                academies=[(a, names[a]) for a in mine],
                action="/report",
                field=csrf_field(request),
                **page_context(request, viewer),
            )
        viewer = await require_viewer(request)
        if isinstance(viewer, Response):
            return viewer
        ctx = page_context(request, viewer)
        auth = request.app.state.auth
        found = await auth.signed_in(request)
        if not auth.same_origin(request):
            return _refuse(page, 403, "Refused", _CROSS_SITE, **ctx)
        try:
            form = await read_bounded_form(request)
        except _TooLarge:
            return _refuse(page, 413, "Too large", _TOO_LARGE, **ctx)
        except MultiPartException as exc:
            return _refuse(page, 400, "The form could not be read", _form_problem(exc), **ctx)
        try:
            parsed = await _parse(form)
            if isinstance(parsed, str):
                return _refuse(page, 400, "Not sent", parsed + _NOTHING_STORED, **ctx)
            if not hmac.compare_digest(parsed.token.encode(), found.csrf.encode()):
                return _refuse(page, 403, "Refused", _CROSS_SITE, **ctx)
            mine = actable(viewer)
            academy = parsed.academy or (mine[0] if len(mine) == 1 else "")
            if academy not in mine:
                return _refuse(page, 403, "Not allowed", _NO_ROLE, **ctx)
            report = _report(parsed, academy, viewer.email)
            result = await anyio.to_thread.run_sync(submit, request, report)
        finally:
            await _close(form)
        if result.mention_id is None:
            return _refuse(page, 400, "Not sent", result.reason + _NOTHING_STORED, **ctx)
        await anyio.to_thread.run_sync(
            _audit_report, store, clock(), actor(viewer), academy, result, client_of(request)
        )
        return done_page(result, True, **ctx)

    async def link_report(request: Request) -> Response:
        secret = request.path_params["secret"]
        academy = await anyio.to_thread.run_sync(intake_link_academy, store, secret)
        if academy is None or academy not in names:
            return _refuse(page, 404, "This link is not valid", _DEAD_LINK)
        action = f"/report/{quote(secret, safe='')}"
        if request.method != "POST":
            return form_page(
                academies=[],
                academy_name=names[academy],
                action=action,
                field=_token_field(tokens.issue(secret, clock())),
            )
        if not request.app.state.auth.same_origin(request):
            return _refuse(page, 403, "Refused", _CROSS_SITE)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _refuse(page, 413, "Too large", _TOO_LARGE)
        allowed = await anyio.to_thread.run_sync(take_link_submission, store, secret, clock())
        if not allowed:
            return _refuse(page, 429, "Too many reports", _RATE)
        try:
            form = await read_bounded_form(request)
        except _TooLarge:
            return _refuse(page, 413, "Too large", _TOO_LARGE)
        except MultiPartException as exc:
            return _refuse(page, 400, "The form could not be read", _form_problem(exc))
        try:
            parsed = await _parse(form)
            if isinstance(parsed, str):
                return _refuse(page, 400, "Not sent", parsed + _NOTHING_STORED)
            if not tokens.check(parsed.token, secret, clock()):
                return _refuse(page, 403, "The form expired", _EXPIRED)
            reporter = f"intake link: {parsed.seen_where or 'where not said'}"
            report = _report(parsed, academy, reporter)
            result = await anyio.to_thread.run_sync(submit, request, report)
        finally:
            await _close(form)
        if result.mention_id is None:
            return _refuse(page, 400, "Not sent", result.reason + _NOTHING_STORED)
        return done_page(result, False, academy_name=names[academy])

    # --- evidence ---------------------------------------------------------------------------

    def _may_act(
        request: Request, viewer: Viewer, raw: str
    ) -> tuple[Mention, Response | None] | Response:
        got = readable(store, viewer, mention_id(raw))
        ctx = page_context(request, viewer)
        if got is None:
            return _refuse(page, 404, "Not found", "There is no such mention.", **ctx)
        m, _ = got
        if not viewer.can_act(m.organisation):
            return _refuse(page, 403, "Not allowed", _PACK_ROLE, **ctx)
        return m, None

    def _capture(request: Request, viewer: Viewer, raw: str) -> Response:
        from monitor.evidence import EvidenceError, capture_for_mention

        got = _may_act(request, viewer, raw)
        if isinstance(got, Response):
            return got
        m, _ = got
        ctx = job_context(request)
        try:
            made = capture_for_mention(ctx, m.id, actor(viewer))
        except EvidenceError as exc:
            return _refuse(page, 400, "Not captured", str(exc), **page_context(request, viewer))
        with store.transaction() as tx:
            tx.audit(
                AuditEntry(
                    clock(),
                    actor(viewer),
                    "evidence.capture",
                    academy_id=m.organisation,
                    target=f"pack:{made.id}",
                    detail=f"mention:{m.id} status={made.status}",
                    client=client_of(request),
                )
            )
        return RedirectResponse(f"/mentions/{m.id}#evidence", 303)

    def _download(request: Request, viewer: Viewer, raw: str, raw_pack: str) -> Response:
        from monitor.evidence import EvidenceError, export_pack
        from monitor.web import SECURITY_HEADERS

        got = _may_act(request, viewer, raw)
        if isinstance(got, Response):
            return got
        m, _ = got
        pid = mention_id(raw_pack)
        with store.transaction() as tx:
            row = pack_rows.get(tx, pid) if pid is not None else None
        if row is None or row.mention_id != m.id or row.status == pack_rows.CAPTURING:
            return _refuse(
                page, 404, "Not found", "There is no such pack.", **page_context(request, viewer)
            )
        name = f"evidence-pack-{row.id}-mention-{m.id}.zip"
        with tempfile.TemporaryDirectory(prefix="mm-export-") as tmp:
            try:
                out = export_pack(
                    job_context(request), row, Path(tmp) / name, actor(viewer), client_of(request)
                )
            except EvidenceError as exc:
                return _refuse(
                    page, 410, "Not available", str(exc), **page_context(request, viewer)
                )
            body = out.read_bytes()
        headers = dict(SECURITY_HEADERS)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(body, media_type="application/zip", headers=headers)

    async def capture(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, _ = got
        return await anyio.to_thread.run_sync(
            _capture, request, viewer, request.path_params["mention_id"]
        )

    async def download(request: Request) -> Response:
        got = await require_form(request)
        if isinstance(got, Response):
            return got
        viewer, _ = got
        return await anyio.to_thread.run_sync(
            functools.partial(
                _download,
                request,
                viewer,
                request.path_params["mention_id"],
                request.path_params["pack_id"],
            )
        )

    return [
        Route("/report", signed_in_report, methods=["GET", "POST"]),
        Route("/report/{secret}", link_report, methods=["GET", "POST"]),
        Route("/mentions/{mention_id}/evidence", capture, methods=["POST"]),
        Route("/mentions/{mention_id}/evidence/{pack_id}/download", download, methods=["POST"]),
    ]


def _report(parsed: _Parsed, academy: str, reporter: str) -> Report:
    return Report(
        academy_id=academy,
        source="reported-screenshot" if parsed.images else "reported",
        reporter=reporter,
        url=parsed.url or None,
        note=parsed.note,
        text="",
        images=parsed.images,
        seen_where=parsed.seen_where,
        original=None,
    )


def _audit_report(
    store: Store, now: datetime, who: str, academy: str, result: SubmitResult, client: str
) -> None:
    with store.transaction() as tx:
        tx.audit(
            AuditEntry(
                now,
                who,
                "intake.report",
                academy_id=academy,
                target=f"mention:{result.mention_id}",
                detail="duplicate" if result.duplicate else "stored",
                client=client,
            )
        )


def _token_field(token: str) -> Any:
    from markupsafe import Markup

    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def _form_problem(exc: MultiPartException) -> str:
    if "files" in exc.message.lower():
        return f"Send at most {MAX_IMAGES} screenshots at once." + _NOTHING_STORED
    return f"{exc.message}." + _NOTHING_STORED


# --- the mention page's evidence panel -------------------------------------------------------


def panels(store: Store) -> list[Panel]:
    """The evidence panel (for monitor/web/pages.py `routes(..., panels=...)`)."""

    def evidence_panel(
        request: Request, viewer: Viewer, m: Mention, a: Assessment | None
    ) -> Section | None:
        from monitor.evidence import verify

        with store.transaction() as tx:
            packs = pack_rows.for_mention(tx, m.id)[:PANEL_PACKS]
            queued = pack_rows.queue_state(tx, m.id)
        items = []
        for p in packs:
            if p.status == pack_rows.CAPTURING:
                check = "being captured"
            else:
                problems = (
                    verify(p.path) if p.path and Path(p.path).is_dir() else ["folder missing"]
                )
                check = "verifies" if not problems else f"fails: {problems[0]}"
            items.append(
                {
                    "id": p.id,
                    "at": p.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "status": p.status,
                    "cut": p.cut_at_deadline,
                    "check": check,
                    "by": p.requested_by,
                    "ready": p.status != pack_rows.CAPTURING,
                }
            )
        return Section(
            "evidence_panel.html",
            {
                "mention_id": m.id,
                "packs": items,
                "waiting": queued is not None and queued[1] is None,
                "can_act": viewer.can_act(m.organisation),
                "csrf": csrf_field(request),
            },
        )

    return [evidence_panel]


_NO_ROLE = (
    "Reporting a post here needs the head, dsl or dpo role on an academy. Ask the trust's "
    "administrator, or use your academy's intake link."
)
_PACK_ROLE = "Evidence packs hold the original, unredacted page: only head, dsl and dpo open them."
_CROSS_SITE = "This form was sent from another site, so it was refused."
_TOO_LARGE = (
    f"The report is too large: at most {MAX_IMAGES} screenshots of "
    f"{MAX_IMAGE_BYTES // _MB} MB each. Nothing was stored."
)
_NOTHING_STORED = " Nothing was stored; go back, fix it and send it again."
_RATE = (
    "This intake link has had too many reports in the last hour, so this one was not stored. "
    "Try again in an hour, or tell the school directly."
)
_DEAD_LINK = "This intake link is not (or no longer) valid. Ask the school for its current link."
_EXPIRED = "This form was open too long. Go back, reload the page and send it again."
