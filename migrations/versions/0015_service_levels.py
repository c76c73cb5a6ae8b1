"""Service levels: a resolution target per category and per case, when a case left the open
statuses, when it was escalated, how often it was reopened; saved queue views; treaty provisions
for statistics; indexes for the queue's other orders and the dashboard

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The starting targets (working days); administrators change them on the service-levels page.
RESOLUTION_WORKING_DAYS = {"torture": 10, "life": 10}
DEFAULT_RESOLUTION_WORKING_DAYS = 15


def upgrade():
    op.add_column("categories", sa.Column("resolution_working_days", sa.Integer(), nullable=True))
    categories = sa.table("categories", sa.column("slug", sa.String), sa.column("resolution_working_days", sa.Integer))
    op.execute(categories.update().values(resolution_working_days=DEFAULT_RESOLUTION_WORKING_DAYS))
    for slug, days in RESOLUTION_WORKING_DAYS.items():
        op.execute(categories.update().where(categories.c.slug == slug).values(resolution_working_days=days))
    # Plain ADD COLUMNs (no batch rebuild of ``cases``: the events reference it). Cases filed
    # before this revision have no resolution target: none was promised when they came in.
    op.add_column("cases", sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("reopened", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE cases SET resolved_at = COALESCE(finished_at, updated_at) WHERE is_open = false")
    op.create_index("ix_cases_queue_due", "cases", ["queue_id", "is_open", "due_at", "id"])
    op.create_index("ix_cases_queue_age", "cases", ["queue_id", "is_open", "created_at", "id"])
    op.create_index("ix_cases_open_due", "cases", ["is_open", "due_at"])
    op.create_index("ix_cases_open_resolution", "cases", ["is_open", "resolution_due_at"])
    op.create_index("ix_cases_created", "cases", ["created_at"])
    op.create_index("ix_cases_resolved", "cases", ["resolved_at"])
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_saved_views_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),
    )


    op.create_table(
        "treaty_provisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treaty", sa.String(length=16), nullable=False),
        sa.Column("article", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treaty_provisions")),
        sa.UniqueConstraint("treaty", "article", name="uq_treaty_provisions_article"),
    )
    op.create_table(
        "category_provisions",
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("provision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category"],
            ["categories.slug"],
            name=op.f("fk_category_provisions_category_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provision_id"],
            ["treaty_provisions.id"],
            name=op.f("fk_category_provisions_provision_id_treaty_provisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("category", "provision_id", name=op.f("pk_category_provisions")),
    )


def downgrade():
    op.drop_table("category_provisions")
    op.drop_table("treaty_provisions")
    op.drop_table("saved_views")
    for name in (
        "ix_cases_resolved",
        "ix_cases_created",
        "ix_cases_open_resolution",
        "ix_cases_open_due",
        "ix_cases_queue_age",
        "ix_cases_queue_due",
    ):
        op.drop_index(name, table_name="cases")
    for column in ("reopened", "escalated_at", "resolved_at", "resolution_due_at"):
        op.drop_column("cases", column)
    op.drop_column("categories", "resolution_working_days")
