"""When the reporter got a first response: the first-response clock stops there

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch rebuild of ``cases``: the events reference it).
    op.add_column("cases", sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
    # Cases already answered: the first message to the reporter, referral or rejection in their history.
    op.execute(
        """
        UPDATE cases SET first_response_at = (
            SELECT min(events.created_at) FROM events
            WHERE events.chain_id = cases.id
              AND (events.action = 'message_sent'
                   OR (events.action = 'status' AND events.new_value IN ('referred', 'rejected')))
        )
        """
    )


def downgrade():
    op.drop_column("cases", "first_response_at")
