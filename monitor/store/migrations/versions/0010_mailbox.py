"""intake mailbox: processed messages and the quarantine

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 04:00:00.000000

Issue 14, intake item 2 (forwarded email). The lead re-chains down_revision at merge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("processed_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "uidvalidity", "uid", name="uq_mailbox_message_uid"),
    )
    op.create_index(
        "ix_mailbox_message_id", "mailbox_messages", ["account", "message_id"], unique=False
    )
    op.create_table(
        "mail_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=400), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("received_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "quarantined_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("released_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_mail_quarantine_status", "mail_quarantine", ["status", "quarantined_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_mail_quarantine_status", table_name="mail_quarantine")
    op.drop_table("mail_quarantine")
    op.drop_index("ix_mailbox_message_id", table_name="mailbox_messages")
    op.drop_table("mailbox_messages")
