"""Grants of case access asked for by an administrator wait for a supervisor

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("queues", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.CheckConstraint("kind IN ('supervisor', 'queues')", name=op.f("ck_access_requests_kind_values")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_access_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_access_requests_requested_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_access_requests_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index(op.f("ix_access_requests_user_id"), "access_requests", ["user_id"])
    op.create_index("ix_access_requests_pending", "access_requests", ["decided_at", "id"])


def downgrade():
    op.drop_index("ix_access_requests_pending", table_name="access_requests")
    op.drop_index(op.f("ix_access_requests_user_id"), table_name="access_requests")
    op.drop_table("access_requests")
