"""The blind search index: keyed word stems of each case's encrypted texts

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_terms",
        sa.Column("term", sa.LargeBinary(16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_search_terms_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("term", "case_id", name=op.f("pk_search_terms")),
    )
    op.create_index("ix_search_terms_case", "search_terms", ["case_id"])


def downgrade():
    op.drop_index("ix_search_terms_case", table_name="search_terms")
    op.drop_table("search_terms")
