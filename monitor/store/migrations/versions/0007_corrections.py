"""corrections as labelled examples, and matcher-exclusion proposals

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-15 10:00:00.000000

A person's "wrong categories" / "not about us" on a mention is stored as a labelled example
(deleted with the mention: erasure and retention cascade), and "not about us" proposes a matcher
exclusion that an admin applies or rejects.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("has_media", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=True),
        sa.Column("made_by", sa.String(length=320), nullable=False),
        sa.Column("made_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_correction_academy", "corrections", ["academy_id", "made_at"])
    op.create_index(op.f("ix_corrections_mention_id"), "corrections", ["mention_id"])
    op.create_table(
        "exclusion_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=320), nullable=False),
        sa.Column("proposed_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exclusion_academy_status", "exclusion_proposals", ["academy_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_exclusion_academy_status", table_name="exclusion_proposals")
    op.drop_table("exclusion_proposals")
    op.drop_index(op.f("ix_corrections_mention_id"), table_name="corrections")
    op.drop_index("ix_correction_academy", table_name="corrections")
    op.drop_table("corrections")
