"""Intake: what people send in (a reported link, screenshots, a forwarded mail) becomes a mention.

Every route (the `intake submit` command now; the workspace form and the intake mailbox) builds a
`Report` and calls `submit_report(ctx, report, now)`, which:

1. checks it: a known academy, a known source, someone who reported it, at most `MAX_IMAGES`
   images of at most `MAX_IMAGE_BYTES` each, each an image by its content (sources/ocr.py), and
   something to go on (a link, a note, a text or an image). A refusal is a `SubmitResult` with no
   mention and a one-line reason; nothing is stored.
2. fetches the link, if any, through the guarded client (sources/reported.py: the collectors'
   fetch and page-reading path). A link that cannot be read (a closed group, a login wall) is no
   refusal: the report goes on with what else it has, and the reason is kept with it.
3. reads each image with OCR, keeping the post's own text apart from the app's chrome.
4. builds one text (the note, the given text, the page's text, the screenshots' post text) and
   runs the collectors' path: match, de-duplicate, score, store, alert (the runner's matcher,
   scorer and notice sink, so the same rules send the same urgent mail). A report is about the
   academy it was reported for, like a source marked `about_academy`: when no name matches, it is
   matched to that academy all the same.
5. records the report (who, where it was seen, the link, the note, the original message) and the
   images as evidence in the same transaction as the mention, and queues the mention's evidence
   pack there too (the evidence sweep captures the page when public, with the screenshots and
   the original message in the pack). A report that repeats a stored
   mention is recorded against that mention; it sends no second alert.

Also here: each academy's intake link (a secret URL for non-users, stored hashed) and the rate
limit of submissions through it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from monitor.dedup import identify, simhash_bands
from monitor.jobs import JobContext
from monitor.models import Assessment, Match, RawItem, ScoringInput
from monitor.store import Store, Tx
from monitor.store import evidence as evidence_rows
from monitor.store.intake import NewImage, NewReport
from monitor.store.repository import Candidate
from sources.errors import SourceError
from sources.ocr import ImageRefused, OcrFailed, check_image, read_screenshot
from sources.reported import fetch_reported

log = logging.getLogger(__name__)

SOURCES = ("reported", "reported-email", "reported-screenshot")
MAX_IMAGES = 5
MAX_IMAGE_BYTES = 10 * 1024 * 1024
OCR_DEADLINE_S = 30.0
LINK_SUBMISSIONS_PER_HOUR = 20
MAX_TEXT = 50_000


@dataclass(frozen=True)
class Image:
    name: str
    data: bytes
    content_type: str  # as the sender declared it; the content decides what it is


@dataclass(frozen=True)
class Report:
    academy_id: str
    source: str  # "reported" | "reported-email" | "reported-screenshot"
    reporter: str  # who sent it (an email address, or a user's)
    url: str | None
    note: str
    text: str  # a text that came with it (a forwarded mail's body)
    images: tuple[Image, ...]
    seen_where: str
    original: bytes | None  # the original message (email), kept with the report


@dataclass(frozen=True)
class SubmitResult:
    mention_id: int | None  # None: refused (see reason)
    reason: str
    report_id: int | None = None
    duplicate: bool = False
    assessment: Assessment | None = None
    fetch_error: str | None = None
    ocr_errors: tuple[str, ...] = ()


def check_report(ctx: JobContext, report: Report) -> str | None:
    """Why the report is refused (one line), or None when it may go on."""
    try:
        ctx.settings.academy(report.academy_id)
    except KeyError:
        return f"unknown academy {report.academy_id!r}"
    if report.source not in SOURCES:
        return f"unknown report source {report.source!r} (one of {', '.join(SOURCES)})"
    if not report.reporter.strip():
        return "who reported it is missing"
    if report.url is not None:
        parts = urlsplit(report.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"not a web address: {report.url[:200]!r}"
    if len(report.images) > MAX_IMAGES:
        return f"too many images: {len(report.images)} (at most {MAX_IMAGES})"
    for img in report.images:
        if len(img.data) > MAX_IMAGE_BYTES:
            return (
                f"{img.name or 'an image'} is too large: {len(img.data) / 1_048_576:.1f} MB"
                f" (at most {MAX_IMAGE_BYTES // 1_048_576} MB each)"
            )
        try:
            check_image(img.data)
        except ImageRefused as exc:
            return f"{img.name or 'an image'}: {exc.reason}"
    if not (report.url or report.note.strip() or report.text.strip() or report.images):
        return "nothing to report: give a link, a note, a text or a screenshot"
    return None


def _ocr(images: tuple[Image, ...]) -> list[NewImage]:
    out = []
    for img in images:
        info = check_image(img.data)  # checked already; this gives the type by content
        try:
            r = read_screenshot(img.data, deadline_s=OCR_DEADLINE_S)
            text, post, chrome, error = r.text, r.post_text, r.chrome_lines, None
        except (OcrFailed, ImageRefused) as exc:
            text, post, chrome, error = "", "", (), str(exc)
        out.append(
            NewImage(
                name=img.name or "image",
                content_type=info.content_type,
                sha256=hashlib.sha256(img.data).hexdigest(),
                width=info.width,
                height=info.height,
                data=img.data,
                ocr_text=text,
                post_text=post,
                chrome_lines=tuple(chrome),
                ocr_error=error,
            )
        )
    return out


def _identity(report: Report, images: list[NewImage]) -> str:
    h = hashlib.sha256()
    for part in (report.url or "", report.note, report.text, *(i.sha256 for i in images)):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def submit_report(ctx: JobContext, report: Report, now: datetime) -> SubmitResult:
    """Check, fetch, read, match, de-duplicate, score, store and alert one report (see the
    module docstring). Refusals come back as a result with no mention and a reason."""
    problem = check_report(ctx, report)
    if problem:
        return SubmitResult(None, problem)
    academy = ctx.settings.academy(report.academy_id)
    runner = ctx.runner()  # the collectors' client, matcher, scorer and notice sink
    key = f"{academy.id}/{report.source}"

    page = None
    fetch_error = None
    if report.url:
        try:
            page = fetch_reported(runner.client, report.url, key)
        except SourceError as exc:
            fetch_error = exc.reason
            log.info("reported link not read", extra={"academy": academy.id, "reason": exc.reason})
    images = _ocr(report.images)

    parts = [report.note.strip(), report.text.strip()]
    parts += [page.text.strip()] if page else []
    parts += [i.post_text.strip() for i in images]
    text = "\n\n".join(p for p in parts if p)[:MAX_TEXT]
    if not text:
        text = f"Reported link: {report.url}" if report.url else "Reported screenshot"
    title = (page.title if page and page.title else text.split("\n", 1)[0])[:300]
    item = RawItem(
        source_key=key,
        external_id=f"{report.source}:{_identity(report, images)}",
        url=page.url if page else report.url,
        title=title,
        text=text,
        has_media=bool(images) or bool(page and page.has_media),
    )
    matches = [
        m for m in runner.matcher.match(item.title, item.text) if m.organisation == academy.id
    ]
    match = matches[0] if matches else Match(academy.id, academy.display_name, "reported", 0, 0)
    ident = identify(item)
    b = simhash_bands(ident.simhash)
    cand = Candidate(
        item=item,
        match=match,
        canonical_url=ident.canonical_url,
        fingerprint=ident.fingerprint,
        simhash=ident.simhash,
        bands=(b[0], b[1], b[2], b[3]),
    )

    def record(tx: Tx, mention_id: int, outcome: str) -> int:
        return tx.add_intake_report(
            NewReport(
                academy_id=academy.id,
                source=report.source,
                reporter=report.reporter.strip(),
                url=report.url,
                seen_where=report.seen_where.strip(),
                note=report.note,
                text=report.text,
                fetch_error=fetch_error,
                mention_id=mention_id,
                outcome=outcome,
                original=report.original,
                received_at=now,
                images=tuple(images),
            )
        )

    ocr_errors = tuple(f"{i.name}: {i.ocr_error}" for i in images if i.ocr_error)
    with ctx.store.transaction() as tx:
        dup = tx.find_duplicate(cand)
        if dup is not None:
            rid = record(tx, dup.id, "duplicate")
    if dup is not None:
        return SubmitResult(
            dup.id, f"already known as mention {dup.id}", rid, True, None, fetch_error, ocr_errors
        )

    assessment: Assessment | None = None
    if runner.scorer is not None:
        inputs = [ScoringInput(item.title, item.text, item.has_media, ident.fingerprint)]
        assessment = runner.scorer.assess(inputs)[0]

    with ctx.store.transaction() as tx:
        cluster = tx.find_cluster(academy.id, ident.simhash, cand.bands)
        mention = tx.add_mention(cand, cluster, now)
        if mention is None:  # stored meanwhile by another submission of the same
            dup = tx.find_duplicate(cand)
            assert dup is not None
            rid = record(tx, dup.id, "duplicate")
            return SubmitResult(
                dup.id,
                f"already known as mention {dup.id}",
                rid,
                True,
                None,
                fetch_error,
                ocr_errors,
            )
        if assessment is not None:
            tx.add_assessment(mention.id, assessment, now)
        runner.notices.enqueue(tx, mention, assessment, now)
        rid = record(tx, mention.id, "stored")
        # Evidence: the mention's pack (the reported page when public, and always what was sent
        # in) is queued in this transaction, so a crash cannot lose it; the evidence sweep
        # captures it (monitor/evidence/capture.py capture_for_mention).
        evidence_rows.enqueue(tx, mention.id, now)
    log.info(
        "report stored",
        extra={"academy": academy.id, "mention": mention.id, "source": report.source},
    )
    return SubmitResult(mention.id, "stored", rid, False, assessment, fetch_error, ocr_errors)


# --- per-academy intake links -----------------------------------------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def link_url(public_base_url: str, secret: str) -> str:
    return f"{public_base_url.rstrip('/')}/report/{secret}"


def new_intake_link(store: Store, academy_id: str, now: datetime) -> str:
    """A new secret for the academy's intake link (any earlier one stops working); only its
    hash is stored, so this is the one time it can be shown."""
    secret = secrets.token_urlsafe(24)
    store.intake.set_link(academy_id, _hash(secret), now)
    return secret


def intake_link_academy(store: Store, secret: str) -> str | None:
    """The academy whose current intake link has this secret, else None."""
    if not secret or len(secret) > 200:
        return None
    return store.intake.academy_for(_hash(secret))


def take_link_submission(
    store: Store, secret: str, now: datetime, per_hour: int = LINK_SUBMISSIONS_PER_HOUR
) -> bool:
    """Count a submission through an intake link; False when the link is over its hourly limit
    (the form refuses it)."""
    return store.intake.take_submission(_hash(secret), now, per_hour)
