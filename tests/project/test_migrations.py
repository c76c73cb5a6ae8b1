"""The migrations build exactly the models' schema, and audit events cannot be changed or removed."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from cases.models import Event
from storage import db
from tests.helpers import assert_append_only


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    # The ``app`` fixture's database was built by running the migrations, never by create_all().
    assert schema_differences() == []


def test_migrations_have_one_head_and_the_database_is_at_it(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    heads = script.get_heads()
    assert len(heads) == 1
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)


def test_downgrade_and_upgrade_round_trip(app):
    directory = app.extensions["migrate"].directory
    db.session.remove()
    try:
        downgrade(directory=directory, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    finally:
        upgrade(directory=directory)
    assert schema_differences() == []
    assert "events" in inspect(db.engine).get_table_names()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET action = 'nothing' WHERE id = :id",
        "UPDATE events SET details = NULL WHERE id = :id",
        "DELETE FROM events WHERE id = :id",
        "DELETE FROM events",
    ],
)
def test_audit_events_are_append_only(app, make_case, statement):
    case = make_case().case
    event_id = db.session.scalar(db.select(Event.id).where(Event.case_id == case.id).order_by(Event.id))
    assert_append_only(statement, {"id": event_id})
    events = db.session.scalars(db.select(Event).where(Event.case_id == case.id).order_by(Event.seq)).all()
    assert [e.action for e in events] == ["created", "routed"]


def test_audit_events_cannot_be_truncated_on_postgresql(app, make_case):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE trigger is tested above")
    make_case()
    assert_append_only("TRUNCATE events CASCADE")
    assert db.session.scalar(text("SELECT count(*) FROM events")) == 2


def test_append_only_triggers_exist(app):
    if db.engine.dialect.name == "sqlite":
        names = set(
            db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"))
        )
        assert {"events_no_update", "events_no_delete"} <= names
    else:
        names = set(
            db.session.scalars(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal")
            )
        )
        assert {"events_append_only", "events_no_truncate"} <= names


def test_inserting_events_still_works(app, make_case):
    make_case()
    make_case()
    assert db.session.scalar(text("SELECT count(*) FROM events")) == 4
