"""One capture, end to end: the raw fetch (guarded client, byte for byte, into the WARC), the
robots.txt result, the walled-in browser (monitor/evidence/browser.py), and the pack's files,
rows and custody log.

The pack's row is written first (status "capturing"), then its folder, then the row is finished
with the manifest's hash and a status: "ok" (page fetched with a 2xx, both screenshots, not
cut), "partial" (something is missing or the browser was cut at the deadline), "failed" (neither
the raw fetch nor the browser produced the page).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from protego import Protego

from monitor import __version__
from monitor.config import Settings
from monitor.evidence import browser, pack
from monitor.evidence.proxy import Recorder
from monitor.store import evidence as rows
from sources.errors import FetchError
from sources.http import ROBOTS_AGENT, ClientConfig, GuardedClient, RawResponse

if TYPE_CHECKING:
    from monitor.jobs import JobContext

log = logging.getLogger(__name__)


class EvidenceError(Exception):
    """A capture that cannot start (unknown mention, no URL, refused address): one line."""


@dataclass(frozen=True)
class Pack:
    id: int
    path: Path
    url: str
    status: str
    cut_at_deadline: bool
    manifest_sha256: str
    problems: tuple[str, ...]


def capture_client(settings: Settings) -> GuardedClient:
    """The guarded client of one capture: the configured network rules (allow-list included),
    with the deadline no longer than the browser's, and no per-host gap (one visit)."""
    from monitor.app import client_config

    base: ClientConfig = client_config(settings)
    return GuardedClient(
        replace(
            base,
            timeout_seconds=min(base.timeout_seconds, settings.evidence.browser_deadline_seconds),
            per_host_interval_seconds=0.0,
        ),
        resolver=None,
    )


def ntp_state() -> str:
    """ "synchronised", "not synchronised", or "unknown" (no timedatectl, or it failed)."""
    if shutil.which("timedatectl") is None:
        return "unknown"
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return {"yes": "synchronised", "no": "not synchronised"}.get(out, "unknown")


def capture_for_mention(
    ctx: JobContext, mention_id: int, requested_by: str, *, queue_done: bool = False
) -> Pack:
    """The mention's page captured into a new pack. A mention that came from a report also gets
    what was sent in (screenshots, the original message; monitor/evidence/reported.py) in the
    pack; when its link was not public (a closed group, a login wall, no link at all), or the
    guard refuses the address, the pack holds that material alone."""
    from monitor.evidence.reported import reported_material

    got = ctx.store.mention(mention_id)
    if got is None:
        raise EvidenceError(f"no mention {mention_id}")
    mention, _ = got
    url = mention.url or mention.canonical_url
    text = "\n\n".join(t for t in (mention.title, mention.text) if t)
    material = reported_material(ctx.store, mention_id)
    if material.reports:
        if url and material.public_url:
            try:
                return capture_url(
                    ctx,
                    url,
                    mention.organisation,
                    requested_by,
                    mention_id=mention_id,
                    text=text,
                    queue_done=queue_done,
                    extra_files=material.files,
                )
            except EvidenceError as exc:
                note = str(exc)
        else:
            note = "the reported link could not be read" if url else "reported without a link"
        return capture_reported(
            ctx,
            mention_id,
            mention.organisation,
            url or "",
            requested_by,
            text,
            material.files,
            note,
            queue_done=queue_done,
        )
    if not url:
        raise EvidenceError(f"mention {mention_id} has no URL to capture")
    return capture_url(
        ctx,
        url,
        mention.organisation,
        requested_by,
        mention_id=mention_id,
        text=text,
        queue_done=queue_done,
    )


def capture_reported(
    ctx: JobContext,
    mention_id: int,
    academy_id: str,
    url: str,
    requested_by: str,
    text: str,
    files: Mapping[str, bytes],
    note: str,
    *,
    queue_done: bool = False,
) -> Pack:
    """A pack of what was sent in only (no page to fetch): the files, the text, capture.json
    with `"kind": "reported"`, the custody log and the manifest."""
    now = ctx.now()
    base = pack.evidence_dir(ctx.settings)
    with ctx.store.transaction() as tx:
        pack_id = rows.start_pack(tx, mention_id, academy_id, url, requested_by, now)
        folder = base / pack.folder_name(pack_id)
        rows.set_path(tx, pack_id, str(folder))
    try:
        manifest = _reported_into(folder, url, requested_by, text, files, note, now)
        with ctx.store.transaction() as tx:
            rows.finish_pack(tx, pack_id, rows.OK, manifest, False)
            if queue_done:
                rows.mark_done(tx, mention_id, ctx.now())
    except Exception:
        discard_unfinished(ctx, pack_id, folder)
        raise
    log.info("evidence pack of reported material", extra={"pack": pack_id})
    return Pack(pack_id, folder, url, rows.OK, False, manifest, ())


