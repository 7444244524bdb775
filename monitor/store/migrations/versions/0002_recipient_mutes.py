"""recipient mutes: a click mutes the digest only; urgent alerts are muted per academy by an admin

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

A configured recipient who unsubscribed before this revision had every email stopped by one click
(possibly a mail scanner's). Their unsubscribe now means what a click means from here on: the
digest is muted, urgent alerts come again. `mention-monitor recipients` shows and changes it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "digest_muted_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("urgent_muted", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE subscribers SET status = 'active', digest_muted_at = unsubscribed_at, "
        "unsubscribed_at = NULL WHERE role = 'recipient' AND status = 'unsubscribed'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = digest_muted_at "
        "WHERE role = 'recipient' AND digest_muted_at IS NOT NULL"
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("urgent_muted")
        batch_op.drop_column("digest_muted_at")
