"""Staff pages that only read never take the writer lock (SQLite) or lock rows (PostgreSQL).

The threat: one member of staff browsing the queue serialises every reporter's report behind
their page views, or a long write (a checkpoint, a bulk action) freezes every staff page.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

import storage
from cases.models import Case, StaffSession
from storage import db

READ_PAGES = ("/staff/", "/staff/queues/general", "/staff/queues/general?sort=due", "/staff/search?q=police")


@pytest.fixture
def reader(app, staff, make_case):
    for _ in range(3):
        make_case()
    client, user = staff("caseworker", ["general"])
    db.session.remove()  # the request begins its own transaction, not one left open by the set-up
    return client, user


def _statements(app):
    seen: list[str] = []

    def spy(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", spy)


def _intents():
    """The write intent each transaction began with (the engine's own begin hook reads the same flag)."""
    seen: list[bool] = []

    def spy(_conn):
        seen.append(storage._write_intent.get())

    event.listen(db.engine, "begin", spy)
    return seen, lambda: event.remove(db.engine, "begin", spy)


@pytest.mark.parametrize("path", READ_PAGES)
def test_a_staff_page_that_reads_begins_read_transactions_and_locks_no_row(app, reader, path):
    client, _user = reader
    intents, stop_intents = _intents()
    statements, stop_statements = _statements(app)
    try:
        response = client.get(path)
    finally:
        stop_intents()
        stop_statements()
    assert response.status_code == 200
    assert intents and not any(intents), f"{path} began a write transaction"
    assert not [s for s in statements if "FOR UPDATE" in s.upper() or "BEGIN IMMEDIATE" in s.upper()]


def test_a_post_still_begins_a_write_transaction(app, reader, make_case):
    client, _user = reader
    case_id = make_case().case.id
    db.session.remove()
    intents, stop = _intents()
    try:
        response = client.post(f"/staff/cases/{case_id}/claim", data={"version": "1"})
    finally:
        stop()
    assert response.status_code == 302
    assert intents and intents[0] is True
    assert db.session.get(Case, case_id).assignee_id == _user.id


def _answers_while_locked(app, client, paths, seconds: float = 10) -> dict[str, int]:
    """GET each path while another connection holds SQLite's write lock; the statuses answered in time."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")
    answered: dict[str, int] = {}

    def browse():
        for p in paths:
            answered[p] = client.get(p).status_code

    try:
        thread = threading.Thread(target=browse, daemon=True)
        thread.start()
        thread.join(timeout=seconds)
    finally:
        writer.rollback()
        writer.close()
    thread.join(timeout=60)
    return answered


def test_staff_pages_answer_while_another_connection_holds_the_write_lock(app, reader):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    client, _user = reader
    answered = _answers_while_locked(app, client, READ_PAGES)
    assert answered == dict.fromkeys(READ_PAGES, 200)


def test_the_idle_clock_is_moved_later_when_a_writer_holds_the_lock(app, reader):
    """A session due for its idle-clock update still gets its page at once; the clock moves on
    the next request instead of the page waiting for the busy timeout."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    client, user = reader
    stale = datetime.now(UTC) - timedelta(minutes=5)
    db.session.execute(update(StaffSession).where(StaffSession.user_id == user.id).values(last_seen_at=stale))
    db.session.commit()
    db.session.remove()
    answered = _answers_while_locked(app, client, ["/staff/queues/general"])
    assert answered == {"/staff/queues/general": 200}
    seen = db.session.scalar(select(StaffSession.last_seen_at).where(StaffSession.user_id == user.id))
    assert seen.replace(tzinfo=UTC) - stale < timedelta(seconds=1), "written while the lock was held?"
    db.session.remove()
    assert client.get("/staff/queues/general").status_code == 200
    seen = db.session.scalar(select(StaffSession.last_seen_at).where(StaffSession.user_id == user.id))
    assert seen.replace(tzinfo=UTC) > stale + timedelta(minutes=4)
