"""How a report reached the office: the intake channel of each case

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The values of cases.vocabulary.Channel when this migration was written (migrations never import app code).
CHANNELS = "'web', 'phone', 'in_person', 'letter', 'email'"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN: a batch rebuild of ``cases`` would trip over the events that reference it.
        op.execute(
            "ALTER TABLE cases ADD COLUMN channel VARCHAR(16) DEFAULT 'web' NOT NULL "
            f"CONSTRAINT ck_cases_channel_values CHECK (channel IN ({CHANNELS}))"
        )
    else:
        op.add_column("cases", sa.Column("channel", sa.String(16), nullable=False, server_default="web"))
        op.create_check_constraint("ck_cases_channel_values", "cases", f"channel IN ({CHANNELS})")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_cases_channel_values", "cases", type_="check")
    op.drop_column("cases", "channel")
