"""Removal tracking with the outside world: recording a removal request, and re-checking its URL
through the guarded client (sources/http.py: the SSRF guard, the body cap, the total deadline,
per-host politeness and robots.txt), then storing what the check meant (monitor/removals.py).

These are the typed functions the mention page and the CLI call; `check_removals` (monitor/jobs.py)
runs `check_due` periodically.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.removals import (
    CheckResult,
    Outcome,
    RemovalKind,
    RemovalStatus,
    advance,
    judge_page,
    judge_status,
    next_check_at,
)
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.removals import NewRemoval, RemovalCheckRow, RemovalRow
from sources.bounded import page_soup
from sources.errors import FeedParseError, FetchError, HTTPStatusError
from sources.http import GuardedClient, NotModified

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 5 * 1024 * 1024  # a post page; the mention's text is near the top anyway


class RemovalError(ValueError):
    """A removal request that cannot be recorded; the message is one line for the person."""


@dataclass(frozen=True)
class Checked:
    """One check done: the request after it, and what the check found."""

    removal: RemovalRow
    result: CheckResult


def request_removal(
    store: Store,
    mention_id: int,
    kind: RemovalKind,
    *,
    by: str,
    now: datetime,
    platform: str | None = None,
    reference: str | None = None,
    reported_at: datetime | None = None,
    actor: str | None = None,
    client: str = "",
) -> RemovalRow:
    """Record that the mention was reported to a platform (`platform`, `reference`, when) or that
    its removal was asked of the poster. Its URL is checked from now on. With `actor` ("user:…",
    "cli:…") the request is written to the audit log ("removal.request") from `client`."""
    found = store.mention(mention_id)
    if found is None:
        raise RemovalError(f"no mention {mention_id}")
    mention, _ = found
    url = mention.url or mention.canonical_url
    if not url:
        raise RemovalError(f"mention {mention_id} has no address to check")
    if "@" not in by:
        raise RemovalError("give the email address of who made the request")
    if kind is RemovalKind.REPORTED_TO_PLATFORM and not (platform or "").strip():
        raise RemovalError("say which platform it was reported to")
    row = store.add_removal(
        NewRemoval(
            mention_id=mention_id,
            academy_id=mention.organisation,
            url=url,
            kind=kind.value,
            platform=(platform or "").strip() or None,
            reference=(reference or "").strip() or None,
            reported_at=reported_at or now,
            requested_by=by.strip().lower(),
        ),
        now,
    )
    if actor is not None:
        where = row.platform or "the poster"
        store.audit(
            AuditEntry(
                now,
                actor,
                "removal.request",
                academy_id=row.academy_id,
                target=f"mention:{mention_id}",
                detail=f"request {row.id}: {row.kind} ({where})",
                client=client,
            )
        )
    return row


def page_text(content: bytes, content_type: str) -> str:
    """The visible text of a fetched page (HTML within the parse budgets), or the body as text."""
    if "html" in content_type or content.lstrip()[:1] == b"<":
        soup = page_soup(content, "the page")
        for tag in soup(["script", "style", "noscript", "template"]):
            tag.decompose()
        return soup.get_text(" ")
    return content.decode("utf-8", errors="replace")


def check_url(client: GuardedClient, url: str, mention_text: str) -> CheckResult:
    """Fetch `url` through the guarded client (robots.txt respected) and say what it means."""
    try:
        resp = client.get(url, respect_robots=True, max_body_bytes=MAX_PAGE_BYTES)
    except HTTPStatusError as exc:
        if not exc.status:
            return CheckResult(Outcome.ERROR, None, exc.reason)
        return judge_status(exc.status)
    except FetchError as exc:
        return CheckResult(Outcome.ERROR, None, exc.reason)
    if isinstance(resp, NotModified):  # not asked for; treated as "no news"
        return CheckResult(Outcome.ERROR, 304, "the server answered 304 Not Modified")
    try:
        text = page_text(resp.content, resp.content_type)
    except FeedParseError as exc:
        return CheckResult(Outcome.ERROR, resp.status, exc.reason)
    return judge_page(resp.status, text, mention_text)


def _mention_text(store: Store, mention_id: int) -> str | None:
    found = store.mention(mention_id)
    if found is None:
        return None
    m, _ = found
    return m.text or m.title


def check_removal(
    store: Store,
    client: GuardedClient,
    removal: RemovalRow,
    now: datetime,
    *,
    u: float | None = None,
) -> Checked | None:
    """Check one request now and store the outcome; None when its mention was erased meanwhile.
    `u` in [0, 1) picks the jitter of the next check (random when not given)."""
    text = _mention_text(store, removal.mention_id)
    if text is None:
        return None
    result = check_url(client, removal.url, text)
    progress = advance(
        RemovalStatus(removal.status), removal.first_gone_at, removal.removed_at, result, now
    )
    nxt = next_check_at(progress, now, random.random() if u is None else u)  # noqa: S311
    row = store.record_removal_check(
        RemovalCheckRow(removal.id, now, result.http_status, result.outcome.value, result.detail),
        status=progress.status.value,
        first_gone_at=progress.first_gone_at,
        removed_at=progress.removed_at,
        next_check_at=nxt,
    )
    if row is None:
        return None
    if row.status != removal.status:
        log.info(
            "removal request status changed",
            extra={"removal": removal.id, "from": removal.status, "to": row.status},
        )
    return Checked(row, result)


def check_due(
    store: Store,
    client: GuardedClient,
    clock: Callable[[], datetime],
    *,
    limit: int = 100,
    ids: tuple[int, ...] = (),
) -> list[Checked]:
    """Check the requests that are due (or exactly `ids`, due or not), one after another."""
    if ids:
        todo = [r for i in ids if (r := store.removal(i)) is not None]
    else:
        todo = store.due_removals(clock(), limit)
    done = []
    for removal in todo:
        if removal.status == RemovalStatus.REMOVED:
            continue
        checked = check_removal(store, client, removal, clock())
        if checked is not None:
            done.append(checked)
    return done


__all__ = [
    "Checked",
    "RemovalError",
    "check_due",
    "check_removal",
    "check_url",
    "page_text",
    "request_removal",
]
