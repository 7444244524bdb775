"""Intake by email: poll the intake mailbox, turn each allowed forwarded message into a report,
quarantine the rest, and never lose or repeat one.

Per message, in this order: look it up in the store (monitor/store/mailbox.py) by UID and
Message-ID; if it was dealt with, only redo the server-side mark (a crash came between the two).
Otherwise fetch it (size checked first), parse it (sources/forwarded.py), check the sender
against `intake.imap.allowed_senders` and find its academy. An allowed message is handed to the
injected `submit` (the intake core, monitor/intake.py `submit_report`), then recorded, then
marked processed on the server. Anything else is recorded in quarantine with its reason and
moved to the quarantine folder. A failure in `submit` leaves the message unmarked and
unrecorded: the next poll tries it again. A crash after `submit` but before the record is
covered by the intake core's own de-duplication (the same text for the same academy is one
mention: uq_mention_fingerprint).

Each message becomes a `monitor.intake.Report` handed to `submit_report`, the same core the
workspace form and `intake submit` use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.config import ImapIntakeSettings, Settings
from monitor.intake import Image, Report, SubmitResult, submit_report
from monitor.store import Store
from monitor.store import mailbox as mail_rows
from monitor.store.audit import AuditEntry
from monitor.store.mailbox import MessageKey, ProcessedMessage
from sources.errors import (
    ConnectFailed,
    FetchError,
    FetchTimeout,
    ResponseTooLarge,
    SourceError,
    SourceUnavailable,
)
from sources.forwarded import ForwardedReport, ForwardParseError, parse_forwarded
from sources.mailbox import Mailbox, MailboxConfig, open_mailbox

log = logging.getLogger(__name__)

SOURCE = "reported-email"
# service_state keys: the last error, and when a failing mailbox is tried again.
STATE_ERROR = "intake_mailbox:last_error"
STATE_RETRY_AT = "intake_mailbox:retry_at"
STATE_FAILURES = "intake_mailbox:failures"
MAX_BACKOFF = timedelta(hours=6)


# --- the report handed to the intake core ----------------------------------------------------


Submit = Callable[[Report], SubmitResult]


def to_report(fr: ForwardedReport, academy_id: str) -> Report:
    """The intake report for a forwarded message. The first link is the report's URL (fetched
    and captured by the intake core); the others are listed in the note."""
    url = fr.links[0] if fr.links else None
    note_lines = [f"Forwarded by email: {fr.subject}" if fr.subject else "Forwarded by email"]
    if fr.forwarded_from:
        note_lines.append(f"Originally from: {fr.forwarded_from}")
    if fr.forwarded_date:
        note_lines.append(f"Originally sent: {fr.forwarded_date}")
    if len(fr.links) > 1:
        note_lines.append("Other links: " + " ".join(fr.links[1:]))
    if fr.problems:
        note_lines.append("Left out: " + "; ".join(fr.problems))
    seen = f"email forwarded by {fr.sender}"
    if fr.forwarded_from:
        seen += f" (from {fr.forwarded_from})"
    return Report(
        academy_id=academy_id,
        source=SOURCE,
        reporter=fr.sender,
        url=url,
        note="\n".join(note_lines),
        text=fr.body_text,
        images=tuple(Image(i.name, i.data, i.content_type) for i in fr.images),
        seen_where=seen,
        original=fr.original,
    )


def default_submit(ctx: Any) -> Submit:
    """The real intake: monitor.intake.submit_report(ctx, report, now)."""

    def submit(report: Report) -> SubmitResult:
        return submit_report(ctx, report, ctx.now())

    return submit


# --- pure decisions ----------------------------------------------------------------------------


def sender_allowed(sender: str, allowed: tuple[str, ...]) -> bool:
    """Whether an address is on the allow-list (whole addresses, or "@domain" for a domain)."""
    sender = sender.strip().lower()
    if "@" not in sender:
        return False
    domain = "@" + sender.rsplit("@", 1)[1]
    return any(a == sender or (a.startswith("@") and a == domain) for a in allowed)


def academy_for(fr: ForwardedReport, imap: ImapIntakeSettings) -> str | None:
    """The academy a message is for: by the address it was sent to, else the mailbox's."""
    for address in fr.recipients:
        if address in imap.academy_by_recipient:
            return imap.academy_by_recipient[address]
    return imap.academy_id or None


