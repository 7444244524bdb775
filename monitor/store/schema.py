"""The database schema: every table, in one SQLAlchemy metadata that the migrations mirror.

A test compares this metadata with what the Alembic migrations build, so they cannot drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which drops tzinfo) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class SourceRecord(Base):
    """One configured source and its scheduling state (as Miniflux keeps it on the feed)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    cursor: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_item_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30), default="new")
    advice: Mapped[str | None] = mapped_column(Text)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MentionRecord(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("organisation", "source_key", "external_id", name="uq_mention_external"),
        UniqueConstraint("organisation", "fingerprint", name="uq_mention_fingerprint"),
        Index("ix_mention_canonical", "organisation", "canonical_url"),
        Index("ix_mention_cluster", "cluster_id"),
        Index("ix_mention_seen", "organisation", "first_seen_at"),
        Index("ix_mention_band0", "organisation", "band0"),
        Index("ix_mention_band1", "organisation", "band1"),
        Index("ix_mention_band2", "organisation", "band2"),
        Index("ix_mention_band3", "organisation", "band3"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    has_media: Mapped[bool] = mapped_column(Boolean, default=False)
    fingerprint: Mapped[str] = mapped_column(String(80))
    simhash: Mapped[int] = mapped_column(BigInteger, default=0)
    band0: Mapped[int] = mapped_column(Integer, default=0)
    band1: Mapped[int] = mapped_column(Integer, default=0)
    band2: Mapped[int] = mapped_column(Integer, default=0)
    band3: Mapped[int] = mapped_column(Integer, default=0)
    cluster_id: Mapped[str] = mapped_column(String(80))
    matched_name: Mapped[str] = mapped_column(String(200))
    kept: Mapped[bool] = mapped_column(Boolean, default=False)
    triage: Mapped[str] = mapped_column(String(20), default="new")
    owner: Mapped[str | None] = mapped_column(String(320))  # triage: who handles it (email)


class AssessmentRecord(Base):
    __tablename__ = "assessments"

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(100))
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    corrected_categories: Mapped[list[str] | None] = mapped_column(JSON)


class EmbeddingRecord(Base):
    """Embedding cache by content fingerprint, so a text is never embedded twice."""

    __tablename__ = "embeddings"

    fingerprint: Mapped[str] = mapped_column(String(80), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(100), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeRecord(Base):
    """The transactional outbox: one row per email to send, written with the mention it reports.

    The database refuses a second notice of one kind about one story (cluster), digest date or
    subscription step to one recipient. The Message-ID is fixed here, at enqueue time, so a resend
    after a crash carries the same one. `payload` (JSON, already redacted) is cleared once sent.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("kind", "academy_id", "scope", "recipient", name="uq_notice_once"),
        Index("ix_notice_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # urgent | provider | digest | confirm
    academy_id: Mapped[str] = mapped_column(String(64))
    # What the notice is about: a cluster id, a digest date (YYYY-MM-DD) or a subscription step.
    scope: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(320))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending|sent|dead|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubscriberRecord(Base):
    """Who may receive email, with consent state.

    role "provider": a contracted provider's subscription to breach notices (double opt-in).
    role "recipient": a recipient named in the settings; a row exists so that their emails can
    carry an unsubscribe link, and records what they muted (the digest; urgent alerts per academy
    only by an administrator). Their status stays "active".
    """

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("email", "role", name="uq_subscriber_email_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), default="provider")
    name: Mapped[str] = mapped_column(String(200), default="")
    academies: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending|active|unsubscribed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Configured recipients only. A link (one click) can mute the digest; only an administrator
    # (`recipients mute --urgent`) can mute urgent alerts, per academy, listed here.
    digest_muted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urgent_muted: Mapped[list[str] | None] = mapped_column(JSON)


class TokenRecord(Base):
    """Single-purpose, expiring link tokens. Only a SHA-256 hash of the token is stored."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # confirm | unsubscribe
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceStateRecord(Base):
    """Small named facts about the running service (last cycle, heartbeat, last digest run)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentRecord(Base):
    """A possible personal-data breach opened by an urgent data_leak or pupil_image story: its id
    and the ICO 72-hour clock, which starts when the mention was first seen (when we knew)."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("academy_id", "cluster_id", name="uq_incident_cluster"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    cluster_id: Mapped[str] = mapped_column(String(80))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    categories: Mapped[list[str]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ico_deadline: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceLeaseRecord(Base):
    """Who runs a source now: at most one holder per source, across every process and machine.

    Taken with a conditional write (monitor/store/leases.py) and deleted when the run ends; a
    holder that dies leaves a row that stops counting at `expires_at`.
    """

    __tablename__ = "source_leases"

    source_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the workspace: users, roles, sign-in, sessions, API tokens, audit log (issue 12) ----------


class UserRecord(Base):
    """A person who may sign in to the dashboard. The email is stored lower-cased."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserRoleRecord(Base):
    """One grant: a role on an academy ("*": every academy, dpo and admin only)."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "academy_id", "role", name="uq_user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))


