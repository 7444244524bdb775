"""intake: reported links, screenshots and forwarded mail; per-academy intake links

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-20 10:00:00.000000

Reports people send in (monitor/intake.py) with the screenshots kept as evidence, the hashed
secret of each academy's intake link, and the submissions through a link (its rate limit).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("reporter", sa.String(length=320), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("seen_where", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fetch_error", sa.Text(), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("original", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_intake_report_academy", "intake_reports", ["academy_id", "received_at"], unique=False
    )
    op.create_index(
        op.f("ix_intake_reports_mention_id"), "intake_reports", ["mention_id"], unique=False
    )
    op.create_table(
        "intake_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("ocr_text", sa.Text(), nullable=False),
        sa.Column("post_text", sa.Text(), nullable=False),
        sa.Column("chrome_lines", sa.JSON(), nullable=False),
        sa.Column("ocr_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["intake_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_intake_images_report_id"), "intake_images", ["report_id"], unique=False
    )
    op.create_table(
        "intake_links",
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("academy_id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_table(
        "intake_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_intake_hit_link", "intake_hits", ["link_hash", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_intake_hit_link", table_name="intake_hits")
    op.drop_table("intake_hits")
    op.drop_table("intake_links")
    op.drop_index(op.f("ix_intake_images_report_id"), table_name="intake_images")
    op.drop_table("intake_images")
    op.drop_index(op.f("ix_intake_reports_mention_id"), table_name="intake_reports")
    op.drop_index("ix_intake_report_academy", table_name="intake_reports")
    op.drop_table("intake_reports")
