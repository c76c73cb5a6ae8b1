"""Bulk actions from a queue page: one action on the ticked cases, each its own audited command,
with a summary of what was done and what was refused and why. Works without JavaScript."""

from __future__ import annotations

from sqlalchemy import func, select

from cases import commands
from cases.models import Case, Event, Queue
from storage import db
from tests.helpers import page


def bulk(client, slug: str, ids, **fields):
    data = {"case": [str(i) for i in ids], **{f"bulk-{k}": v for k, v in fields.items()}}
    return client.post(f"/staff/queues/{slug}/bulk", data=data)


def events(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.action == action))


def test_a_case_worker_claims_five_cases_at_once(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    ids = [make_case().case.id for _ in range(5)]
    body = page(bulk(client, "general", ids, action="claim"))
    assert "5 done, 0 refused." in body
    db.session.expire_all()
    assert {db.session.get(Case, i).assignee_id for i in ids} == {worker.id}
    assert events("assigned") == 5  # one event per case, in its own chain


def test_each_refusal_is_listed_with_its_reason_and_the_rest_is_done(app, make_case, make_user, staff):
    client, worker = staff("caseworker", ["general"])
    colleague = make_user("caseworker", ["general"])
    free = [make_case().case for _ in range(2)]
    taken = make_case().case
    commands.claim(taken.id, colleague)
    elsewhere = make_case(category="women").case  # another queue: not even its reference is shown
    response = bulk(client, "general", [c.id for c in [*free, taken]] + [elsewhere.id], action="claim")
    body = page(response)
    assert "2 done, 2 refused." in body
    assert taken.reference in body and elsewhere.reference not in body
    assert "A case you cannot see" in body
    db.session.expire_all()
    assert db.session.get(Case, taken.id).assignee_id == colleague.id
    assert db.session.get(Case, elsewhere.id).assignee_id is None
    assert [db.session.get(Case, c.id).assignee_id for c in free] == [worker.id, worker.id]


def test_status_changes_follow_the_workflow_for_each_case(app, make_case, make_user, staff):
    client, worker = staff("caseworker", ["general"])
    fresh = make_case().case
    closed = make_case().case
    commands.change_status(closed.id, worker, "rejected", reason="Outside our mandate.")
    body = page(bulk(client, "general", [fresh.id, closed.id], action="status", target="triage"))
    assert "1 done, 1 refused." in body
    db.session.expire_all()
    assert db.session.get(Case, fresh.id).status == "triage"
    assert db.session.get(Case, closed.id).status == "rejected"


def test_a_supervisor_assigns_and_moves_with_a_reason(app, make_case, make_user, staff):
    client, _ = staff("supervisor")
    worker = make_user("caseworker", ["general"])
    a, b = make_case().case, make_case().case
    assert "2 done" in page(bulk(client, "general", [a.id, b.id], action="assign", assignee=str(worker.id)))
    body = page(bulk(client, "general", [a.id, b.id], action="move", queue="women", reason="Violence at home"))
    assert "2 done, 0 refused." in body
    db.session.expire_all()
    women = db.session.scalar(select(Queue.id).where(Queue.slug == "women"))
    assert {db.session.get(Case, i).queue_id for i in (a.id, b.id)} == {women}
    moved = db.session.scalars(select(Event).where(Event.action == "queue")).all()
    assert [e.reason for e in moved] == ["Violence at home"] * 2


def test_a_case_worker_cannot_assign_or_move_in_bulk(app, make_case, make_user, staff):
    client, _ = staff("caseworker", ["general"])
    other = make_user("caseworker", ["general"])
    case = make_case().case
    for fields in (
        {"action": "assign", "assignee": str(other.id)},
        {"action": "move", "queue": "women", "reason": "x"},
    ):
        response = bulk(client, "general", [case.id], **fields)
        assert response.status_code == 302 and response.headers["Location"].endswith("/staff/queues/general")
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id is None and db.session.get(Case, case.id).version == 1


def test_nothing_ticked_or_no_action_changes_nothing(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    case = make_case().case
    for response in (bulk(client, "general", [], action="claim"), bulk(client, "general", [case.id], action="")):
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).version == 1
    assert "Tick at least one case" in page(client.get("/staff/queues/general"))


def test_the_queue_page_offers_checkboxes_and_the_actions_of_the_role(app, make_case, staff):
    case = make_case().case
    worker, _ = staff("caseworker", ["general"])
    body = page(worker.get("/staff/queues/general"))
    assert f'name="case" value="{case.id}"' in body and 'form="bulk"' in body
    assert 'value="claim"' in body and 'value="assign"' not in body and 'value="move"' not in body
    supervisor, _ = staff("supervisor")
    body = page(supervisor.get("/staff/queues/general"))
    assert 'value="assign"' in body and 'value="move"' in body
