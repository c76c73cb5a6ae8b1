"""Queue pages filtered by category or region keep their order from an index

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ["is_open", "priority", "due_at", "id"]


def upgrade():
    op.create_index("ix_cases_queue_category", "cases", ["queue_id", "category", *COLUMNS])
    op.create_index("ix_cases_queue_region", "cases", ["queue_id", "region", *COLUMNS])


def downgrade():
    op.drop_index("ix_cases_queue_region", table_name="cases")
    op.drop_index("ix_cases_queue_category", table_name="cases")
