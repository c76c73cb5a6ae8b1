"""The reporter's language on each case, and reply templates supervisors manage

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The languages of i18n.LANGUAGES and its default when this migration was written (migrations never import app code).
LANGUAGES = "'kk', 'ru', 'en'"
DEFAULT = "kk"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN: a batch rebuild of ``cases`` would trip over the events that reference it.
        op.execute(
            f"ALTER TABLE cases ADD COLUMN language VARCHAR(8) DEFAULT '{DEFAULT}' NOT NULL "
            f"CONSTRAINT ck_cases_language_values CHECK (language IN ({LANGUAGES}))"
        )
    else:
        op.add_column("cases", sa.Column("language", sa.String(8), nullable=False, server_default=DEFAULT))
        op.create_check_constraint("ck_cases_language_values", "cases", f"language IN ({LANGUAGES})")
    op.create_table(
        "reply_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"language IN ({LANGUAGES})", name=op.f("ck_reply_templates_language_values")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_reply_templates_created_by_users")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_reply_templates_updated_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
        sa.UniqueConstraint("language", "name", name=op.f("uq_reply_templates_language_name")),
    )
    op.create_index("ix_reply_templates_list", "reply_templates", ["active", "language", "name"])


def downgrade():
    op.drop_index("ix_reply_templates_list", table_name="reply_templates")
    op.drop_table("reply_templates")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_cases_language_values", "cases", type_="check")
    op.drop_column("cases", "language")
