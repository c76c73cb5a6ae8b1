"""Server-side tracking sessions: the reporter's cookie holds only an opaque token

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tracking_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_tracking_sessions_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_sessions")),
    )
    op.create_index(op.f("ix_tracking_sessions_case_id"), "tracking_sessions", ["case_id"])


def downgrade():
    op.drop_index(op.f("ix_tracking_sessions_case_id"), table_name="tracking_sessions")
    op.drop_table("tracking_sessions")
