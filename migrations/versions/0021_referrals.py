"""Partner bodies and referrals of cases to them (letter, basis, consent, answer)

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

KINDS = "kind IN ('state_body', 'npm', 'commissioner', 'ngo', 'other_body')"


def upgrade():
    op.create_table(
        "partner_bodies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_kk", sa.String(200), nullable=False),
        sa.Column("name_ru", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("answer_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_partner_bodies_kind_values")),
        sa.CheckConstraint("answer_days BETWEEN 1 AND 120", name=op.f("ck_partner_bodies_answer_days_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_bodies")),
    )
    op.create_index("ix_partner_bodies_list", "partner_bodies", ["active", "name_en"])
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("legal_duty", sa.Text(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("tell_reporter", sa.Boolean(), nullable=False),
        sa.Column("letter_narrative", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("consent", sa.String(8), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("letter_number", sa.String(40), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("sent_by", sa.Integer(), nullable=True),
        sa.Column("letter_sha256", sa.String(64), nullable=True),
        sa.Column("answer_due", sa.Date(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answer_number", sa.String(40), nullable=True),
        sa.Column("answer_summary", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'sent', 'answered', 'withdrawn')", name=op.f("ck_referrals_state_values")
        ),
        sa.CheckConstraint(
            "basis IN ('consent', 'deidentified', 'legal_duty')", name=op.f("ck_referrals_basis_values")
        ),
        sa.CheckConstraint("language IN ('kk', 'ru', 'en')", name=op.f("ck_referrals_language_values")),
        sa.CheckConstraint("consent IN ('yes', 'no')", name=op.f("ck_referrals_consent_values")),
        sa.CheckConstraint(
            "outcome IN ('investigation', 'action_taken', 'no_violation', 'declined', 'forwarded', 'other')",
            name=op.f("ck_referrals_outcome_values"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner_bodies.id"], name=op.f("fk_referrals_partner_id_partner_bodies")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_referrals_created_by_users")),
        sa.ForeignKeyConstraint(["sent_by"], ["users.id"], name=op.f("fk_referrals_sent_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("letter_number", name=op.f("uq_referrals_letter_number")),
    )
    op.create_index("ix_referrals_case", "referrals", ["case_id", "id"])
    op.create_index("ix_referrals_waiting", "referrals", ["state", "answer_due"])
    op.create_index("ix_referrals_sent", "referrals", ["sent_on", "partner_id"])


def downgrade():
    op.drop_index("ix_referrals_sent", table_name="referrals")
    op.drop_index("ix_referrals_waiting", table_name="referrals")
    op.drop_index("ix_referrals_case", table_name="referrals")
    op.drop_table("referrals")
    op.drop_index("ix_partner_bodies_list", table_name="partner_bodies")
    op.drop_table("partner_bodies")
