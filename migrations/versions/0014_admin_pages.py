"""Admin pages: one-time password reset codes, the forced new password, role changes a supervisor approves

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The values of cases.vocabulary.AccessKind and Role when this migration was written (migrations never import app code).
OLD_KINDS = "'supervisor', 'queues'"
KINDS = "'supervisor', 'queues', 'role'"
ROLES = "'caseworker', 'supervisor', 'admin'"


def upgrade():
    # Plain ADD COLUMNs (no batch rebuild of ``users``, which sessions and events reference).
    op.add_column("users", sa.Column("reset_code_hash", sa.String(200), nullable=True))
    op.add_column("users", sa.Column("reset_code_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "staff_sessions", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # Nothing references ``access_requests``: a batch rebuild (SQLite) to widen its CHECK is safe.
    with op.batch_alter_table("access_requests", recreate="auto") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=True))
        batch.drop_constraint(op.f("ck_access_requests_kind_values"), type_="check")
        batch.create_check_constraint(op.f("ck_access_requests_kind_values"), f"kind IN ({KINDS})")
        batch.create_check_constraint(op.f("ck_access_requests_role_values"), f"role IN ({ROLES})")


def downgrade():
    op.execute("DELETE FROM access_requests WHERE kind = 'role'")
    with op.batch_alter_table("access_requests", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_access_requests_role_values"), type_="check")
        batch.drop_constraint(op.f("ck_access_requests_kind_values"), type_="check")
        batch.create_check_constraint(op.f("ck_access_requests_kind_values"), f"kind IN ({OLD_KINDS})")
        batch.drop_column("role")
    op.drop_column("staff_sessions", "must_change_password")
    op.drop_column("users", "reset_code_expires_at")
    op.drop_column("users", "reset_code_hash")