def mailbox_config(imap: ImapIntakeSettings) -> MailboxConfig:
    return MailboxConfig(
        host=imap.host,
        port=imap.port,
        tls=imap.tls,
        user=imap.user,
        password=imap.password.get_secret_value(),
        mailbox=imap.mailbox,
        quarantine_folder=imap.quarantine_folder,
        timeout_seconds=imap.timeout_seconds,
        max_message_bytes=imap.max_message_mb * 1024 * 1024,
        ca_file=imap.ca_file,
    )


def account(imap: ImapIntakeSettings) -> str:
    return f"{imap.user}@{imap.host}/{imap.mailbox}"


# --- the poll ------------------------------------------------------------------------------------


@dataclass
class PollResult:
    """What one poll did, for the job's log line and `intake poll`."""

    reported: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    remarked: int = 0  # dealt with before, only the server-side mark was redone
    failed: list[str] = field(default_factory=list)  # left for the next poll
    error: str | None = None  # the mailbox could not be read at all
    skipped: str | None = None  # not polled (backing off after errors)

    def lines(self) -> list[str]:
        out = [*self.reported, *self.quarantined, *self.failed]
        if self.remarked:
            out.append(f"{self.remarked} message(s) dealt with before were marked again")
        if self.error:
            out.append(f"error: {self.error}")
        if self.skipped:
            out.append(self.skipped)
        out.append(
            f"{len(self.reported)} reported, {len(self.quarantined)} quarantined, "
            f"{len(self.failed)} left for the next poll"
        )
        return out


OpenBox = Callable[[MailboxConfig], AbstractContextManager[Mailbox]]


