"""source leases: one run per source at a time, enforced by the database

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00.000000

Replaces the in-process "is this source running?" dictionary, so that any number of processes
(the APScheduler service, `collect --once`, Procrastinate workers) can share one database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_leases",
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("taken_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_key"),
    )


def downgrade() -> None:
    op.drop_table("source_leases")
