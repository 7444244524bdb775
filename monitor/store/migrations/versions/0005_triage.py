"""triage: mention owner, the mention_events timeline, author/thread mutes, inbox index

Revision ID: 0005
Revises: 0006
Create Date: 2027-01-10 10:00:00.000000

The status stays in mentions.triage (new | acknowledged | action_taken | closed); rows written
before this revision are "new", which they already say.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=320), nullable=True))
        batch_op.create_index("ix_mention_inbox_status", ["organisation", "triage"], unique=False)
    op.create_table(
        "mention_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_mention_event_mention", "mention_events", ["mention_id", "id"], unique=False
    )
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("by", sa.String(length=320), nullable=False),
        sa.Column("at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("academy_id", "kind", "key", name="uq_mute"),
    )


def downgrade() -> None:
    op.drop_table("mutes")
    op.drop_index("ix_mention_event_mention", table_name="mention_events")
    op.drop_table("mention_events")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mention_inbox_status")
        batch_op.drop_column("owner")