class _Poll:
    def __init__(
        self, store: Store, imap: ImapIntakeSettings, box: Mailbox, submit: Submit, now: datetime
    ) -> None:
        self.store, self.imap, self.box, self.submit, self.now = store, imap, box, submit, now
        self.account = account(imap)
        self.result = PollResult()

    def key(self, uid: int) -> MessageKey:
        return MessageKey(self.account, self.box.uidvalidity, uid)

    def finish_on_server(self, uid: int, outcome: str) -> None:
        if outcome == "quarantined":
            self.box.move(uid, self.imap.quarantine_folder)
        else:
            self.box.mark_processed(uid)

    def quarantine(
        self,
        uid: int,
        *,
        reason: str,
        raw: bytes | None,
        sender: str,
        subject: str,
        message_id: str,
        received_at: datetime | None,
    ) -> None:
        with self.store.transaction() as tx:
            qid = mail_rows.hold(
                tx,
                account=self.account,
                message_id=message_id,
                sender=sender,
                subject=subject,
                received_at=received_at,
                reason=reason,
                raw=raw,
                now=self.now,
            )
            mail_rows.record(
                tx,
                ProcessedMessage(
                    self.key(uid), message_id, "quarantined", None, f"quarantine #{qid}", self.now
                ),
            )
        self.finish_on_server(uid, "quarantined")
        self.result.quarantined.append(
            f"quarantined #{qid} (UID {uid}) from {sender or 'unknown sender'}: {reason}"
        )

    def quarantine_parsed(self, uid: int, fr: ForwardedReport, raw: bytes, reason: str) -> None:
        self.quarantine(
            uid,
            reason=reason,
            raw=raw,
            sender=fr.sender,
            subject=fr.subject,
            message_id=fr.message_id,
            received_at=fr.received_at,
        )

    def one(self, uid: int, size: int) -> None:
        with self.store.transaction() as tx:
            done = mail_rows.processed(tx, self.key(uid))
        if done is not None:
            self.finish_on_server(uid, done.outcome)
            self.result.remarked += 1
            return
        cap = self.box.cfg.max_message_bytes
        raw: bytes | None
        if size > cap:
            raw = None
        else:
            try:
                raw = self.box.fetch(uid)
            except ResponseTooLarge:
                raw = None
        if raw is None:
            head = parse_forwarded(self.box.fetch_header(uid))
            self.quarantine(
                uid,
                reason=f"too large: {size} bytes, the limit is {cap} (intake.imap.max_message_mb)",
                raw=None,
                sender=head.sender,
                subject=head.subject,
                message_id=head.message_id,
                received_at=head.received_at,
            )
            return
        try:
            fr = parse_forwarded(raw)
        except ForwardParseError as exc:
            self.quarantine(
                uid,
                reason=f"unreadable: {exc}",
                raw=raw,
                sender="",
                subject="",
                message_id="",
                received_at=None,
            )
            return
        if fr.message_id:
            with self.store.transaction() as tx:
                earlier = mail_rows.processed(tx, self.key(uid), fr.message_id)
                if earlier is not None:  # the same message again (copied back, new UIDVALIDITY)
                    mail_rows.record(
                        tx,
                        ProcessedMessage(
                            self.key(uid),
                            fr.message_id,
                            "duplicate",
                            earlier.mention_id,
                            "same Message-ID as one dealt with before",
                            self.now,
                        ),
                    )
            if earlier is not None:
                self.box.mark_processed(uid)
                self.result.remarked += 1
                return
        if not sender_allowed(fr.sender, self.imap.allowed_senders):
            self.quarantine_parsed(uid, fr, raw, "sender not allowed (intake.imap.allowed_senders)")
            return
        academy = academy_for(fr, self.imap)
        if academy is None:
            self.quarantine_parsed(
                uid,
                fr,
                raw,
                "no academy for the addresses it was sent to (intake.imap.academy_by_recipient)",
            )
            return
        try:
            outcome = self.submit(to_report(fr, academy))
        except Exception as exc:  # the intake core failed: leave the message for the next poll
            log.warning(
                "intake report failed; the message stays for the next poll",
                extra={"uid": uid, "error": f"{type(exc).__name__}: {exc}"},
            )
            self.result.failed.append(f"UID {uid} from {fr.sender}: not reported yet ({exc})")
            return
        with self.store.transaction() as tx:
            mail_rows.record(
                tx,
                ProcessedMessage(
                    self.key(uid),
                    fr.message_id,
                    "reported",
                    outcome.mention_id,
                    outcome.reason,
                    self.now,
                ),
            )
        self.box.mark_processed(uid)
        what = f"mention {outcome.mention_id}" if outcome.mention_id else "no mention"
        self.result.reported.append(
            f"reported UID {uid} from {fr.sender} for {academy}: {what} ({outcome.reason}); "
            f"{len(fr.links)} link(s), {len(fr.images)} image(s)"
        )


def poll_mailbox(
    store: Store,
    imap: ImapIntakeSettings,
    submit: Submit,
    now: datetime,
    *,
    open_box: OpenBox = open_mailbox,
) -> PollResult:
    """Read every unprocessed message of the intake mailbox once. SourceError when the mailbox
    cannot be read at all; a message that fails is left for the next poll."""
    with open_box(mailbox_config(imap)) as box:
        poll = _Poll(store, imap, box, submit, now)
        for p in box.pending():
            try:
                poll.one(p.uid, p.size)
            except (ConnectFailed, FetchTimeout):
                raise  # the session is gone: the whole poll failed
            except FetchError as exc:  # this message only (deleted meanwhile, refused)
                poll.result.failed.append(f"UID {p.uid}: not read ({exc.reason})")
        return poll.result


