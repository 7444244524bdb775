"""evidence packs and the queue of urgent mentions waiting for one

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-20 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_packs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("created_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cut_at_deadline", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_evidence_packs_mention_id"), "evidence_packs", ["mention_id"], unique=False
    )
    op.create_table(
        "evidence_queue",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("mention_id"),
    )
    op.create_index(op.f("ix_evidence_queue_done_at"), "evidence_queue", ["done_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_queue_done_at"), table_name="evidence_queue")
    op.drop_table("evidence_queue")
    op.drop_index(op.f("ix_evidence_packs_mention_id"), table_name="evidence_packs")
    op.drop_table("evidence_packs")
