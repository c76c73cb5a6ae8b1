"""The register of institutions (places and bodies complained about), cases linked to them, and
the keyed name terms that suggest them from a case's place text

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

KINDS = ("police", "ivs", "sizo", "colony", "school", "childrens_home", "psychiatric", "social_care", "other")


def upgrade():
    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_kk", sa.String(200), nullable=True),
        sa.Column("name_ru", sa.String(200), nullable=True),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name=op.f("ck_institutions_kind_values")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
    )
    op.create_index("ix_institutions_region", "institutions", ["region", "name"])
    op.create_table(
        "case_institutions",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_institutions_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institutions.id"], name=op.f("fk_case_institutions_institution_id_institutions")
        ),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_case_institutions_added_by_users")),
        sa.PrimaryKeyConstraint("case_id", "institution_id", name=op.f("pk_case_institutions")),
    )
    op.create_index("ix_case_institutions_institution", "case_institutions", ["institution_id", "case_id"])
    op.create_table(
        "institution_terms",
        sa.Column("term", sa.LargeBinary(16), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_institution_terms_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "institution_id", name=op.f("pk_institution_terms")),
    )
    op.create_index("ix_institution_terms_institution", "institution_terms", ["institution_id"])


def downgrade():
    op.drop_index("ix_institution_terms_institution", table_name="institution_terms")
    op.drop_table("institution_terms")
    op.drop_index("ix_case_institutions_institution", table_name="case_institutions")
    op.drop_table("case_institutions")
    op.drop_index("ix_institutions_region", table_name="institutions")
    op.drop_table("institutions")