def poll_job(
    store: Store,
    settings: Settings,
    submit: Submit,
    now: datetime,
    *,
    force: bool = False,
    open_box: OpenBox = open_mailbox,
) -> PollResult:
    """The job's body: poll unless backing off after errors (`force` polls anyway). A mailbox
    that cannot be read is recorded (one line, `intake_mailbox:last_error`) and tried again
    after a growing pause (the poll interval doubled per failure, at most 6 hours), so a wrong
    password does not hammer the server or lock the account."""
    imap = settings.intake.imap
    if imap is None:
        return PollResult(skipped="intake.imap is not configured")
    retry_at = store.get_state(STATE_RETRY_AT)
    if not force and retry_at and now < datetime.fromisoformat(retry_at):
        return PollResult(skipped=f"mailbox failing; next try at {retry_at}")
    try:
        result = poll_mailbox(store, imap, submit, now, open_box=open_box)
    except SourceError as exc:
        failures = int(store.get_state(STATE_FAILURES) or 0) + 1
        pause = min(timedelta(minutes=imap.poll_interval_minutes) * 2**failures, MAX_BACKOFF)
        if isinstance(exc, SourceUnavailable):  # a person must act: wait the longest
            pause = MAX_BACKOFF
        store.set_state(STATE_FAILURES, str(failures), now)
        store.set_state(STATE_RETRY_AT, (now + pause).isoformat(), now)
        store.set_state(STATE_ERROR, exc.reason, now)
        log.warning("intake mailbox unreadable", extra={"error": exc.reason, "kind": exc.kind})
        return PollResult(error=exc.reason)
    if store.get_state(STATE_FAILURES) not in (None, "0"):
        store.set_state(STATE_FAILURES, "0", now)
        store.set_state(STATE_RETRY_AT, "", now)
        store.set_state(STATE_ERROR, "", now)
    if result.reported or result.quarantined or result.failed:
        log.info(
            "intake mailbox polled",
            extra={
                "reported": len(result.reported),
                "quarantined": len(result.quarantined),
                "failed": len(result.failed),
            },
        )
    return result


# --- quarantine --------------------------------------------------------------------------------


class ReleaseRefused(Exception):
    """A quarantined message cannot be released; one line saying why."""


def release(
    store: Store,
    settings: Settings,
    quarantine_id: int,
    submit: Submit,
    now: datetime,
    *,
    academy_id: str | None = None,
    actor: str = "system",
    client: str = "",
) -> SubmitResult:
    """Turn a quarantined message into a report (a person vouched for it: `actor`, written to
    the audit log with the release)."""
    with store.transaction() as tx:
        found = mail_rows.quarantined(tx, quarantine_id)
    if found is None:
        raise ReleaseRefused(f"no quarantined message #{quarantine_id}")
    row, raw = found
    if row.status != "held":
        raise ReleaseRefused(f"message #{quarantine_id} was already released")
    if raw is None:
        raise ReleaseRefused(
            f"message #{quarantine_id} was too large: only its header was kept; "
            "it is in the mailbox's quarantine folder"
        )
    try:
        fr = parse_forwarded(raw)
    except ForwardParseError as exc:
        raise ReleaseRefused(f"message #{quarantine_id} cannot be read: {exc}") from None
    imap = settings.intake.imap
    academy = academy_id or (academy_for(fr, imap) if imap is not None else None)
    if academy is None:
        raise ReleaseRefused("say which academy it is for: --academy ID")
    settings.academy(academy)  # KeyError for an unknown academy (the command checks first)
    outcome = submit(to_report(fr, academy))
    with store.transaction() as tx:
        if not mail_rows.release(tx, quarantine_id, outcome.mention_id, now):
            raise ReleaseRefused(f"message #{quarantine_id} was released meanwhile")
        tx.audit(
            AuditEntry(
                now,
                actor,
                "intake.quarantine.release",
                academy_id=academy,
                target=f"quarantine:{quarantine_id}",
                detail=f"mention:{outcome.mention_id or '-'} ({outcome.reason})"[:500],
                client=client,
            )
        )
    return outcome
