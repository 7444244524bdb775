"""removal requests and their checks; the DPO's breach decisions

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-15 10:00:00.000000

Removal tracking (policy 11.2): a request per mention, re-checked through the guarded client.
The breach log: decisions on incidents, appended only (a later one supersedes, history kept).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.schema

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("academy_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("platform", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=500), nullable=True),
        sa.Column("reported_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_gone_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_removal_due", "removals", ["status", "next_check_at"], unique=False)
    op.create_index(op.f("ix_removals_mention_id"), "removals", ["mention_id"], unique=False)
    op.create_table(
        "removal_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("removal_id", sa.Integer(), nullable=False),
        sa.Column("at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["removal_id"], ["removals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_removal_checks_removal_id"), "removal_checks", ["removal_id"], unique=False
    )
    op.create_table(
        "breach_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("report_to_ico", sa.Boolean(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("people_told", sa.JSON(), nullable=False),
        sa.Column("timeline", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=False),
        sa.Column("decided_at", monitor.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_breach_decisions_incident_id"), "breach_decisions", ["incident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_breach_decisions_incident_id"), table_name="breach_decisions")
    op.drop_table("breach_decisions")
    op.drop_index(op.f("ix_removal_checks_removal_id"), table_name="removal_checks")
    op.drop_table("removal_checks")
    op.drop_index(op.f("ix_removals_mention_id"), table_name="removals")
    op.drop_index("ix_removal_due", table_name="removals")
    op.drop_table("removals")
