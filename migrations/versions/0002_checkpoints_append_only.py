"""Signed checkpoints are append-only too

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER checkpoints_no_{verb.lower()} BEFORE {verb} ON checkpoints "
                "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints "
            "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints "
            "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_update")
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_truncate ON checkpoints")
        op.execute("DROP TRIGGER IF EXISTS checkpoints_append_only ON checkpoints")
