"""First-response due dates: 24 hours for urgent and torture, three office working days otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import select

from cases import commands, deadlines
from cases.commands import unit
from cases.models import CategorySetting
from cases.vocabulary import Priority
from storage import db

ALMATY = deadlines.OFFICE_TZ


def almaty(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in March 2026 on the office clock, as UTC (2 March 2026 is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


@pytest.mark.parametrize(
    "created, due",
    [
        (almaty(2), almaty(5)),  # Monday → Thursday
        (almaty(4), almaty(9)),  # Wednesday → Monday
        (almaty(5), almaty(10)),  # Thursday → Tuesday
        (almaty(6), almaty(11)),  # Friday → Wednesday
        (almaty(7), almaty(12)),  # Saturday counts from Monday → Thursday
        (almaty(8, 23, 59), almaty(12, 23, 59)),  # Sunday night, too
        # Early Monday in Almaty is still Sunday in UTC: it is a Monday report all the same.
        (almaty(9, 3), almaty(12, 3)),
        # Late Friday evening in Almaty is a Friday report, not a Saturday one.
        (almaty(6, 23, 30), almaty(11, 23, 30)),
    ],
    ids=["mon", "wed", "thu", "fri", "sat", "sun-night", "mon-early-utc-sunday", "fri-late"],
)
def test_three_working_days_skip_the_weekend_on_the_office_clock(created, due):
    assert deadlines.due_at(created, Priority.NORMAL, None, 3) == due
    assert deadlines.due_at(created, Priority.NORMAL, None, 3).tzinfo is not None


def test_working_days_on_naive_times_keep_them_naive():
    friday = datetime(2026, 3, 6, 10, 0)
    assert deadlines.add_working_days(friday, 3) == datetime(2026, 3, 11, 10, 0)
    assert deadlines.add_working_days(friday, 0) == friday
    assert deadlines.add_working_days(datetime(2026, 3, 7, 10, 0), 0) == datetime(2026, 3, 9, 10, 0)


class HourTarget(NamedTuple):
    """A priority and a category's targets, and how long after a Saturday report the case is due."""

    id: str
    priority: int
    hours: int | None  # the category's first-response hours
    working_days: int
    due_after: timedelta


HOUR_TARGETS = [
    HourTarget("urgent: 24 hours, also over a weekend", Priority.URGENT, None, 3, timedelta(hours=24)),
    HourTarget("a slower category target never delays urgent", Priority.URGENT, 72, 3, timedelta(hours=24)),
    HourTarget("a faster one applies", Priority.URGENT, 4, 3, timedelta(hours=4)),
    HourTarget("torture: 24 hours", Priority.HIGH, 24, 3, timedelta(hours=24)),
    HourTarget("low priority with a 48-hour target", Priority.LOW, 48, 3, timedelta(hours=48)),
]


@pytest.mark.parametrize("target", HOUR_TARGETS, ids=lambda t: t.id)
def test_hour_targets(target):
    saturday = almaty(7)
    assert deadlines.due_at(saturday, target.priority, target.hours, target.working_days) == saturday + target.due_after


def test_resume_adds_the_time_spent_waiting():
    due = almaty(12)
    paused = almaty(9, 9)
    assert deadlines.resume(due, paused, paused + timedelta(days=2, hours=3)) == due + timedelta(days=2, hours=3)
    assert deadlines.resume(due, paused, paused) == due
    assert deadlines.resume(due, paused, paused - timedelta(hours=1)) == due  # a clock step back adds nothing


@pytest.fixture
def frozen(monkeypatch):
    def freeze(at: datetime) -> None:
        monkeypatch.setattr(unit, "utcnow", lambda: at)

    return freeze


@pytest.mark.parametrize(
    "category, danger, expected",
    [
        ("other", True, timedelta(hours=24)),  # immediate danger → urgent
        ("torture", False, timedelta(hours=24)),  # torture category target
        ("life", False, timedelta(hours=24)),
        ("other", False, almaty(11) - almaty(6)),  # Friday → Wednesday
        ("women", False, almaty(11) - almaty(6)),
        ("trafficking", False, almaty(11) - almaty(6)),  # high priority, but no hour target
    ],
)
def test_filed_case_gets_its_due_date_from_category_and_priority(app, make_case, frozen, category, danger, expected):
    friday = almaty(6)
    frozen(friday)
    case = make_case(category=category, immediate_danger=danger).case
    db.session.expire_all()
    assert case.created_at == friday
    assert case.due_at == friday + expected


