"""Keyed audit chains (the MAC key id of each event) and incremental checkpoints (Merkle frontier)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns without defaults: no row is rewritten, the append-only triggers stay out of it.
    op.add_column("events", sa.Column("key_id", sa.String(8), nullable=True))
    op.add_column("checkpoints", sa.Column("frontier", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("checkpoints", "frontier")
    op.drop_column("events", "key_id")