def _reported_into(
    folder: Path,
    url: str,
    requested_by: str,
    text: str,
    files: Mapping[str, bytes],
    note: str,
    now: datetime,
) -> str:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "text.txt").write_text(text, encoding="utf-8")
    meta = {
        "kind": pack.KIND_REPORTED,
        "url": url or None,
        "captured_at_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clock": {"source": "host clock", "ntp": ntp_state()},
        "tool": {"mention-monitor": __version__},
        "requested_by": requested_by,
        "status": rows.OK,
        "why_no_page": note,
        "reported_files": sorted(files),
        "text_source": "mention",
    }
    (folder / "capture.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return pack.append_custody(folder, now, "created", requested_by, "reported material")


def discard_unfinished(ctx: JobContext, pack_id: int, folder: Path) -> None:
    """A capture that failed midway leaves no half-made pack: its row and folder go (the
    automatic capture is released by its caller and tried again). A process killed midway
    leaves them, "capturing"; the next automatic attempt removes them (access.capture_queued)."""
    try:
        with ctx.store.transaction() as tx:
            rows.delete_pack(tx, pack_id)
    except Exception:  # the database is what failed: the row stays "capturing", shown as such
        log.exception("unfinished evidence pack not removed", extra={"pack": pack_id})
        return
    shutil.rmtree(folder, ignore_errors=True)


def capture_url(
    ctx: JobContext,
    url: str,
    academy_id: str,
    requested_by: str,
    *,
    mention_id: int | None = None,
    text: str | None = None,
    client: GuardedClient | None = None,
    queue_done: bool = False,
    extra_files: Mapping[str, bytes] | None = None,
) -> Pack:
    """Capture `url` into a new pack. `client` is for tests (a resolver seam); `queue_done`
    marks the mention's automatic capture done in the transaction that finishes the pack.
    INTAKE (phase 2) calls this for a reported link."""
    settings = ctx.settings
    owned = client is None
    client = client or capture_client(settings)
    try:
        try:
            client.check_url(url)
        except FetchError as exc:
            raise EvidenceError(f"{url}: {exc.reason}") from None
        now = ctx.now()
        base = pack.evidence_dir(settings)
        with ctx.store.transaction() as tx:
            pack_id = rows.start_pack(tx, mention_id, academy_id, url, requested_by, now)
            folder = base / pack.folder_name(pack_id)
            rows.set_path(tx, pack_id, str(folder))
        try:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            result = _capture_into(
                folder, url, client, settings, requested_by, now, text, extra_files or {}
            )
            with ctx.store.transaction() as tx:
                rows.finish_pack(tx, pack_id, result.status, result.manifest, result.cut)
                if queue_done and mention_id is not None:
                    rows.mark_done(tx, mention_id, ctx.now())
        except Exception:
            discard_unfinished(ctx, pack_id, folder)
            raise
        log.info(
            "evidence captured",
            extra={"pack": pack_id, "status": result.status, "cut": result.cut},
        )
        return Pack(
            pack_id, folder, url, result.status, result.cut, result.manifest, result.problems
        )
    finally:
        if owned:
            client.close()


@dataclass(frozen=True)
class _Result:
    status: str
    cut: bool
    manifest: str
    problems: tuple[str, ...]


def _capture_into(
    folder: Path,
    url: str,
    client: GuardedClient,
    settings: Settings,
    requested_by: str,
    now: datetime,
    text: str | None,
    extra_files: Mapping[str, bytes],
) -> _Result:
    problems: list[str] = []
    for name, data in extra_files.items():  # what was reported with it (screenshots, a mail)
        (folder / name).write_bytes(data)
    chain, redirects = _raw_chain(client, url, settings.network.max_redirects, problems)
    robots, robots_note = _robots(client, url)
    recorder = Recorder()
    rendered = browser.render(url, client, recorder, settings.evidence.browser_deadline_seconds)
    problems += rendered.errors
    pack.write_warc(folder / pack.WARC, [*chain, *recorder.exchanges], robots, robots_note, now)
    (folder / "screenshot.png").write_bytes(rendered.screenshot)
    (folder / "screenshot-mobile.png").write_bytes(rendered.screenshot_mobile)
    (folder / "page.html").write_text(rendered.html, encoding="utf-8")
    (folder / "text.txt").write_text(text if text is not None else rendered.text, encoding="utf-8")
    last = chain[-1] if chain else None
    fetched_ok = last is not None and 200 <= last.status < 300
    shots = bool(rendered.screenshot and rendered.screenshot_mobile)
    if not fetched_ok and not shots:
        status = rows.FAILED
    elif fetched_ok and shots and not rendered.cut_at_deadline and not rendered.errors:
        status = rows.OK
    else:
        status = rows.PARTIAL
    meta = {
        "url": url,
        "final_url": last.url if last is not None else rendered.final_url,
        "browser_final_url": rendered.final_url,
        "redirects": redirects,
        "captured_at_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clock": {"source": "host clock", "ntp": ntp_state()},
        "http": {
            "status": last.status if last is not None else None,
            "reason": last.reason if last is not None else None,
            "headers": [list(h) for h in last.headers] if last is not None else [],
        },
        "robots_txt": robots_note,
        "tool": {
            "mention-monitor": __version__,
            "playwright": _version("playwright"),
            "chromium": rendered.chromium_version,
            "warcio": _version("warcio"),
        },
        "requested_by": requested_by,
        "cut_at_deadline": rendered.cut_at_deadline,
        "deadline_seconds": settings.evidence.browser_deadline_seconds,
        "status": status,
        "problems": problems,
        "refused_requests": [
            {"url": r.url[:500], "reason": r.reason, "layer": r.layer} for r in recorder.refusals
        ],
        "subresources_recorded": len(recorder.exchanges),
        "text_source": "mention" if text is not None else "rendered page",
        "kind": pack.KIND_PAGE,
        "reported_files": sorted(extra_files),
    }
    (folder / "capture.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    manifest = pack.append_custody(folder, now, "created", requested_by, f"status={status}")
    return _Result(status, rendered.cut_at_deadline, manifest, tuple(problems))


def _raw_chain(
    client: GuardedClient, url: str, max_redirects: int, problems: list[str]
) -> tuple[list[RawResponse], list[dict[str, object]]]:
    """The page fetched hop by hop, each hop checked by the guard, each answer kept as is."""
    chain: list[RawResponse] = []
    redirects: list[dict[str, object]] = []
    current = url
    for _ in range(max_redirects + 1):
        try:
            got = client.fetch_raw(current)
        except FetchError as exc:
            problems.append(f"raw fetch of {current}: {exc.reason}")
            break
        chain.append(got)
        location = got.header("location")
        if got.status in (301, 302, 303, 307, 308) and location:
            nxt = urljoin(current, location)
            redirects.append({"from": current, "status": got.status, "to": nxt})
            current = nxt
            continue
        break
    else:
        problems.append(f"more than {max_redirects} redirects")
    return chain, redirects


def _robots(client: GuardedClient, url: str) -> tuple[RawResponse | None, str]:
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    try:
        got = client.fetch_raw(robots_url)
    except FetchError as exc:
        return None, f"{robots_url}: not read ({exc.reason})"
    if got.status >= 400:
        return got, f"{robots_url}: HTTP {got.status}, no rules"
    body = got.body
    if (got.header("content-encoding") or "").lower() in ("gzip", "x-gzip"):
        import gzip

        try:
            body = gzip.decompress(body)
        except OSError:
            body = b""
    rules = Protego.parse(body.decode("utf-8", "replace"))
    allowed = rules.can_fetch(url, ROBOTS_AGENT)
    verdict = "allows" if allowed else "disallows"
    return got, (
        f"{robots_url}: HTTP {got.status}; it {verdict} {ROBOTS_AGENT} to fetch this URL "
        "(recorded; a capture of one page for evidence is made either way)"
    )


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def lease_for(settings: Settings) -> timedelta:
    """How long a claimed automatic capture may run before another may try it."""
    return timedelta(seconds=settings.evidence.browser_deadline_seconds * 3 + 120)
