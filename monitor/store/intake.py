"""Intake rows: reports people sent in with their screenshots (kept as evidence), each academy's
intake link (the SHA-256 of its secret), and the submissions through a link (its rate limit).

A report is written in the same transaction as the mention it made (`add_report` on the `Tx`),
so a mention from a report never exists without who reported it and what they sent. Reports and
images go with their mention (foreign keys ON DELETE CASCADE): erasure and retention need no
extra step here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.schema import (
    IntakeHitRecord,
    IntakeImageRecord,
    IntakeLinkRecord,
    IntakeReportRecord,
)

RATE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class NewImage:
    name: str
    content_type: str
    sha256: str
    width: int
    height: int
    data: bytes
    ocr_text: str
    post_text: str
    chrome_lines: tuple[str, ...]
    ocr_error: str | None = None


@dataclass(frozen=True)
class NewReport:
    academy_id: str
    source: str
    reporter: str
    url: str | None
    seen_where: str
    note: str
    text: str
    fetch_error: str | None
    mention_id: int | None
    outcome: str  # stored | duplicate
    original: bytes | None
    received_at: datetime
    images: tuple[NewImage, ...] = ()


@dataclass(frozen=True)
class StoredImage:
    id: int
    name: str
    content_type: str
    sha256: str
    size: int
    width: int
    height: int
    post_text: str
    chrome_lines: tuple[str, ...]
    ocr_error: str | None


@dataclass(frozen=True)
class StoredReport:
    id: int
    academy_id: str
    source: str
    reporter: str
    url: str | None
    seen_where: str
    note: str
    fetch_error: str | None
    mention_id: int | None
    outcome: str
    received_at: datetime
    images: tuple[StoredImage, ...]
    has_original: bool


def add_report(session: Session, r: NewReport) -> int:
    rec = IntakeReportRecord(
        academy_id=r.academy_id,
        source=r.source,
        reporter=r.reporter[:320],
        url=r.url,
        seen_where=r.seen_where,
        note=r.note,
        text=r.text,
        fetch_error=r.fetch_error,
        mention_id=r.mention_id,
        outcome=r.outcome,
        original=r.original,
        received_at=r.received_at,
    )
    session.add(rec)
    session.flush()
    for i, img in enumerate(r.images):
        session.add(
            IntakeImageRecord(
                report_id=rec.id,
                position=i,
                name=img.name[:255],
                content_type=img.content_type,
                sha256=img.sha256,
                size=len(img.data),
                width=img.width,
                height=img.height,
                data=img.data,
                ocr_text=img.ocr_text,
                post_text=img.post_text,
                chrome_lines=list(img.chrome_lines),
                ocr_error=img.ocr_error,
            )
        )
    session.flush()
    return rec.id


def _image(rec: IntakeImageRecord) -> StoredImage:
    return StoredImage(
        rec.id,
        rec.name,
        rec.content_type,
        rec.sha256,
        rec.size,
        rec.width,
        rec.height,
        rec.post_text,
        tuple(rec.chrome_lines or ()),
        rec.ocr_error,
    )


def reports_for_mention(session: Session, mention_id: int) -> list[StoredReport]:
    """Every report that made or repeated this mention, oldest first (who reported it, where)."""
    recs = session.scalars(
        select(IntakeReportRecord)
        .where(IntakeReportRecord.mention_id == mention_id)
        .order_by(IntakeReportRecord.id)
    ).all()
    out = []
    for rec in recs:
        images = session.scalars(
            select(IntakeImageRecord)
            .where(IntakeImageRecord.report_id == rec.id)
            .order_by(IntakeImageRecord.position)
        ).all()
        out.append(
            StoredReport(
                rec.id,
                rec.academy_id,
                rec.source,
                rec.reporter,
                rec.url,
                rec.seen_where,
                rec.note,
                rec.fetch_error,
                rec.mention_id,
                rec.outcome,
                rec.received_at,
                tuple(_image(i) for i in images),
                rec.original is not None,
            )
        )
    return out


def image_data(session: Session, image_id: int) -> bytes | None:
    return session.scalar(select(IntakeImageRecord.data).where(IntakeImageRecord.id == image_id))


def original_data(session: Session, report_id: int) -> bytes | None:
    """The original message a report came with (a forwarded mail), for its evidence pack."""
    return session.scalar(
        select(IntakeReportRecord.original).where(IntakeReportRecord.id == report_id)
    )


class IntakeLinks:
    """Each academy's intake link and its rate limit (`Store.intake`)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def set_link(self, academy_id: str, secret_hash: str, now: datetime) -> None:
        """Give the academy this link, replacing (and so invalidating) any earlier one."""
        with self._sessions() as session, session.begin():
            session.merge(
                IntakeLinkRecord(academy_id=academy_id, secret_hash=secret_hash, created_at=now)
            )

    def has_link(self, academy_id: str) -> bool:
        with self._sessions() as session:
            return session.get(IntakeLinkRecord, academy_id) is not None

    def academy_for(self, secret_hash: str) -> str | None:
        with self._sessions() as session:
            return session.scalar(
                select(IntakeLinkRecord.academy_id).where(
                    IntakeLinkRecord.secret_hash == secret_hash
                )
            )

    def take_submission(self, link_hash: str, now: datetime, per_hour: int) -> bool:
        """Count one submission through a link if it has had fewer than `per_hour` in the last
        hour (True), else count nothing (False: the caller refuses it). Older rows are removed."""
        since = now - RATE_WINDOW
        with self._sessions() as session, session.begin():
            session.execute(delete(IntakeHitRecord).where(IntakeHitRecord.at < since))
            n = session.scalar(
                select(func.count())
                .select_from(IntakeHitRecord)
                .where(IntakeHitRecord.link_hash == link_hash, IntakeHitRecord.at >= since)
            )
            if (n or 0) >= per_hour:
                return False
            session.add(IntakeHitRecord(link_hash=link_hash, at=now))
            return True

    def reports_for_mention(self, mention_id: int) -> list[StoredReport]:
        with self._sessions() as session:
            return reports_for_mention(session, mention_id)

    def image_data(self, image_id: int) -> bytes | None:
        with self._sessions() as session:
            return image_data(session, image_id)

    def original_data(self, report_id: int) -> bytes | None:
        with self._sessions() as session:
            return original_data(session, report_id)
