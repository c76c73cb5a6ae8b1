"""Daily roll-ups of the supervisors' dashboard: counts per day and cell, time histograms per day
and per block of sixteen days, the days and blocks rolled up; the index that finds cases changed
since a day was rolled up, and a partial index of the open cases for the open-now figures

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


OPEN_NOW_COLUMNS = (
    "queue_id",
    "assignee_id",
    "status",
    "due_at",
    "first_response_at",
    "resolution_due_at",
    "category",
    "region",
    "channel",
    "priority",
    "is_open",
)
COUNTS = (
    "received",
    "reopened",
    "on_time",
    "outcome_open",
    "outcome_referred",
    "outcome_resolved",
    "outcome_closed",
    "outcome_rejected",
    "resolved_on_day",
)


def cell():
    """The filters' columns of a roll-up row (fresh Column objects for each table)."""
    return [
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
    ]


def upgrade():
    op.create_table(
        "dashboard_rollup_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_dashboard_rollup_days")),
    )

    op.create_table(
        "dashboard_rollup_blocks",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_dashboard_rollup_blocks")),
    )
    op.create_table(
        "dashboard_rollups",
        sa.Column("scope", sa.String(length=16), nullable=False),
        *cell(),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint(
            "scope", "queue_id", "category", "region", "channel", "priority", "day", name=op.f("pk_dashboard_rollups")
        ),
    )
    op.create_index("ix_dashboard_rollups_day", "dashboard_rollups", ["day"])
    op.create_table(
        "dashboard_rollup_times",
        sa.Column("scope", sa.String(length=16), nullable=False),
        *cell(),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('first', 'resolution')", name=op.f("ck_dashboard_rollup_times_kind_values")),
        sa.CheckConstraint("span IN (1, 16)", name=op.f("ck_dashboard_rollup_times_span_values")),
        sa.PrimaryKeyConstraint(
            "scope",
            "queue_id",
            "category",
            "region",
            "channel",
            "priority",
            "span",
            "day",
            "kind",
            "hours",
            name=op.f("pk_dashboard_rollup_times"),
        ),
    )
    op.create_index("ix_dashboard_rollup_times_day", "dashboard_rollup_times", ["day"])
    op.create_index("ix_cases_updated", "cases", ["updated_at"])
    op.create_index(
        "ix_cases_open_now",
        "cases",
        list(OPEN_NOW_COLUMNS),
        sqlite_where=sa.text("is_open = 1"),
        postgresql_where=sa.text("is_open"),
    )


def downgrade():
    op.drop_index("ix_cases_open_now", table_name="cases")
    op.drop_index("ix_cases_updated", table_name="cases")
    op.drop_index("ix_dashboard_rollup_times_day", table_name="dashboard_rollup_times")
    op.drop_table("dashboard_rollup_times")
    op.drop_index("ix_dashboard_rollups_day", table_name="dashboard_rollups")
    op.drop_table("dashboard_rollups")
    op.drop_table("dashboard_rollup_blocks")
    op.drop_table("dashboard_rollup_days")
