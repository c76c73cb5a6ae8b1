"""Retention: personal content of finished cases is destroyed after its period; the record stays.

``flask --app wsgi retention run`` lists (dry run) or, with ``--apply``,
destroys narrative, place, contact, messages and files of cases closed or
rejected longer than their category's period (default ``RETENTION_DAYS``).
The case row, its events and a ``content_destroyed`` event remain and the
audit chain still verifies; a supervisor's legal hold exempts a case.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import LargeBinary, func, select, type_coerce, update

from cases import commands
from cases.models import Case, CategorySetting, Event, Evidence, Message
from storage import db
from tests.helpers import file_with_evidence, report
from tests.samples import ACCEPTED

DAY = timedelta(days=1)


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor")


@pytest.fixture
def finished(app, supervisor):
    """``finished(days_ago, category=..., status=...)``: a case with contact, a note, a message and a file,
    rejected or closed through the services, its finish moved ``days_ago`` into the past."""

    def factory(days_ago: float, category: str = "other", status: str = "rejected"):
        filed = file_with_evidence(
            app,
            "witness.pdf",
            ACCEPTED["letter.pdf"](),
            category=category,
            narrative=f"Narrative of a {category} case",
            place_description="A village",
            contact_email="person@example.org",
            contact_phone="+77012345678",
        )
        case_id = filed.case.id
        commands.add_note(case_id, supervisor, "A note naming a witness")
        commands.send_message(case_id, supervisor, "A message to the reporter")
        if status == "rejected":
            commands.change_status(case_id, supervisor, "rejected", "Outside our mandate")
        elif status == "closed":
            for target, reason in (("triage", ""), ("investigating", ""), ("resolved", "Settled"), ("closed", "")):
                commands.change_status(case_id, supervisor, target, reason)
        elif status != "new":
            commands.change_status(case_id, supervisor, status, "")
        if days_ago:
            when = datetime.now(UTC) - days_ago * DAY
            db.session.execute(update(Case).where(Case.id == case_id).values(finished_at=when))
            db.session.commit()
        return db.session.get(Case, case_id)

    return factory


def run(runner, *args: str):
    result = runner.invoke(args=["retention", "run", *args])
    assert result.exit_code == 0, result.output
    return result.output


def content(case_id: int) -> dict:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return {
        "narrative": case.narrative,
        "place": case.place_description,
        "email": case.contact_email,
        "phone": case.contact_phone,
        "messages": [m.body for m in db.session.scalars(select(Message).where(Message.case_id == case_id))],
        "filenames": [e.filename for e in db.session.scalars(select(Evidence).where(Evidence.case_id == case_id))],
        "files": db.session.scalars(
            select(type_coerce(Evidence.content, LargeBinary)).where(Evidence.case_id == case_id)
        ).all(),
    }


def is_destroyed(case_id: int) -> bool:
    c = content(case_id)
    gone = (
        c["narrative"] is None
        and c["place"] is None
        and c["email"] is None
        and c["phone"] is None
        and all(m is None for m in c["messages"])
        and all(f is None for f in c["filenames"])
        and all(f is None for f in c["files"])
    )
    kept = c["narrative"] is not None and c["email"] is not None and all(c["messages"]) and all(c["files"])
    assert gone or kept, c  # never half destroyed
    return gone


def destroyed_events(case_id: int) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.case_id == case_id, Event.action == "content_destroyed")))


def verify_intact(runner) -> None:
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "History intact." in result.output, result.output


def test_dry_run_lists_what_is_due_and_changes_nothing(app, runner, finished):
    old = finished(366)
    young = finished(300)
    events_before = db.session.scalar(select(func.count(Event.id)))
    output = run(runner)
    assert old.reference in output and young.reference not in output
    assert "Dry run: 1 case(s)" in output
    assert not is_destroyed(old.id) and not is_destroyed(young.id)
    assert db.session.scalar(select(func.count(Event.id))) == events_before


@pytest.mark.parametrize("status", ["rejected", "closed"])
def test_apply_destroys_content_but_keeps_the_skeleton_and_the_trail(app, runner, finished, status):
    case = finished(400, status=status)
    events_before = [
        (e.seq, e.hash) for e in db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.seq))
    ]
    output = run(runner, "--apply")
    assert case.reference in output and "Destroyed the personal content of 1 case(s)" in output
    assert is_destroyed(case.id)
    db.session.expire_all()
    kept = db.session.get(Case, case.id)
    assert (kept.reference, kept.status, kept.category) == (case.reference, status, "other")
    assert kept.content_destroyed_at is not None
    assert db.session.scalar(select(func.count(Evidence.id)).where(Evidence.case_id == case.id)) == 1  # hash, size
    after = [
        (e.seq, e.hash) for e in db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.seq))
    ]
    assert after[: len(events_before)] == events_before  # every earlier event is still there, unchanged
    [event] = destroyed_events(case.id)
    assert event.actor_type == "system" and '"messages":2' in event.details and '"files":1' in event.details
    verify_intact(runner)
    # A second run finds nothing more to do.
    assert "Dry run: 0 case(s)" in run(runner)
    assert "of 0 case(s)" in run(runner, "--apply")
    assert len(destroyed_events(case.id)) == 1


def test_destroyed_case_still_opens_for_staff_and_reporter(app, runner, finished, login_as):
    case = finished(400)
    run(runner, "--apply")
    staff, _ = login_as("supervisor")
    page = staff.get(f"/staff/cases/{case.id}")
    assert page.status_code == 200 and case.reference in page.get_data(as_text=True)
    item = db.session.scalar(select(Evidence).where(Evidence.case_id == case.id))
    assert staff.get(f"/staff/cases/{case.id}/evidence/{item.id}").status_code == 404


def test_legal_hold_exempts_a_case(app, runner, finished, supervisor, login_as):
    held = finished(400)
    client, boss = login_as("supervisor")
    response = client.post(
        f"/staff/cases/{held.id}/hold", data={"hold": "y", "reason": "Court order 12/2025", "version": held.version}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, held.id).legal_hold is True
    hold_event = db.session.scalar(select(Event).where(Event.case_id == held.id, Event.action == "legal_hold"))
    assert hold_event.actor_id == boss.id and hold_event.reason == "Court order 12/2025"
    other = finished(400)
    output = run(runner, "--apply")
    assert held.reference not in output and other.reference in output
    assert not is_destroyed(held.id) and is_destroyed(other.id)
    assert destroyed_events(held.id) == []
    # Lifting the hold makes the case due again.
    commands.set_legal_hold(held.id, boss, False, "Court order lifted")
    run(runner, "--apply")
    assert is_destroyed(held.id)
    verify_intact(runner)


def test_only_supervisors_set_a_legal_hold(app, finished, login_as):
    case = finished(400)
    worker, worker_user = login_as("caseworker", ["general"])
    response = worker.post(
        f"/staff/cases/{case.id}/hold", data={"hold": "y", "reason": "I think so", "version": case.version}
    )
    assert response.status_code == 403
    with pytest.raises(commands.CommandError):
        commands.set_legal_hold(case.id, worker_user, True, "I think so")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Case, case.id).legal_hold is False


def test_per_category_period_overrides_the_default(app, runner, finished):
    db.session.execute(update(CategorySetting).where(CategorySetting.slug == "women").values(retention_days=30))
    db.session.execute(update(CategorySetting).where(CategorySetting.slug == "torture").values(retention_days=3650))
    db.session.commit()
    women_due = finished(31, category="women")
    women_young = finished(29, category="women")
    other_40 = finished(40, category="other")  # default 365 days: not yet
    torture_old = finished(400, category="torture")  # kept ten years
    torture_ancient = finished(3651, category="torture")
    output = run(runner, "--apply")
    assert {c.reference for c in (women_due, torture_ancient)} == {r for r in output.split() if r.startswith("SHG-")}
    assert is_destroyed(women_due.id) and is_destroyed(torture_ancient.id)
    for case in (women_young, other_40, torture_old):
        assert not is_destroyed(case.id)


def test_default_period_comes_from_the_setting(make_app):
    app = make_app(RETENTION_DAYS=10)
    with app.app_context():
        from cases.models import User

        boss = commands.create_user("boss@example.org", "Boss", "supervisor", "a long enough passphrase here")
        filed = commands.file_report(report(contact_email="x@example.org"), app.extensions["shagym_receipt_key"])
        commands.change_status(filed.case.id, boss, "rejected", "No grounds")
        db.session.execute(update(Case).values(finished_at=datetime.now(UTC) - 11 * DAY))
        db.session.commit()
        assert "SHG-" in app.test_cli_runner().invoke(args=["retention", "run", "--apply"]).output
        assert is_destroyed(filed.case.id)
        assert db.session.get(User, boss.id) is not None


@pytest.mark.parametrize("status", ["new", "triage"])
def test_open_cases_are_never_touched_however_old(app, runner, finished, status):
    case = finished(0, status=status)
    db.session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(created_at=datetime.now(UTC) - 4000 * DAY, finished_at=datetime.now(UTC) - 4000 * DAY)
    )
    db.session.commit()
    output = run(runner, "--apply")
    assert case.reference not in output
    assert not is_destroyed(case.id)


def test_a_case_reopened_before_the_run_is_not_destroyed(app, runner, finished, supervisor):
    case = finished(400)
    commands.change_status(case.id, supervisor, "triage", "New evidence arrived")
    output = run(runner, "--apply")
    assert case.reference not in output and not is_destroyed(case.id)
