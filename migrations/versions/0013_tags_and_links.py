"""Tags supervisors keep, tags on cases, links between cases (related, duplicate of), and the
index that finds possible duplicates

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(32), nullable=False),
        sa.Column("name_kk", sa.String(80), nullable=False),
        sa.Column("name_ru", sa.String(80), nullable=False),
        sa.Column("name_en", sa.String(80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("slug", name=op.f("uq_tags_slug")),
    )
    op.create_table(
        "case_tags",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_tags_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_case_tags_tag_id_tags")),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_case_tags_added_by_users")),
        sa.PrimaryKeyConstraint("case_id", "tag_id", name=op.f("pk_case_tags")),
    )
    op.create_index("ix_case_tags_tag", "case_tags", ["tag_id", "case_id"])
    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("other_case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.CheckConstraint("kind IN ('related', 'duplicate_of')", name=op.f("ck_case_links_kind_values")),
        sa.CheckConstraint("case_id <> other_case_id", name=op.f("ck_case_links_not_itself")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["other_case_id"], ["cases.id"], name=op.f("fk_case_links_other_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_case_links_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_links_pair"),
    )
    op.create_index("ix_case_links_other", "case_links", ["other_case_id", "case_id"])
    op.create_index("ix_cases_duplicates", "cases", ["category", "region", "created_at"])


def downgrade():
    op.drop_index("ix_cases_duplicates", table_name="cases")
    op.drop_index("ix_case_links_other", table_name="case_links")
    op.drop_table("case_links")
    op.drop_index("ix_case_tags_tag", table_name="case_tags")
    op.drop_table("case_tags")
    op.drop_table("tags")
