"""The audit trail as it is written: one event per action with the right fields, nothing for
a refused action, and append-only in the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from cases import audit, commands
from cases.models import Event, Message
from storage import db
from tests.helpers import assert_append_only, chain

# --- one event per action ------------------------------------------------------------


@pytest.fixture
def people(app, make_user, login_as):
    worker_client, worker = login_as("caseworker", ["general"])
    sup_client, sup = login_as("supervisor")
    return {
        "worker": (worker_client, worker),
        "supervisor": (sup_client, sup),
        "colleague": make_user("caseworker", ["general"]),
    }


def _claimed(case, people):
    commands.claim(case.id, people["worker"][1])


def _waiting(case, people):
    commands.change_status(case.id, people["worker"][1], "triage")


class ExpectedEvent(NamedTuple):
    """The event an action must write; ``{worker}``, ``{colleague}`` and ``{message}`` stand for ids."""

    action: str
    old: str | None = None
    new: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Action:
    """A staff action on a case through the pages: who, how, and the one event it writes."""

    id: str
    actor: str  # a key of ``people``
    method: str
    path: str  # after /staff/cases/<id>
    form: dict
    event: ExpectedEvent
    setup: Callable | None = field(default=None)  # (case, people) -> None, before the action


ACTIONS = [
    Action("claim", "worker", "post", "/claim", {"version": "1"}, ExpectedEvent("assigned", new="{worker}")),
    Action(
        "assign",
        "supervisor",
        "post",
        "/assign",
        {"assignee": "{colleague}", "reason": "Speaks Kazakh"},
        ExpectedEvent("assigned", new="{colleague}", reason="Speaks Kazakh"),
    ),
    Action(
        "reassign",
        "supervisor",
        "post",
        "/assign",
        {"assignee": "{colleague}", "reason": "Workload"},
        ExpectedEvent("assigned", "{worker}", "{colleague}", "Workload"),
        setup=_claimed,
    ),
    Action(
        "unassign",
        "supervisor",
        "post",
        "/assign",
        {"assignee": "", "reason": "On leave"},
        ExpectedEvent("unassigned", old="{worker}", reason="On leave"),
        setup=_claimed,
    ),
    Action("status", "worker", "post", "/status", {"target": "triage"}, ExpectedEvent("status", "new", "triage")),
    Action(
        "status_with_reason",
        "worker",
        "post",
        "/status",
        {"target": "rejected", "reason": "Outside our mandate."},
        ExpectedEvent("status", "triage", "rejected", "Outside our mandate."),
        setup=_waiting,
    ),
    Action(
        "priority",
        "worker",
        "post",
        "/priority",
        {"priority": "urgent", "reason": "Child at risk"},
        ExpectedEvent("priority", "normal", "urgent", "Child at risk"),
    ),
    Action(
        "move_queue",
        "supervisor",
        "post",
        "/move",
        {"queue": "women", "reason": "Domestic violence"},
        ExpectedEvent("queue", "general", "women", "Domestic violence"),
    ),
    Action(
        "note",
        "worker",
        "post",
        "/messages",
        {"kind": "note", "body": "Called the lawyer."},
        ExpectedEvent("note", new="{message}"),
    ),
    Action(
        "message",
        "worker",
        "post",
        "/messages",
        {"kind": "to_reporter", "body": "Can you send the date?"},
        ExpectedEvent("message_sent", new="{message}"),
    ),
    Action(
        "legal_hold",
        "supervisor",
        "post",
        "/hold",
        {"hold": "y", "reason": "Court order 12/34"},
        ExpectedEvent("legal_hold", "false", "true", "Court order 12/34"),
    ),
    Action("view", "worker", "get", "", {}, ExpectedEvent("viewed")),
]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.id)
def test_each_action_writes_exactly_one_event(app, make_case, people, action):
    client, actor = people[action.actor]
    case = make_case().case
    if action.setup:
        action.setup(case, people)
    before = chain(case.id)
    ids = {"worker": people["worker"][1].id, "colleague": people["colleague"].id}
    data = {k: v.format(**ids) for k, v in action.form.items()}
    response = getattr(client, action.method)(f"/staff/cases/{case.id}{action.path}", data=data)
    assert response.status_code == (200 if action.method == "get" else 302)
    after = chain(case.id)
    assert [e.id for e in after[: len(before)]] == [e.id for e in before]
    new = after[len(before) :]
    assert len(new) == 1, [e.action for e in new]
    event = new[0]
    message = db.session.scalar(select(Message.id).where(Message.case_id == case.id).order_by(Message.id.desc()))
    ids["message"] = message
    expected = action.event

    def fmt(value):
        return None if value is None else value.format(**ids)

    assert (event.action, event.old_value, event.new_value, event.reason) == (
        expected.action,
        fmt(expected.old),
        fmt(expected.new),
        expected.reason,
    )
    assert event.actor_id == actor.id and event.actor_type == "staff"
    assert event.seq == before[-1].seq + 1 and event.prev_hash == before[-1].hash
    assert event.created_at.tzinfo is not None
    assert audit.verify_chain(db.session, case.id) is None


def test_claim_event_says_it_was_a_claim(app, make_case, make_user):
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    commands.claim(case.id, worker)
    event = chain(case.id)[-1]
    assert json.loads(event.details) == {"claim": True}


def test_moving_an_assigned_case_records_the_unassignment_too(app, make_case, make_user):
    worker, sup = make_user("caseworker", ["general"]), make_user("supervisor")
    case = make_case().case
    commands.claim(case.id, worker)
    commands.move_queue(case.id, sup, "women", "Wrong unit")
    last = chain(case.id)[-2:]
    assert [(e.action, e.old_value, e.new_value) for e in last] == [
        ("unassigned", str(worker.id), None),
        ("queue", "general", "women"),
    ]


def test_status_change_with_a_message_records_both(app, make_case, make_user):
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    commands.change_status(case.id, worker, "triage", message_to_reporter="We are reading your report.")
    assert [e.action for e in chain(case.id)[-2:]] == ["status", "message_sent"]


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/status", {"target": "closed"}),  # not in the workflow
        ("/status", {"target": "investigating"}),  # skips triage
        ("/priority", {"priority": "normal"}),  # unchanged
        ("/messages", {"kind": "note", "body": "   "}),  # empty
        ("/claim", {"version": "7"}),  # stale
    ],
)
def test_refused_action_writes_no_event(app, make_case, login_as, path, form):
    client, _ = login_as("caseworker", ["general"])
    case = make_case().case
    before = [e.id for e in chain(case.id)]
    assert client.post(f"/staff/cases/{case.id}{path}", data=form).status_code == 302
    assert [e.id for e in chain(case.id)] == before


def test_viewing_a_case_page_writes_one_viewed_event_per_view(app, make_case, login_as):
    client, worker = login_as("caseworker", ["general"])
    case = make_case().case
    for _ in range(3):
        assert client.get(f"/staff/cases/{case.id}").status_code == 200
    views = [e for e in chain(case.id) if e.action == "viewed"]
    assert len(views) == 3 and {e.actor_id for e in views} == {worker.id}


def test_denied_view_writes_nothing(app, make_case, login_as):
    client, _ = login_as("caseworker", ["women"])
    case = make_case().case
    before = len(chain(case.id))
    assert client.get(f"/staff/cases/{case.id}").status_code == 404
    assert len(chain(case.id)) == before


# --- append-only, enforced by the database ---------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET reason = 'rewritten' WHERE id = :id",
        "UPDATE events SET hash = prev_hash WHERE id = :id",
        "DELETE FROM events WHERE id = :id",
        "DELETE FROM events",
    ],
)
def test_database_refuses_update_and_delete_of_events(app, make_case, statement):
    case = make_case().case
    first = chain(case.id)[0]
    assert_append_only(statement, {"id": first.id})
    assert [e.hash for e in chain(case.id)][0] == first.hash
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2


def test_orm_changes_to_an_event_are_refused(app, make_case):
    case = make_case().case
    event = chain(case.id)[0]
    event.reason = "rewritten"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert chain(case.id)[0].reason is None


def test_postgresql_refuses_truncate_of_events(app, make_case):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL only")
    make_case()
    assert_append_only("TRUNCATE events CASCADE")
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
