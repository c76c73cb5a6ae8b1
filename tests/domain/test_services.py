"""Staff actions in ``cases.services``: each rule, what it changes, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import func, select

from cases import commands
from cases.commands import unit
from cases.models import Case, Event, Message
from cases.vocabulary import Priority
from cases.workflow import TransitionRefused
from storage import db
from tests.helpers import Clock


@pytest.fixture
def w(app, make_user, make_case):
    """A small world: two workers of general, one of women, a supervisor, an admin and a case in general."""
    return {
        "worker": make_user("caseworker", ["general"]),
        "colleague": make_user("caseworker", ["general"]),
        "outsider": make_user("caseworker", ["women"]),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
        "case": make_case().case,
    }


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def events(case_id: int) -> list[str]:
    return list(db.session.scalars(select(Event.action).where(Event.chain_id == case_id).order_by(Event.seq)))


# --- claim ----------------------------------------------------------------------------


def test_claim_takes_an_unassigned_case(w):
    case = commands.claim(w["case"].id, w["worker"], expected_version=1)
    assert case.assignee_id == w["worker"].id and case.version == 2
    assert fresh(case.id).assignee_id == w["worker"].id


def test_claim_of_a_held_case_is_a_conflict(w):
    commands.claim(w["case"].id, w["worker"])
    with pytest.raises(commands.Conflict, match="Someone else claimed this case first"):
        commands.claim(w["case"].id, w["colleague"])
    assert fresh(w["case"].id).assignee_id == w["worker"].id


def test_claim_with_a_stale_version_is_a_conflict(w):
    commands.change_status(w["case"].id, w["colleague"], "triage")
    with pytest.raises(commands.Conflict, match="changed by someone else"):
        commands.claim(w["case"].id, w["worker"], expected_version=1)
    assert fresh(w["case"].id).assignee_id is None


def test_claiming_twice_says_you_hold_it(w):
    commands.claim(w["case"].id, w["worker"])
    with pytest.raises(commands.CommandError, match="You already hold this case"):
        commands.claim(w["case"].id, w["worker"])


def test_closed_cases_cannot_be_claimed(w):
    commands.change_status(w["case"].id, w["worker"], "rejected", reason="No grounds")
    with pytest.raises(commands.CommandError, match="Only open cases"):
        commands.claim(w["case"].id, w["worker"])


@pytest.mark.parametrize("who", ["outsider", "admin"])
def test_claim_of_an_invisible_case_is_not_found(w, who):
    with pytest.raises(commands.NotFound):
        commands.claim(w["case"].id, w[who])
    assert events(w["case"].id) == ["created", "routed"]


def test_unknown_case_is_not_found(w):
    with pytest.raises(commands.NotFound):
        commands.change_status(999_999, w["supervisor"], "triage")


# --- assign ----------------------------------------------------------------------------


def test_supervisor_assigns_reassigns_and_unassigns(w):
    cid = w["case"].id
    commands.assign(cid, w["supervisor"], w["worker"].id, reason="Knows the family")
    commands.assign(cid, w["supervisor"], w["colleague"].id)
    commands.assign(cid, w["supervisor"], None, reason="Off sick")
    assert fresh(cid).assignee_id is None
    assert events(cid)[-3:] == ["assigned", "assigned", "unassigned"]


def test_supervisor_may_take_a_case_themselves(w):
    commands.assign(w["case"].id, w["supervisor"], w["supervisor"].id)
    assert fresh(w["case"].id).assignee_id == w["supervisor"].id


@pytest.mark.parametrize("who", ["worker", "outsider", "admin"])
def test_only_supervisors_assign(w, who):
    with pytest.raises(commands.Forbidden):
        commands.assign(w["case"].id, w[who], w["worker"].id)
    assert fresh(w["case"].id).assignee_id is None


@pytest.mark.parametrize("assignee", ["outsider", "admin", "inactive", "nobody"])
def test_assignee_must_be_able_to_work_the_queue(w, make_user, assignee):
    if assignee == "inactive":
        user = make_user("caseworker", ["general"])
        commands.deactivate_user(user)
        db.session.commit()
        target = user.id
    else:
        target = 987_654 if assignee == "nobody" else w[assignee].id
    with pytest.raises(commands.CommandError, match="cannot work cases in this queue"):
        commands.assign(w["case"].id, w["supervisor"], target)


def test_assigning_the_same_way_is_refused(w):
    with pytest.raises(commands.CommandError, match="already assigned that way"):
        commands.assign(w["case"].id, w["supervisor"], None)


# --- status ----------------------------------------------------------------------------


def test_status_walk_to_closed_and_reopen(w, monkeypatch):
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(unit, "utcnow", clock)
    cid = w["case"].id
    for target, reason in [
        ("triage", ""),
        ("investigating", ""),
        ("referred", "Ombudsman of Almaty"),
        ("resolved", "Detainee released"),
        ("closed", ""),
    ]:
        commands.change_status(cid, w["worker"], target, reason)
    case = fresh(cid)
    assert (case.status, case.is_open, case.finished_at) == ("closed", False, clock.now)
    due_when_closed = case.due_at
    clock.now += timedelta(days=30)
    with pytest.raises(TransitionRefused, match="Only a supervisor"):
        commands.change_status(cid, w["worker"], "triage", "New facts")
    with pytest.raises(TransitionRefused, match="A reason is required"):
        commands.change_status(cid, w["supervisor"], "triage", "  ")
    commands.change_status(cid, w["supervisor"], "triage", "New facts")
    case = fresh(cid)
    assert (case.status, case.is_open, case.finished_at) == ("triage", True, None)
    # A reopened case gets a fresh first-response clock from the moment it is reopened.
    assert case.due_at == datetime(2030, 2, 11, 9, 0, tzinfo=UTC) != due_when_closed


def test_closing_a_resolved_case_keeps_its_due_date(w):
    cid = w["case"].id
    for target, reason in [("triage", ""), ("investigating", ""), ("resolved", "Done")]:
        commands.change_status(cid, w["worker"], target, reason)
    due = fresh(cid).due_at
    commands.change_status(cid, w["worker"], "closed")
    assert fresh(cid).due_at == due


def test_refused_transition_changes_nothing(w):
    cid = w["case"].id
    with pytest.raises(TransitionRefused, match="cannot go from"):
        commands.change_status(cid, w["worker"], "resolved", "Too quick")
    case = fresh(cid)
    assert (case.status, case.version) == ("new", 1) and events(cid) == ["created", "routed"]


def test_rejection_records_the_reason_trimmed(w):
    commands.change_status(w["case"].id, w["worker"], "rejected", "  Outside our mandate.  ")
    event = db.session.scalar(select(Event).where(Event.chain_id == w["case"].id, Event.action == "status"))
    assert event.reason == "Outside our mandate."
    assert fresh(w["case"].id).finished_at is not None


def test_status_change_with_stale_version_is_a_conflict(w):
    commands.change_status(w["case"].id, w["worker"], "triage", expected_version=1)
    with pytest.raises(commands.Conflict):
        commands.change_status(w["case"].id, w["colleague"], "rejected", "No grounds", expected_version=1)
    assert fresh(w["case"].id).status == "triage"


def test_admin_cannot_change_status(w):
    with pytest.raises(commands.NotFound):
        commands.change_status(w["case"].id, w["admin"], "triage")


# --- priority --------------------------------------------------------------------------


def test_priority_change_moves_the_due_date(w, make_case, monkeypatch):
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))  # Monday
    monkeypatch.setattr(unit, "utcnow", clock)
    case = make_case(category="other").case
    assert case.due_at == datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    clock.now += timedelta(hours=3)
    commands.change_priority(case.id, w["worker"], "urgent", "Child at risk")
    # Urgent: 24 hours from the report, not from the change.
    assert fresh(case.id).due_at == datetime(2030, 1, 8, 9, 0, tzinfo=UTC)
    assert fresh(case.id).priority == Priority.URGENT


def test_priority_change_after_reopening_counts_from_the_reopening(w, make_case, monkeypatch):
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(unit, "utcnow", clock)
    cid = make_case().case.id
    commands.change_status(cid, w["worker"], "rejected", "No grounds")
    clock.now = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday, two months later
    commands.change_status(cid, w["supervisor"], "triage", "The reporter sent new facts")
    assert fresh(cid).due_at == datetime(2030, 3, 7, 9, 0, tzinfo=UTC)
    commands.change_priority(cid, w["worker"], "urgent")
    assert fresh(cid).due_at == datetime(2030, 3, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("priority", "message"), [("critical", "Unknown priority"), ("normal", "already has that priority")]
)
def test_priority_refusals(w, priority, message):
    with pytest.raises(commands.CommandError, match=message):
        commands.change_priority(w["case"].id, w["worker"], priority)


def test_priority_of_a_finished_case_is_not_changed(w):
    commands.change_status(w["case"].id, w["worker"], "rejected", "No grounds")
    with pytest.raises(commands.CommandError, match="Only open cases"):
        commands.change_priority(w["case"].id, w["worker"], "urgent")


# --- move queue ------------------------------------------------------------------------


def test_move_queue_hands_the_case_to_the_other_queue(w):
    cid = w["case"].id
    commands.claim(cid, w["worker"])
    commands.move_queue(cid, w["supervisor"], "women", "Gender-based violence")
    case = fresh(cid)
    assert case.queue.slug == "women" and case.assignee_id is None
    # The old queue's workers lose sight of it; the new queue's workers gain it.
    with pytest.raises(commands.NotFound):
        commands.add_note(cid, w["worker"], "Still here?")
    commands.add_note(cid, w["outsider"], "Picked up from the move.")


class RefusedMove(NamedTuple):
    """A queue move that must be refused, and the error it raises."""

    id: str
    who: str  # a key of ``w``
    queue: str
    reason: str
    error: type[Exception]


MOVE_REFUSALS = [
    RefusedMove("caseworker moves", "worker", "women", "Because", commands.Forbidden),
    RefusedMove("no reason", "supervisor", "women", "   ", commands.CommandError),
    RefusedMove("unknown queue", "supervisor", "no-such-queue", "Because", commands.CommandError),
    RefusedMove("same queue", "supervisor", "general", "Because", commands.CommandError),
]


@pytest.mark.parametrize("move", MOVE_REFUSALS, ids=lambda m: m.id)
def test_move_queue_refusals(w, move):
    with pytest.raises(move.error):
        commands.move_queue(w["case"].id, w[move.who], move.queue, move.reason)
    assert fresh(w["case"].id).queue.slug == "general"


# --- notes, messages, views, legal hold ---------------------------------------------------


def test_note_and_message_are_kept_apart(w):
    note = commands.add_note(w["case"].id, w["worker"], "  Internal: the reporter sounded scared.  ")
    msg = commands.send_message(w["case"].id, w["worker"], "Please tell us the date.")
    rows = {m.id: (m.kind, m.body, m.author_id) for m in db.session.scalars(select(Message))}
    assert rows == {
        note.id: ("note", "Internal: the reporter sounded scared.", w["worker"].id),
        msg.id: ("to_reporter", "Please tell us the date.", w["worker"].id),
    }


@pytest.mark.parametrize("call", ["add_note", "send_message"])
def test_empty_text_is_refused(w, call):
    with pytest.raises(commands.CommandError, match="empty"):
        getattr(commands, call)(w["case"].id, w["worker"], " \n ")
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_no_message_to_a_destroyed_case(w):
    case = fresh(w["case"].id)
    case.content_destroyed_at = datetime.now(UTC)
    db.session.commit()
    with pytest.raises(commands.CommandError, match="destroyed"):
        commands.send_message(case.id, w["worker"], "Hello")


def test_record_view_requires_sight_of_the_case(w):
    with pytest.raises(commands.NotFound):
        commands.record_view(w["case"].id, w["outsider"])
    commands.record_view(w["case"].id, w["worker"])
    assert events(w["case"].id) == ["created", "routed", "viewed"]


def test_legal_hold(w):
    cid = w["case"].id
    with pytest.raises(commands.Forbidden):
        commands.set_legal_hold(cid, w["worker"], True, "Court order")
    with pytest.raises(commands.CommandError, match="reason is required"):
        commands.set_legal_hold(cid, w["supervisor"], True, "")
    commands.set_legal_hold(cid, w["supervisor"], True, "Court order")
    assert fresh(cid).legal_hold is True
    with pytest.raises(commands.CommandError, match="already set"):
        commands.set_legal_hold(cid, w["supervisor"], True, "Again")
    commands.set_legal_hold(cid, w["supervisor"], False, "Case settled")
    assert fresh(cid).legal_hold is False


def test_lost_race_on_the_chain_becomes_a_conflict(w, monkeypatch):
    """If two writers ever got the same chain position, the unique (chain, seq) turns it into Conflict."""
    from cases import audit

    real_append = audit.append

    def stale_head(session, **kw):
        event = real_append(session, **kw)
        event.seq = 1  # what a writer that read an old head would produce
        return event

    monkeypatch.setattr(audit, "append", stale_head)
    with pytest.raises(commands.Conflict):
        commands.add_note(w["case"].id, w["worker"], "Duplicate link")
    assert events(w["case"].id) == ["created", "routed"]