class LoginLinkRecord(Base):
    """A single-use sign-in link. Only a SHA-256 hash of its token is stored."""

    __tablename__ = "login_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    next_path: Mapped[str] = mapped_column(String(2000), default="/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSessionRecord(Base):
    """A signed-in browser. The cookie carries the id; only its SHA-256 hash is stored."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_minutes: Mapped[int] = mapped_column(Integer)
    csrf_secret: Mapped[str] = mapped_column(String(64))


class ApiTokenRecord(Base):
    """A personal API token (read-only API). Only a SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditRecord(Base):
    """The audit log: appended to and read, never updated or deleted (monitor/store/audit.py).

    `actor` is text ("user:<email>", "cli:<os user>", "system"), not a foreign key, so removing a
    user never removes or changes what they did.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(60))
    academy_id: Mapped[str] = mapped_column(String(64), default="")
    target: Mapped[str] = mapped_column(String(400), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(String(200), default="")


# --- removal tracking and the breach log (issue 12, policy 11.2 and UK GDPR Art. 33(5)) ---------


class RemovalRecord(Base):
    """A request to take a mention down: reported to the platform, or asked of the poster.

    The URL is re-checked through the guarded client (monitor/removals.py decides what a check
    means); `status` runs open -> gone_once -> removed, and back to open when the content comes
    back between two "gone" checks. Erasing the mention erases its removal requests.
    """

    __tablename__ = "removals"
    __table_args__ = (Index("ix_removal_due", "status", "next_check_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), index=True
    )
    academy_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(30))  # reported_to_platform | requested_from_poster
    platform: Mapped[str | None] = mapped_column(String(200))  # where it was reported
    reference: Mapped[str | None] = mapped_column(String(500))  # the platform's report reference
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|gone_once|removed
    first_gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RemovalCheckRecord(Base):
    """One re-check of a removal request's URL: when, the HTTP status, and what it meant."""

    __tablename__ = "removal_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    removal_id: Mapped[int] = mapped_column(
        ForeignKey("removals.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))  # gone | present | error
    detail: Mapped[str] = mapped_column(Text, default="")


class BreachDecisionRecord(Base):
    """The DPO's decision on an incident (report to the ICO or not, and why). Appended only: a
    later decision supersedes an earlier one, and the history stays."""

    __tablename__ = "breach_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    report_to_ico: Mapped[bool] = mapped_column(Boolean)
    reasoning: Mapped[str] = mapped_column(Text)
    people_told: Mapped[list[str]] = mapped_column(JSON)
    timeline: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{"at": iso, "what": text}]
    decided_by: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- triage (issue 12): owner, timeline, mutes; the status stays in mentions.triage ----------


class MentionEventRecord(Base):
    """A mention's timeline: one row per triage action, appended, never updated. Erasing the
    mention deletes its events with it (the foreign key cascades)."""

    __tablename__ = "mention_events"
    __table_args__ = (Index("ix_mention_event_mention", "mention_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON


class MuteRecord(Base):
    """An author (its `author_key`) or a thread (cluster id) muted in one academy's inbox."""

    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("academy_id", "kind", "key", name="uq_mute"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))  # author | thread
    key: Mapped[str] = mapped_column(String(500))
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# The inbox lists one academy's mentions by status, newest first (monitor/store/inbox.py).
Index("ix_mention_inbox_status", MentionRecord.organisation, MentionRecord.triage)


class EvidencePackRecord(Base):
    """One evidence pack (monitor/evidence/): a folder of captured files and its manifest hash.

    A row is written before its folder (status "capturing"), so a folder without a row is never
    one being written, and the orphan sweep after a purge or an erasure may remove it."""

    __tablename__ = "evidence_packs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int | None] = mapped_column(Integer, index=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(200))
    manifest_sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), default="capturing")
    cut_at_deadline: Mapped[bool] = mapped_column(Boolean, default=False)


