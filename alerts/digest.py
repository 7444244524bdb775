"""The daily digest: which digest is due, what it says, and putting it in the outbox.

Pure helpers first (`due_digest_date`, `digest_window`, `build_digest`); then the two functions that
touch the store (`enqueue_due_digests`, `preview_digest`). Timing is in the configured zone
(Europe/London by default), so 07:00 stays 07:00 across the clock changes. After downtime exactly
one digest is due (the latest), and its window reaches back to the last digest sent (at most a
week), so a missed day is folded into the next digest rather than lost or sent twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from alerts import outbox, reach, rules
from alerts.notice import (
    CategoryGroup,
    DigestContent,
    Envelope,
    HealthLine,
    Notice,
    OpenRemoval,
    SourceCount,
)
from alerts.render import render
from monitor.config import AcademyConfig, Settings
from monitor.health import SourceHealth
from monitor.models import Assessment, Mention
from monitor.removals import STILL_OPEN_AFTER, still_open
from monitor.scoring import taxonomy
from monitor.store import Store
from monitor.store import notices as notice_rows

MAX_CATCH_UP = timedelta(days=7)
LISTED_PER_GROUP = 15
BENIGN_EXAMPLES = 5

HealthProvider = Callable[[str], list[SourceHealth]]


# --- timing (pure) ----------------------------------------------------------------------------


def is_digest_day(d: date, mode: str) -> bool:
    if mode == "off":
        return False
    if mode == "weekdays":
        return d.weekday() < 5
    return True


def slot_at(d: date, digest_time: str, tz: ZoneInfo) -> datetime:
    """The UTC instant of the digest time on local date `d`."""
    hh, mm = (int(x) for x in digest_time.split(":"))
    return datetime.combine(d, time(hh, mm), tzinfo=tz).astimezone(UTC)


def due_digest_date(now: datetime, digest_time: str, tz: ZoneInfo, mode: str) -> date | None:
    """The latest digest date whose time has come (at or before `now`); None when digests are off.

    Sending is idempotent per date, so calling this every minute (and after any downtime) gives
    exactly one digest for the latest slot, never one per missed day."""
    if mode == "off":
        return None
    today = now.astimezone(tz).date()
    for back in range(8):
        d = today - timedelta(days=back)
        if is_digest_day(d, mode) and slot_at(d, digest_time, tz) <= now:
            return d
    return None


def next_digest_date(now: datetime, digest_time: str, tz: ZoneInfo, mode: str) -> date | None:
    """The first digest date whose time is still to come (what `digest --preview` shows)."""
    if mode == "off":
        return None
    today = now.astimezone(tz).date()
    for ahead in range(8):
        d = today + timedelta(days=ahead)
        if is_digest_day(d, mode) and slot_at(d, digest_time, tz) > now:
            return d
    return None


def previous_digest_date(d: date, mode: str) -> date:
    prev = d - timedelta(days=1)
    while mode == "weekdays" and not is_digest_day(prev, mode):
        prev -= timedelta(days=1)
    return prev


def digest_window(
    d: date, digest_time: str, tz: ZoneInfo, mode: str, last_sent: date | None = None
) -> tuple[datetime, datetime]:
    """[start, end) of what the digest for `d` covers: since the previous slot, or since the last
    digest actually sent when one was missed (at most MAX_CATCH_UP)."""
    end = slot_at(d, digest_time, tz)
    start = slot_at(previous_digest_date(d, mode if mode != "off" else "daily"), digest_time, tz)
    if last_sent is not None and last_sent < d:
        start = min(start, max(slot_at(last_sent, digest_time, tz), end - MAX_CATCH_UP))
    return start, end


# --- content (pure) ---------------------------------------------------------------------------


def _primary(a: Assessment) -> str:
    return min(
        a.categories, key=lambda k: rules.SERIOUSNESS.index(k) if k in rules.SERIOUSNESS else 99
    )


def build_digest(
    academy: AcademyConfig,
    rows: Sequence[tuple[Mention, Assessment | None]],
    health: Sequence[SourceHealth],
    dead_letters: Sequence[str],
    digest_date: date,
    window: tuple[datetime, datetime],
    base_url: str,
    retention_days: int = 90,
    since_added: bool = False,
    alert_problems: Sequence[str] = (),
    open_removals: Sequence[OpenRemoval] = (),
) -> DigestContent:
    """Stories grouped by their most serious category (syndicated copies folded into one),
    benign mentions summarised, counts per source, and the monitoring health."""
    start, _end = window
    groups: dict[str, dict[str, list[tuple[Mention, Assessment]]]] = {}
    benign: list[Mention] = []
    unscored = 0
    per_source: dict[str, int] = {}
    for m, a in rows:
        name = rules.source_name(m.source_key)
        per_source[name] = per_source.get(name, 0) + 1
        if a is None:
            unscored += 1
        elif not a.categories:
            benign.append(m)
        else:
            groups.setdefault(_primary(a), {}).setdefault(m.cluster_id, []).append((m, a))

    out_groups = []
    for key in rules.SERIOUSNESS:
        if key not in groups:
            continue
        stories = []
        for members in groups[key].values():
            # The story's representative: urgent first, then the likeliest, then the earliest.
            members.sort(
                key=lambda ma: (
                    not ma[1].urgent,
                    -ma[1].probabilities.get(key, 0.0),
                    ma[0].first_seen_at,
                )
            )
            m, a = members[0]
            facts = rules.mention_facts(m, a, base_url)
            stories.append(dataclasses.replace(facts, copies=len(members) - 1))
        stories.sort(key=lambda f: (not f.urgent, f.first_seen_at))
        out_groups.append(
            CategoryGroup(
                key=key,
                label=taxonomy.label(key),
                mentions=tuple(stories[:LISTED_PER_GROUP]),
                more=max(0, len(stories) - LISTED_PER_GROUP),
            )
        )
    benign.sort(key=lambda m: m.first_seen_at, reverse=True)
    problems = tuple(
        HealthLine(
            source=rules.source_name(h.key),
            state=h.state,
            detail=rules.clean_text(  # a source's error may quote a URL with an address in it
                h.advice
                or (h.last_error or "")
                or ("no new items for much longer than usual" if h.state == "silent" else ""),
                rules.DETAIL_CHARS,
            ),
        )
        for h in health
        if not h.healthy
    )
    checked = sum(1 for h in health if h.last_success is not None and h.last_success >= start)
    # Never checked yet: neither working nor failing, and never reported as either.
    not_checked = tuple(
        rules.source_name(h.key)
        for h in health
        if h.healthy and h.last_success is None and h.consecutive_errors == 0
    )
    return DigestContent(
        digest_date=digest_date,
        window_start=window[0],
        window_end=window[1],
        groups=tuple(out_groups),
        benign_count=len(benign),
        benign_titles=tuple(
            rules.clean_text(m.title, rules.TITLE_CHARS) for m in benign[:BENIGN_EXAMPLES]
        ),
        unscored_count=unscored,
        per_source=tuple(
            SourceCount(k, v) for k, v in sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        sources_checked=checked,
        sources_total=len(health),
        problems=problems,
        dead_letters=tuple(dead_letters),
        dashboard_url=base_url.rstrip("/") + "/",
        mention_count=len(rows),
        retention_days=retention_days,
        not_checked=not_checked,
        since_added=since_added,
        alert_problems=tuple(alert_problems),
        open_removals=tuple(open_removals),
    )


def open_removals(store: Store, academy_id: str, at: datetime, base_url: str) -> list[OpenRemoval]:
    """The academy's removal requests still open (not confirmed removed) more than 7 days at
    `at` (the digest's slot), oldest first."""
    out = []
    for r in store.removals(
        open_only=True, academy=academy_id, reported_before=at - STILL_OPEN_AFTER
    ):
        if not still_open(r.status, r.reported_at, at):
            continue
        out.append(
            OpenRemoval(
                mention_id=r.mention_id,
                where=f"Reported to {r.platform}"
                if r.platform
                else "Asked the poster to remove it",
                reference=r.reference or "",
                reported_at=r.reported_at,
                status=r.status,
                days_open=(at - r.reported_at).days,
                dashboard_url=rules.dashboard_url(base_url, r.mention_id),
            )
        )
    return out


# --- with the store ---------------------------------------------------------------------------


def _sent_dates(store: Store, academy_id: str) -> dict[str, set[str]]:
    """Digest date -> recipients already in the outbox (any status)."""
    with store.transaction() as tx:
        return notice_rows.digest_recipients_by_date(tx, academy_id)


def content_for(
    store: Store,
    settings: Settings,
    academy: AcademyConfig,
    d: date,
    health_provider: HealthProvider,
    last_sent: date | None,
) -> DigestContent:
    tz = settings.tz
    window = digest_window(d, settings.schedule.digest_time, tz, academy.digest, last_sent)
    added = store.academy_added(academy.id)
    since_added = added is not None and added > window[0]
    if added is not None and since_added:
        # The first digest covers only the time since the academy was added, not a day before.
        window = (added, window[1])
    rows = store.mentions(since=window[0], until=window[1], organisation=academy.id)
    with store.transaction() as tx:
        dead = outbox.dead_letters(tx, academy.id, settings.schedule.timezone)
    alert_problems = reach.problem_lines(
        settings,
        reach.recipient_states(store, settings),
        reach.unreached_urgent(store, settings, window[0], window[1]),
        period="in this period",
        only=academy.id,
    )
    return build_digest(
        academy,
        rows,
        health_provider(academy.id),
        dead,
        d,
        window,
        settings.web.public_base_url,
        retention_days=settings.retention.mention_days,
        since_added=since_added,
        alert_problems=alert_problems,
        open_removals=open_removals(store, academy.id, window[1], settings.web.public_base_url),
    )


def enqueue_due_digests(
    store: Store, settings: Settings, now: datetime, health_provider: HealthProvider
) -> int:
    """Queue the latest due digest of every academy for every recipient who has not got it.

    Safe to call every minute and from several processes: the outbox refuses a second digest
    of one date to one recipient. Returns the number of notices queued."""
    queued = 0
    for academy in settings.academies:
        d = due_digest_date(now, settings.schedule.digest_time, settings.tz, academy.digest)
        if d is None or not academy.recipients:
            continue
        added = store.academy_added(academy.id)
        if added is not None and slot_at(d, settings.schedule.digest_time, settings.tz) <= added:
            continue  # added after this slot: its first digest is the next one
        sent = _sent_dates(store, academy.id)
        with store.transaction() as tx:
            opted = outbox.digest_muted(tx)
        wanted = [r for r in dict.fromkeys(x.lower() for x in academy.recipients) if r not in opted]
        missing = [r for r in wanted if r not in sent.get(d.isoformat(), set())]
        if not missing:
            continue
        earlier = [date.fromisoformat(k) for k in sent if k < d.isoformat()]
        content = content_for(
            store, settings, academy, d, health_provider, max(earlier, default=None)
        )
        with store.transaction() as tx:
            for rcpt in missing:
                notice = Notice(
                    "digest", academy.id, academy.display_name, rcpt, d.isoformat(), None, content
                )
                queued += outbox.add_notice(tx, notice, settings, now)
    return queued


def preview_digest(
    store: Store,
    settings: Settings,
    academy_id: str,
    d: date | None,
    now: datetime,
    health_provider: HealthProvider,
) -> tuple[date, EmailMessage]:
    """The digest for date `d` (default: the next one due) as it would be sent, without sending."""
    academy = settings.academy(academy_id)
    mode = academy.digest if academy.digest != "off" else "daily"
    d = d or next_digest_date(now, settings.schedule.digest_time, settings.tz, mode) or now.date()
    with store.transaction() as tx:
        last = notice_rows.last_digest_before(tx, academy.id, d.isoformat())
    content = content_for(
        store, settings, academy, d, health_provider, date.fromisoformat(last) if last else None
    )
    recipient = academy.recipients[0] if academy.recipients else "preview@localhost"
    notice = Notice(
        "digest", academy.id, academy.display_name, recipient, d.isoformat(), None, content
    )
    env = Envelope(
        message_id=outbox.message_id(settings.mail.from_address),
        sender=settings.mail.from_address,
        date=now,
        unsubscribe_url=outbox.link(settings, "unsubscribe", "preview"),
        timezone=settings.schedule.timezone,
    )
    return d, render(notice, env)
