"""``audit verify`` reads plain rows and builds each event's message itself: the bytes must be
exactly those hashed when the event was written, and a value of the wrong type must not pass."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from cases import audit, audit_rows, commands
from cases.models import Event
from storage import db
from tests.helpers import report

AWKWARD = [
    'He said "stop" \\ and left',
    "Line one\nline two\ttabbed\r",
    "Қазақша мәтін — ұзақ сызықша, «тырнақша»",
    "Русский текст ё Ё",
    "control \x01\x1f and \u2028 separators",
    "emoji 🙂 and a NUL-free end",
]


def rows() -> list:
    return [row for batch in audit_rows.batches(db.session, 7) for row in batch]


def test_every_kind_of_event_gives_the_bytes_it_was_hashed_with(app, make_case, make_user):
    worker, sup = make_user("caseworker", ["general"]), make_user("supervisor")
    case = make_case(narrative="Ordinary narrative, long enough to be accepted.").case
    commands.claim(case.id, worker)
    for body in AWKWARD:
        commands.add_note(case.id, worker, body)
    commands.change_status(case.id, worker, "triage")
    commands.assign(case.id, sup, None, reason=AWKWARD[0] + AWKWARD[2])
    db.session.expire_all()
    events = {e.id: e for e in db.session.scalars(select(Event))}
    read = rows()
    assert [r[0] for r in read] == sorted(events) and len(read) > 10
    for row in read:
        expected = audit.canonical_json(audit.event_fields(events[row[0]]))
        assert audit_rows.canonical(row) == expected, row
    assert audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key()).intact


@pytest.mark.parametrize(
    ("column", "index", "value"),
    [("seq", 3, "1"), ("chain_id", 1, "1"), ("new_value", 9, 5), ("actor_id", 6, True)],
    ids=["seq as text", "chain as text", "number as new value", "boolean actor"],
)
def test_a_value_of_another_type_does_not_give_the_same_bytes(app, column, index, value):
    commands.file_report(report(), app.extensions["shagym_receipt_key"])
    original = rows()[0]
    tampered = list(original)
    tampered[index] = value
    assert audit_rows.canonical(tuple(tampered)) != audit_rows.canonical(original)


def test_a_timestamp_in_another_form_is_read_like_the_orm_reads_it(app):
    """PostgreSQL hands back datetimes, SQLite text; text without microseconds takes the general path."""
    commands.file_report(report(), app.extensions["shagym_receipt_key"])
    row = list(rows()[0])
    event = db.session.get(Event, row[0])
    expected = audit.canonical_json(audit.event_fields(event))
    row[4] = event.created_at
    assert audit_rows.canonical(tuple(row)) == expected
    assert audit_rows.iso(event.created_at.replace(microsecond=0).isoformat()) == audit._iso(
        event.created_at.replace(microsecond=0)
    )


def test_verify_reports_progress_after_each_batch(app, make_case, monkeypatch, runner):
    for _ in range(4):
        make_case()
    monkeypatch.setattr(audit, "VERIFY_BATCH", 3)
    seen: list[int] = []
    result = audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key(), progress=seen.append)
    assert result.intact and seen == [3, 6, 8]
    output = runner.invoke(args=["audit", "verify"]).output
    assert "verifying:" not in output  # not a terminal: no progress line in logs or pipes
    assert "8 event(s) after the newest checkpoint" in output


def test_the_rows_are_read_in_the_callers_transaction_without_touching_its_objects(app, make_case, make_user):
    make_case()
    user = make_user("caseworker", ["general"])
    db.session.commit()
    assert len(rows()) == 2
    assert user.email.startswith("caseworker")
    db.session.execute(text("SELECT 1"))  # the session is still usable


def test_the_query_names_the_columns_in_the_order_they_are_unpacked():
    assert audit_rows._SQL.split("SELECT ")[1].split(" FROM")[0].split(", ") == list(audit_rows.COLUMNS)
