"""Service levels: the resolution target per category, both clocks paused while awaiting the
reporter, what each target's state is, and the escalation of late cases (once, audited, by a
content-free e-mail to the queue's supervisors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from cases import commands, deadlines
from cases.commands import unit
from cases.models import Case, CategorySetting, Event
from storage import db
from tests.helpers import Clock, chain, report, set_case

MONDAY = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # 14:00 in Almaty, a Monday


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(MONDAY)
    monkeypatch.setattr(unit, "utcnow", clock)
    return clock


def reload(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


# --- the state of a target (pure) ---------------------------------------------------------------


def fake(**kw):
    values = dict(
        is_open=True,
        status="investigating",
        due_at=MONDAY,
        first_response_at=None,
        resolution_due_at=MONDAY + timedelta(days=20),
        resolved_at=None,
    )
    return SimpleNamespace(**(values | kw))


@pytest.mark.parametrize(
    "case, now, first, resolution",
    [
        (fake(), MONDAY - timedelta(hours=1), "due", "due"),
        (fake(), MONDAY + timedelta(hours=2), "late", "due"),
        (fake(first_response_at=MONDAY - timedelta(hours=1)), MONDAY + timedelta(days=30), "met", "late"),
        (fake(status="awaiting_info"), MONDAY + timedelta(days=30), "paused", "paused"),
        (fake(status="referred", first_response_at=MONDAY), MONDAY + timedelta(days=30), "met", "late"),
        (
            fake(is_open=False, status="resolved", first_response_at=MONDAY, resolved_at=MONDAY + timedelta(days=2)),
            MONDAY + timedelta(days=90),
            "met",
            "met",
        ),
        (fake(is_open=False, status="rejected", resolved_at=MONDAY), MONDAY + timedelta(days=90), "none", "met"),
        (fake(resolution_due_at=None), MONDAY - timedelta(hours=1), "due", "none"),
    ],
)
def test_each_target_is_due_late_paused_met_or_none(case, now, first, resolution):
    levels = deadlines.service_levels(case, now)
    assert (levels[0].state, levels[1].state) == (first, resolution)


def test_late_and_met_late_say_by_how_much():
    first, resolution = deadlines.service_levels(
        fake(first_response_at=MONDAY + timedelta(hours=5)), MONDAY + timedelta(days=21)
    )
    assert first.by == timedelta(hours=5)
    assert resolution.state == "late" and resolution.by == timedelta(days=1)
    on_time, _ = deadlines.service_levels(fake(first_response_at=MONDAY - timedelta(minutes=1)), MONDAY)
    assert on_time.state == "met" and on_time.by is None


# --- resolution targets on real cases -----------------------------------------------------------


def test_a_report_gets_its_categorys_resolution_target_in_working_days(app, clock, make_case):
    torture, other = make_case(category="torture").case, make_case(category="other").case
    assert torture.resolution_due_at == MONDAY + timedelta(days=14)  # 10 working days
    assert other.resolution_due_at == MONDAY + timedelta(days=21)  # 15 working days


def test_a_category_without_a_resolution_target_gives_none(app, clock, make_case, make_user):
    admin = make_user("admin")
    commands.set_service_levels("other", None, 3, None, by=admin)
    case = make_case(category="other").case
    assert case.resolution_due_at is None
    assert deadlines.service_levels(case, clock.now)[1].state == "none"


def test_both_clocks_stop_while_awaiting_the_reporter_and_restart_on_reopen(app, clock, make_case, make_user):
    worker = make_user("caseworker", ["general"])
    supervisor = make_user("supervisor")
    case = make_case(category="other").case
    resolution = case.resolution_due_at
    for target in ("triage", "investigating", "awaiting_info"):
        commands.change_status(case.id, worker, target)
    clock.now += timedelta(days=30)  # a month without an answer: past the target, but not late
    assert not reload(case.id).is_resolution_late(clock.now)
    assert db.session.scalar(select(Case.id).where(Case.is_resolution_late(clock.now))) is None
    commands.change_status(case.id, worker, "investigating")
    assert reload(case.id).resolution_due_at == resolution + timedelta(days=30)
    commands.change_status(case.id, worker, "resolved", reason="Outcome given.")
    resolved = reload(case.id)
    assert resolved.resolved_at == clock.now and not resolved.is_open
    assert deadlines.service_levels(resolved, clock.now + timedelta(days=99))[1].state == "met"
    clock.now += timedelta(days=3)
    commands.change_status(case.id, supervisor, "triage", reason="The reporter wrote again.")
    reopened = reload(case.id)
    assert reopened.resolved_at is None
    assert reopened.resolution_due_at == deadlines.add_working_days(clock.now, 15)


def test_service_level_changes_are_checked_audited_and_apply_to_new_cases(app, clock, make_case, make_user):
    admin = make_user("admin")
    before = make_case(category="women").case
    with pytest.raises(commands.CommandError, match="between 1 and 260"):
        commands.set_service_levels("women", None, 3, 0, by=admin)
    with pytest.raises(commands.CommandError, match="between 1 and 720"):
        commands.set_service_levels("women", 0, 3, 10, by=admin)
    with pytest.raises(commands.NotFound):
        commands.set_service_levels("nonsense", None, 3, 10, by=admin)
    commands.set_service_levels("women", 48, 3, 5, by=admin)
    setting = db.session.get(CategorySetting, "women")
    assert (setting.first_response_hours, setting.resolution_working_days) == (48, 5)
    event = db.session.scalars(select(Event).where(Event.action == "service_level_changed")).one()
    assert event.actor_id == admin.id and event.new_value == "women"
    assert '"resolution_working_days":5' in event.details and '"resolution_working_days":15' in event.details
    after = make_case(category="women").case
    assert after.due_at == MONDAY + timedelta(hours=48)
    assert after.resolution_due_at == MONDAY + timedelta(days=7)
    assert reload(before.id).resolution_due_at == MONDAY + timedelta(days=21)  # a promise made is kept
    commands.set_service_levels("women", 48, 3, 5, by=admin)  # no change: no second event
    assert len(db.session.scalars(select(Event).where(Event.action == "service_level_changed")).all()) == 1


# --- escalation --------------------------------------------------------------------------------


def test_late_cases_are_escalated_once_with_an_event(app, clock, make_case, make_user):
    worker = make_user("caseworker", ["general"])
    late_reply, late_resolution, fine = (make_case(category="other").case for _ in range(3))
    commands.send_message(late_resolution.id, worker, "We are on it.")
    commands.send_message(fine.id, worker, "We are on it.")
    set_case(fine.id, resolution_due_at=MONDAY + timedelta(days=90))
    clock.now = MONDAY + timedelta(days=22)  # past the first response and the resolution of two
    due = commands.due_for_escalation(clock.now)
    assert set(due) == {late_reply.id, late_resolution.id}
    done = {e.case_id: e.targets for e in (commands.escalate(i, clock.now) for i in due)}
    assert done == {late_reply.id: ("first_response", "resolution"), late_resolution.id: ("resolution",)}
    events = [e for e in chain(late_reply.id) if e.action == "escalated"]
    assert len(events) == 1 and events[0].actor_type == "system"
    assert reload(late_reply.id).escalated_at == clock.now
    assert reload(late_reply.id).version == late_reply.version  # a staff member's open form stays valid
    assert commands.due_for_escalation(clock.now) == []
    assert commands.escalate(late_reply.id, clock.now) is None  # never twice


def test_a_case_answered_since_it_was_listed_is_not_escalated(app, clock, make_case, make_user):
    worker = make_user("caseworker", ["general"])
    case = make_case(category="other").case
    clock.now = MONDAY + timedelta(days=4)
    assert commands.due_for_escalation(clock.now) == [case.id]
    commands.send_message(case.id, worker, "We have read your report.")
    assert commands.escalate(case.id, clock.now) is None
    assert [e for e in chain(case.id) if e.action == "escalated"] == []


def test_the_escalation_run_mails_the_queues_supervisors_a_content_free_notice(make_app, make_user, smtp):
    port, inbox = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, STAFF_URL="https://shagym.example.org/staff/")
    with app.app_context():
        filed = commands.file_report(
            report(category="torture", in_custody="yes", narrative="Officer Bekov beat me at the IVS in Taraz."),
            app.extensions["shagym_receipt_key"],
        )
        make_user("supervisor", [filed.case.queue.slug], email="member@example.org")
        make_user("supervisor", [], email="elsewhere@example.org")
        set_case(filed.case.id, due_at=datetime.now(UTC) - timedelta(hours=1))
        runner = app.test_cli_runner()
        result = runner.invoke(args=["escalation", "run"])
        assert "Escalated 1 late case(s) in 1 queue(s); 1 e-mail(s) queued for the worker." in result.output
        assert inbox.messages == []
        sent = runner.invoke(args=["worker", "--once"])
        assert "1 e-mail(s) sent, 0 to retry." in sent.output, sent.output
        again = runner.invoke(args=["escalation", "run"])
        assert "Escalated 0 late case(s)" in again.output
        assert "0 e-mail(s) sent" in runner.invoke(args=["worker", "--once"]).output
        reference = filed.case.reference
    assert len(inbox.messages) == 1
    _sender, recipients, content = inbox.messages[0]
    assert recipients == ["member@example.org"]  # the queue's own supervisor, not every supervisor
    assert "https://shagym.example.org/staff/supervise/escalations" in content and "1 case(s) are late" in content
    for secret in ("Bekov", "IVS", "Taraz", reference, "torture"):
        assert secret not in content
