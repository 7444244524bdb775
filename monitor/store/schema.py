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