class EvidenceQueueRecord(Base):
    """An urgent mention waiting for its automatic pack, written in the mention's transaction
    (like an outbox row). A capture claims it with a lease; the pack's row and `done_at` are
    written together, so a crash neither loses a capture nor makes two."""

    __tablename__ = "evidence_queue"

    mention_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


# --- intake mailbox (issue 14, intake item 2: monitor/store/mailbox.py) --------------------------


class MailboxMessageRecord(Base):
    """A message of the intake mailbox the program has dealt with (reported, quarantined or
    unreadable), by its UID under a UIDVALIDITY and by its Message-ID: a poll that died before it
    marked the message on the server finds it here and does not report it twice."""

    __tablename__ = "mailbox_messages"
    __table_args__ = (
        UniqueConstraint("account", "uidvalidity", "uid", name="uq_mailbox_message_uid"),
        Index("ix_mailbox_message_id", "account", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400))  # user@host/mailbox
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(20))  # reported | quarantined | duplicate
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, default="")
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailQuarantineRecord(Base):
    """A message held back from intake (sender not allowed, no academy, unreadable, too large),
    with its raw bytes (only the header when too large) so that `intake quarantine release` can
    still report it. Never deleted silently."""

    __tablename__ = "mail_quarantine"
    __table_args__ = (Index("ix_mail_quarantine_status", "status", "quarantined_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400))
    message_id: Mapped[str] = mapped_column(String(500), default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quarantined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="held")  # held | released
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))


# --- intake: reported links, screenshots and forwarded mail (monitor/intake.py) ---------------


class IntakeReportRecord(Base):
    """One report someone sent in (a link, screenshots, a forwarded mail) and what became of it:
    the mention it made or repeated. Deleted with its mention (erasure, retention)."""

    __tablename__ = "intake_reports"
    __table_args__ = (Index("ix_intake_report_academy", "academy_id", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(
        String(40)
    )  # reported | reported-email | reported-screenshot
    reporter: Mapped[str] = mapped_column(String(320))
    url: Mapped[str | None] = mapped_column(Text)
    seen_where: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    fetch_error: Mapped[str | None] = mapped_column(Text)
    mention_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(20))  # stored | duplicate
    original: Mapped[bytes | None] = mapped_column(LargeBinary)  # a forwarded message, as sent
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IntakeImageRecord(Base):
    """A screenshot kept as evidence with its report: the bytes as sent, their SHA-256, and what
    OCR read (the post's text and the app's chrome lines apart)."""

    __tablename__ = "intake_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    ocr_text: Mapped[str] = mapped_column(Text, default="")
    post_text: Mapped[str] = mapped_column(Text, default="")
    chrome_lines: Mapped[list[str]] = mapped_column(JSON)
    ocr_error: Mapped[str | None] = mapped_column(Text)


class IntakeLinkRecord(Base):
    """An academy's intake link: only the SHA-256 of its secret is stored; rotating replaces it."""

    __tablename__ = "intake_links"

    academy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IntakeHitRecord(Base):
    """One submission through an intake link, for its rate limit (rows older than the window go)."""

    __tablename__ = "intake_hits"
    __table_args__ = (Index("ix_intake_hit_link", "link_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- corrections (issue 12: corrections that teach the scorer) --------------------------------


class CorrectionRecord(Base):
    """A person's correction of one mention, kept as a labelled example for `train
    --with-corrections`. `text` is the scoring text the scorer saw (training data derived from
    the mention), so the row goes with the mention: erasure and the retention purge cascade."""

    __tablename__ = "corrections"
    __table_args__ = (Index("ix_correction_academy", "academy_id", "made_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), index=True
    )
    academy_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # wrong_categories | not_about_us
    text: Mapped[str] = mapped_column(Text)
    has_media: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[str]] = mapped_column(JSON)
    urgent: Mapped[bool | None] = mapped_column(Boolean)  # None: the person did not say
    made_by: Mapped[str] = mapped_column(String(320))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExclusionProposalRecord(Base):
    """A matcher exclusion proposed by a "not about us" correction; an admin applies or rejects
    it. `phrase` is a few words around the matched name, not the post; it stays when the mention
    goes (mention_id becomes NULL) so that an applied exclusion keeps working."""

    __tablename__ = "exclusion_proposals"
    __table_args__ = (Index("ix_exclusion_academy_status", "academy_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    academy_id: Mapped[str] = mapped_column(String(64))
    phrase: Mapped[str] = mapped_column(String(200))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    proposed_by: Mapped[str] = mapped_column(String(320))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="proposed")  # |applied|rejected
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