def test_due_date_targets_are_configurable_per_category(app, make_case, frozen):
    monday = almaty(2)
    frozen(monday)
    setting = db.session.get(CategorySetting, "women")
    setting.first_response_working_days = 5
    db.session.get(CategorySetting, "disability").first_response_hours = 48
    db.session.commit()
    assert make_case(category="women").case.due_at == almaty(9)
    assert make_case(category="disability").case.due_at == monday + timedelta(hours=48)


def test_seeded_category_targets(app):
    settings = {s.slug: s for s in db.session.scalars(select(CategorySetting))}
    assert settings["torture"].first_response_hours == 24
    assert all(s.first_response_working_days == 3 for s in settings.values())
    assert all(s.first_response_hours is None for slug, s in settings.items() if slug not in ("torture", "life"))


def test_waiting_for_the_reporter_pauses_the_clock(app, make_case, make_user, frozen):
    frozen(almaty(2))
    case = make_case(category="women").case
    worker = make_user("caseworker", [case.queue.slug])
    due = case.due_at
    for at, target in ((almaty(2, 11), "triage"), (almaty(2, 12), "investigating"), (almaty(3, 9), "awaiting_info")):
        frozen(at)
        commands.change_status(case.id, worker, target)
    assert case.due_at == due
    frozen(almaty(5, 15))  # 2 days and 6 hours later the reporter answered
    commands.change_status(case.id, worker, "investigating")
    db.session.expire_all()
    assert case.due_at == due + timedelta(days=2, hours=6)
    assert case.paused_at is None


# --- the first response stops the clock ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda case, w: commands.send_message(case.id, w, "We are looking into it."), id="message"),
        pytest.param(
            lambda case, w: commands.change_status(case.id, w, "rejected", "Outside our mandate"), id="rejection"
        ),
        pytest.param(
            lambda case, w: commands.change_status(
                case.id, w, "triage", message_to_reporter="We have started reading your report."
            ),
            id="message-with-a-move",
        ),
    ],
)
def test_the_first_answer_to_the_reporter_meets_the_first_response(app, make_case, make_user, frozen, answer):
    frozen(almaty(2))
    case = make_case(category="women").case
    worker = make_user("caseworker", [case.queue.slug])
    frozen(almaty(3))
    answer(case, worker)
    db.session.expire_all()
    assert case.first_response_at == almaty(3)
    assert not case.is_overdue(almaty(20))


def test_a_referral_meets_it_and_later_answers_do_not_move_it(app, make_case, make_user, frozen):
    frozen(almaty(2))
    case = make_case(category="women").case
    worker = make_user("caseworker", [case.queue.slug])
    for target in ("triage", "investigating"):
        commands.change_status(case.id, worker, target)
    assert case.first_response_at is None  # moving a case on is not answering the reporter
    frozen(almaty(6))
    commands.change_status(case.id, worker, "referred", "The ombudsman's office")
    frozen(almaty(9))
    commands.send_message(case.id, worker, "Another note for you.")
    db.session.expire_all()
    assert case.first_response_at == almaty(6)
    assert deadlines.lateness(case.due_at, case.first_response_at) == almaty(6) - almaty(5)


def test_reopening_owes_a_new_first_response(app, make_case, make_user, frozen):
    frozen(almaty(2))
    case = make_case().case
    boss = make_user("supervisor")
    commands.change_status(case.id, boss, "rejected", "Outside our mandate")
    frozen(almaty(3))
    commands.change_status(case.id, boss, "triage", "New facts")
    db.session.expire_all()
    assert case.first_response_at is None and case.is_overdue(case.due_at + timedelta(minutes=1))


def test_the_overdue_rule_counts_only_running_unmet_clocks(app, make_case, frozen):
    from cases.models import Case

    now = almaty(20)
    frozen(almaty(2))
    case = make_case().case
    overdue = select(Case.id).where(Case.is_overdue(now))
    assert case.is_overdue(now) and db.session.scalars(overdue).all() == [case.id]
    case.first_response_at = almaty(2)
    db.session.commit()
    assert not case.is_overdue(now) and db.session.scalars(overdue).all() == []


def test_lateness_is_counted_to_the_minute():
    assert deadlines.lateness(almaty(2), almaty(2, 10, 0)) is None
    assert deadlines.lateness(almaty(2), almaty(2) + timedelta(seconds=59)) is None
    assert deadlines.lateness(almaty(2), almaty(3)) == timedelta(days=1)
