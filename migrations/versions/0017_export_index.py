"""Exports read a queue's cases in id order, in batches, from an index

Revision ID: 0017
Revises: 0015
"""

from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_cases_queue_id", "cases", ["queue_id", "id"])


def downgrade():
    op.drop_index("ix_cases_queue_id", table_name="cases")
