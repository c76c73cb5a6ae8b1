"""Evidence bytes per day, for the site-wide daily quota

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evidence_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_evidence_days")),
    )


def downgrade():
    op.drop_table("evidence_days")
