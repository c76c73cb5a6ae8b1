"""Triage from the queue page: orders with their own keyset pages, more filters, service-level
states on the rows, saved views on the start page, the supervisors' list of late cases, the
administrators' service-level targets, and "also open now by …" on the case page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cases import commands, history, triage
from cases.models import CategorySetting, Event, SavedView
from cases.vocabulary import Channel
from storage import db
from tests.helpers import page, report, set_case, signed_in
from tests.staff.test_queues_and_cases import general_id, refs


@pytest.fixture
def five(app, make_case):
    """Five cases of the general queue with distinct priorities, due dates and ages."""
    cases = [make_case(category="other").case for _ in range(5)]
    start = datetime(2030, 1, 1, tzinfo=UTC)
    # (priority, due in days, received days ago)
    for case, (priority, due, age) in zip(cases, [(2, 5, 1), (0, 9, 3), (2, 1, 5), (1, 3, 2), (3, 7, 4)], strict=True):
        set_case(
            case.id,
            commit=False,
            priority=priority,
            due_at=start + timedelta(days=due),
            created_at=start - timedelta(days=age),
        )
    db.session.commit()
    return [c.reference for c in cases]


@pytest.mark.parametrize(
    "sort, order",
    [
        ("priority", [1, 3, 2, 0, 4]),  # urgent first, then the due date
        ("due", [2, 3, 0, 4, 1]),
        ("age", [2, 4, 1, 3, 0]),  # oldest first
    ],
)
def test_each_order_lists_the_queue_and_pages_through_it_without_gaps(app, five, staff, monkeypatch, sort, order):
    client, _ = staff("supervisor")
    expected = [five[i] for i in order]
    assert refs(client.get(f"/staff/queues/general?sort={sort}")) == expected
    monkeypatch.setattr(triage, "PAGE_SIZE", 2)
    seen, url = [], f"/staff/queues/general?sort={sort}"
    while url:
        body = page(client.get(url))
        seen += refs_in(body)
        nxt = re.search(r'<a href="([^"]+)">Next page</a>', body)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert url is None or f"sort={sort}" in url or sort == "priority"
    assert seen == expected


def refs_in(body: str) -> list[str]:
    return re.findall(r'<a href="/staff/cases/\d+">(SHG-\d{4}-\d{6})</a>', body.split("<tbody>", 1)[-1])


def test_a_cursor_of_another_order_or_a_forged_one_gives_the_first_page(app, five, staff):
    client, _ = staff("supervisor")
    first = refs(client.get("/staff/queues/general?sort=due"))
    for after in ("2.1893456000000000.3", "x.y", "9" * 70, "-1.5", "1.99999999999999999999.2"):
        assert refs(client.get(f"/staff/queues/general?sort=due&after={after}")) == first


def test_more_filters_priority_channel_and_case_worker(app, five, make_case, staff, make_user):
    client, supervisor = staff("supervisor")
    worker = make_user("caseworker", ["general"], name="Aigerim Worker")
    phoned = commands.file_report(
        report(category="other", channel=Channel.PHONE), app.extensions["shagym_receipt_key"], filed_by=supervisor
    ).case
    commands.claim(phoned.id, worker)
    assert refs(client.get("/staff/queues/general?priority=0")) == [five[1]]
    assert refs(client.get("/staff/queues/general?channel=phone")) == [phoned.reference]
    assert refs(client.get(f"/staff/queues/general?assignee={worker.id}")) == [phoned.reference]
    body = page(client.get("/staff/queues/general?channel=phone"))
    assert '<option value="phone" selected' in body and "Aigerim Worker" in body
    # Unknown values filter nothing (and never fail).
    everything = sorted(refs(client.get("/staff/queues/general")))
    for junk in ("priority=7", "channel=pigeon", "assignee=abc", "assignee=99999999999999", "sort=random"):
        assert sorted(refs(client.get(f"/staff/queues/general?{junk}"))) == everything


def test_a_case_worker_is_offered_no_colleague_filter(app, five, staff):
    client, _ = staff("caseworker", ["general"])
    body = page(client.get("/staff/queues/general"))
    assert 'id="assignee"' not in body and 'id="sort"' in body


def test_rows_show_both_service_levels(app, make_case, staff, make_user):
    client, worker = staff("caseworker", ["general"])
    late, answered = make_case(category="other").case, make_case(category="other").case
    set_case(late.id, due_at=datetime.now(UTC) - timedelta(hours=3, minutes=5))
    commands.send_message(answered.id, worker, "We have read your report.")
    body = page(client.get("/staff/queues/general"))
    late_row = re.search(rf"{late.reference}.*?</tr>", body, re.S).group(0)
    assert "Reply: <strong" in late_row and "late by 3 hours" in late_row and "Resolve: due" in late_row
    answered_row = re.search(rf"{answered.reference}.*?</tr>", body, re.S).group(0)
    assert "Reply: met" in answered_row
    assert refs(client.get("/staff/queues/general?overdue=1")) == [late.reference]


# --- saved views ---------------------------------------------------------------------------------


def test_a_saved_view_keeps_the_filter_and_appears_on_the_start_page(app, five, staff):
    client, user = staff("caseworker", ["general"])
    response = client.post(
        "/staff/queues/general/views",
        data={"view-name": "  My  urgent ones ", "priority": "0", "sort": "due", "region": "nowhere"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/queues/general?priority=0&sort=due")
    view = db.session.scalars(select(SavedView)).one()
    assert (view.name, view.params, view.user_id) == ("My urgent ones", "priority=0&sort=due", user.id)
    event = db.session.scalars(select(Event).where(Event.action == "view_saved")).one()
    assert event.actor_id == user.id and event.new_value == "My urgent ones"
    home = page(client.get("/staff/"))
    assert f'href="/staff/views/{view.id}">My urgent ones</a>' in home
    opened = client.get(f"/staff/views/{view.id}")
    assert opened.headers["Location"].endswith("/staff/queues/general?priority=0&sort=due")
    assert refs(client.get(opened.headers["Location"])) == [five[1]]


def test_saved_view_names_are_checked_and_what_was_chosen_is_kept(app, staff):
    client, _ = staff("caseworker", ["general"])
    client.post("/staff/queues/general/views", data={"view-name": "Mine", "who": "me"})
    again = client.post(
        "/staff/queues/general/views", data={"view-name": "Mine", "who": "unassigned"}, follow_redirects=True
    )
    assert "You already have a view called “Mine”." in page(again)
    assert '<option value="unassigned" selected' in page(again)  # the filter the person chose is still on
    empty = client.post("/staff/queues/general/views", data={"view-name": " ", "who": "me"}, follow_redirects=True)
    assert "Give the view a name." in page(empty)
    assert db.session.scalar(select(db.func.count(SavedView.id))) == 1


def test_nobody_opens_or_deletes_anothers_view(app, staff):
    owner, _ = staff("caseworker", ["general"])
    other, _ = staff("caseworker", ["general"])
    owner.post("/staff/queues/general/views", data={"view-name": "Mine", "who": "me"})
    view = db.session.scalars(select(SavedView)).one()
    assert other.get(f"/staff/views/{view.id}").status_code == 404
    assert other.post(f"/staff/views/{view.id}/delete").status_code == 404
    assert "Mine" not in page(other.get("/staff/"))
    assert owner.post(f"/staff/views/{view.id}/delete").status_code == 302
    assert db.session.scalars(select(SavedView)).all() == []
    assert db.session.scalars(select(Event).where(Event.action == "view_deleted")).one().old_value == "Mine"


def test_a_view_of_a_queue_one_left_is_hidden_and_refused(app, staff, make_user):
    client, user = staff("caseworker", ["general", "women"])
    client.post("/staff/queues/women/views", data={"view-name": "Women", "status": "all"})
    view = db.session.scalars(select(SavedView)).one()
    assert f'href="/staff/views/{view.id}"' in page(client.get("/staff/"))
    commands.set_memberships(user, ["general"], by=make_user("supervisor"))
    assert f'href="/staff/views/{view.id}"' not in page(client.get("/staff/"))
    assert client.get(f"/staff/views/{view.id}").status_code == 404


def test_a_view_cannot_be_saved_on_a_queue_one_cannot_see(app, staff):
    client, _ = staff("caseworker", ["general"])
    assert client.post("/staff/queues/women/views", data={"view-name": "Peek"}).status_code == 404
    assert db.session.scalars(select(SavedView)).all() == []


# --- the supervisors' list of late cases ---------------------------------------------------------


def test_supervisors_see_late_cases_by_target_most_late_first(app, make_case, staff, make_user):
    client, _ = staff("supervisor")
    worker = make_user("caseworker", ["general"])
    now = datetime.now(UTC)
    later, earlier, fine, resolution = (make_case(category="other").case for _ in range(4))
    set_case(later.id, due_at=now - timedelta(hours=1))
    set_case(earlier.id, due_at=now - timedelta(days=2))
    commands.send_message(resolution.id, worker, "On it.")
    set_case(resolution.id, resolution_due_at=now - timedelta(days=1))
    body = page(client.get("/staff/supervise/escalations"))
    first, second = body.split("<h2>Late for resolution</h2>")
    assert refs_in(first.split("<h2>Late for a first response</h2>")[1]) == [earlier.reference, later.reference]
    assert refs_in(second) == [resolution.reference]
    assert fine.reference not in body
    assert later.reference in page(client.get(f"/staff/supervise/escalations?queue={general_id()}"))
    assert later.reference not in page(client.get(f"/staff/supervise/escalations?queue={general_id() + 1}"))


def test_case_workers_cannot_open_the_escalation_list(app, staff):
    client, _ = staff("caseworker", ["general"])
    assert client.get("/staff/supervise/escalations").status_code == 403


# --- administrators set the targets ------------------------------------------------------------


def test_an_admin_changes_a_categorys_targets_and_bad_input_is_kept(app, make_user):
    admin = make_user("admin")
    client = signed_in(app, admin)
    client.set_cookie("lang", "en")
    listing = page(client.get("/staff/admin/service-levels/"))
    assert "Torture and ill-treatment" in listing and "working days: 10" in listing and "hours: 24" in listing
    bad = client.post(
        "/staff/admin/service-levels/women",
        data={"first_response_hours": "", "first_response_working_days": "0", "resolution_working_days": "12"},
    )
    assert bad.status_code == 422
    body = page(bad)
    assert "Use a whole number from 1 to 260." in body and 'value="12"' in body
    good = client.post(
        "/staff/admin/service-levels/women",
        data={"first_response_hours": "", "first_response_working_days": "2", "resolution_working_days": ""},
    )
    assert good.status_code == 302
    setting = db.session.get(CategorySetting, "women")
    db.session.refresh(setting)
    assert (setting.first_response_working_days, setting.resolution_working_days) == (2, None)
    assert db.session.scalars(select(Event).where(Event.action == "service_level_changed")).one().actor_id == admin.id
    assert client.get("/staff/admin/service-levels/nonsense").status_code == 404


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_only_admins_set_targets(app, staff, role):
    client, _ = staff(role, ["general"] if role == "caseworker" else None)
    assert client.get("/staff/admin/service-levels/").status_code == 403
    assert (
        client.post("/staff/admin/service-levels/women", data={"first_response_working_days": "1"}).status_code == 403
    )


# --- also open now -------------------------------------------------------------------------------


def test_the_case_page_says_who_else_has_it_open(app, make_case, staff, make_user):
    first, first_user = staff("caseworker", ["general"])
    second, second_user = staff("caseworker", ["general"])
    case = make_case(category="other").case
    first.get(f"/staff/cases/{case.id}")
    body = page(second.get(f"/staff/cases/{case.id}"))
    assert f"Also open now by {first_user.name}." in body
    assert f"Also open now by {second_user.name}." in page(first.get(f"/staff/cases/{case.id}"))
    alone = make_case(category="other").case
    assert "Also open now" not in page(first.get(f"/staff/cases/{alone.id}"))


def test_only_others_views_within_two_minutes_count():
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def viewed(actor, minutes_ago, action="viewed"):
        return Event(action=action, actor_id=actor, created_at=now - timedelta(minutes=minutes_ago))

    events = [viewed(2, 5), viewed(3, 1.5), viewed(1, 0), viewed(4, 0.5), viewed(5, 0.2, action="note"), viewed(2, 1)]
    assert history.recent_viewers(events, me=1, now=now) == [4, 2, 3]


def test_rows_show_their_tags_and_the_queue_filters_by_tag(app, make_case, staff, make_user):
    client, _ = staff("supervisor")
    tagged, other = make_case(category="other").case, make_case(category="other").case
    supervisor = make_user("supervisor")
    tag = commands.create_tag("police", {"kk": "Полиция", "ru": "Полиция", "en": "Police station"}, by=supervisor)
    commands.add_tag(tagged.id, supervisor, tag.id)
    assert refs(client.get(f"/staff/queues/general?tag={tag.id}")) == [tagged.reference]
    body = page(client.get("/staff/queues/general"))
    row = re.search(rf"{tagged.reference}.*?</tr>", body, re.S).group(0)
    assert '<span class="tag case-tag">Police station</span>' in row
    assert "Police station" not in re.search(rf"{other.reference}.*?</tr>", body, re.S).group(0)
    assert f'<option value="{tag.id}" >Police station</option>' in body
    everything = sorted(refs(client.get("/staff/queues/general")))
    for junk in ("tag=abc", "tag=0", "tag=99999999999999"):
        assert sorted(refs(client.get(f"/staff/queues/general?{junk}"))) == everything
