"""Wrong second-factor codes counted per account and hour, whatever the limiter storage

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no batch rebuild of ``users``, which sessions and events reference).
    op.add_column("users", sa.Column("second_factor_failures", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("users", sa.Column("second_factor_window_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("users", "second_factor_window_at")
    op.drop_column("users", "second_factor_failures")
