"""A version number of the routing rules, queues and category settings, moved by triggers

Workers keep these small tables in memory; one indexed read of this number per report tells
them whether an administrator changed anything since (from any instance, by any path).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES = ("routing_rules", "queues", "categories")
BUMP = (
    "INSERT INTO reference_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = reference_version.version + 1"
)


def upgrade():
    op.create_table(
        "reference_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_reference_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_version")),
    )
    op.execute("INSERT INTO reference_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for verb in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_version_{verb.lower()} AFTER {verb} ON {table} BEGIN {BUMP}; END"
                )
    else:
        op.execute(
            "CREATE FUNCTION reference_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION reference_version_bump()"
            )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_version_{verb}")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS reference_version_bump()")
    op.drop_table("reference_version")
