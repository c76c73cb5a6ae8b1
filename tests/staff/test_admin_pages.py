"""The admin pages complete: roles (a supervisor approves a raise), password reset with a
one-time code and the forced new password, second-factor reset, reactivation; queues edited
and switched off; routing rules edited, reordered and tried on facts. Every change audited,
every change behind re-authentication, never a change to existing cases."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from cases import commands, queries, routing
from cases.models import AccessRequest, Case, Event, QueueMembership, RecoveryCode, RoutingRule, User
from cases.models import Queue as QueueRow
from cases.refusals import Refused
from storage import db
from tests.helpers import PASSWORD, age_session, page, report, sessions_of, sign_in, system_events

NEW_PASSWORD = "a fresh and private passphrase"


def fresh(model, row_id: int):
    db.session.expire_all()
    return db.session.get(model, row_id)


def code_on(response) -> str:
    found = re.search(r'<code id="reset-code">([A-Z0-9-]+)</code>', page(response))
    assert found, "no one-time code on the page"
    return found.group(1)


def decide_all(approve: bool = True, supervisor: User | None = None) -> None:
    supervisor = supervisor or commands.create_user("approver@example.org", "Approver", "supervisor", PASSWORD)
    for request in queries.pending_access():
        commands.decide_access(request.id, approve, supervisor)


# --- roles ----------------------------------------------------------------------------------


def test_lowering_a_role_applies_at_once_and_ends_their_sessions(app, admin, login_as):
    client, me = admin
    boss_client, boss = login_as("supervisor")
    response = client.post(f"/staff/admin/users/{boss.id}/role", data={"role": "caseworker"}, follow_redirects=True)
    assert "Role changed." in page(response)
    assert fresh(User, boss.id).role == "caseworker" and sessions_of(boss) == 0
    assert boss_client.get("/staff/supervise/activity").status_code == 302  # signed out
    [event] = system_events("role_changed")
    assert (event.actor_id, event.new_value) == (me.id, boss.email)
    assert json.loads(event.details) == {"from": "supervisor", "to": "caseworker"}
    assert queries.pending_access() == []


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_raising_a_role_waits_for_a_supervisor(app, admin, staff, make_user, role):
    client, me = admin
    worker = make_user("caseworker", ["general", "women"])
    response = client.post(f"/staff/admin/users/{worker.id}/role", data={"role": role}, follow_redirects=True)
    assert "takes effect once a supervisor approves it" in page(response)
    assert "New role:" in page(response)  # the account's page says what waits
    assert fresh(User, worker.id).role == "caseworker"
    [asked] = system_events("access_requested")
    assert asked.actor_id == me.id and json.loads(asked.details)["role"] == role
    # The admin cannot approve it; a supervisor can.
    [pending] = queries.pending_access()
    assert (pending.kind, pending.role) == ("role", role)
    assert client.post(f"/staff/supervise/approvals/{pending.id}/approve").status_code == 403
    approver, approver_user = staff("supervisor")
    listing = page(approver.get("/staff/supervise/approvals"))
    assert worker.email in listing and "New role:" in listing
    approver.post(f"/staff/supervise/approvals/{pending.id}/approve")
    changed = fresh(User, worker.id)
    assert changed.role == role
    # Queue memberships are a case worker's: gone, so a later return to case worker brings none back.
    assert db.session.scalar(select(func.count()).where(QueueMembership.user_id == worker.id)) == 0
    [event] = system_events("access_approved")
    assert event.actor_id == approver_user.id and json.loads(event.details)["role"] == role


def test_a_refused_raise_changes_nothing(app, admin, make_user):
    client, _ = admin
    worker = make_user("caseworker", ["general"])
    client.post(f"/staff/admin/users/{worker.id}/role", data={"role": "admin"})
    decide_all(approve=False)
    assert fresh(User, worker.id).role == "caseworker"
    assert [q.slug for q in fresh(User, worker.id).queues] == ["general"]


def test_a_second_raise_while_one_waits_is_refused(app, admin, make_user):
    client, _ = admin
    worker = make_user("caseworker")
    client.post(f"/staff/admin/users/{worker.id}/role", data={"role": "admin"})
    again = client.post(f"/staff/admin/users/{worker.id}/role", data={"role": "supervisor"}, follow_redirects=True)
    assert "already waits for a supervisor" in page(again)
    assert len(queries.pending_access()) == 1


def test_nobody_changes_their_own_role(app, admin):
    client, me = admin
    response = client.post(f"/staff/admin/users/{me.id}/role", data={"role": "caseworker"}, follow_redirects=True)
    assert "You cannot change your own role." in page(response)
    assert fresh(User, me.id).role == "admin" and system_events("role_changed") == []
    assert f"/staff/admin/users/{me.id}/role" not in page(client.get(f"/staff/admin/users/{me.id}"))


@pytest.mark.parametrize("role", ["", "root", "ADMIN"])
def test_an_unknown_role_is_refused(app, admin, make_user, role):
    client, _ = admin
    worker = make_user("caseworker")
    response = client.post(f"/staff/admin/users/{worker.id}/role", data={"role": role}, follow_redirects=True)
    assert "Choose a role." in page(response)
    assert fresh(User, worker.id).role == "caseworker" and queries.pending_access() == []


def test_the_last_active_administrator_stays_one(app, admin, make_user, staff):
    client, me = admin
    other = make_user("admin")
    # Each admin asks to make the other a supervisor; one lowers the other to case worker first.
    client.post(f"/staff/admin/users/{other.id}/role", data={"role": "supervisor"})
    commands.change_role(fresh(User, me.id), "caseworker", by=fresh(User, other.id))
    assert fresh(User, me.id).role == "caseworker"
    # Approving the request would leave nobody to manage accounts: refused, nothing changes.
    supervisor = make_user("supervisor")
    [pending] = queries.pending_access()
    with pytest.raises(Refused, match="last active administrator"):
        commands.decide_access(pending.id, True, supervisor)
    assert fresh(User, other.id).role == "admin" and fresh(AccessRequest, pending.id).decided_at is None
    # Nor can the last one be lowered or deactivated by anyone else (the CLI, a stale session).
    with pytest.raises(Refused, match="last active administrator"):
        commands.change_role(fresh(User, other.id), "caseworker", by=fresh(User, me.id))
    with pytest.raises(Refused, match="last active administrator"):
        commands.deactivate_user(fresh(User, other.id), by=fresh(User, me.id))
    assert fresh(User, other.id).active is True


# --- password reset -------------------------------------------------------------------------


def test_reset_password_shows_a_one_time_code_and_forces_a_new_password(app, admin, login_as):
    client, me = admin
    worker_client, worker = login_as("caseworker", ["general"])
    response = client.post(f"/staff/admin/users/{worker.id}/reset-password")
    assert response.status_code == 200 and "It is shown only now." in page(response)
    code = code_on(response)
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)
    stored = fresh(User, worker.id)
    assert stored.reset_code_hash.startswith("$argon2id$") and code not in stored.reset_code_hash
    assert stored.reset_code_expires_at - datetime.now(UTC) > timedelta(hours=23)
    assert sessions_of(worker) == 0 and worker_client.get("/staff/").status_code == 302
    [event] = system_events("password_reset")
    assert (event.actor_id, event.new_value) == (me.id, worker.email) and code not in (event.details or "")
    # The old password no longer opens the account.
    assert sign_in(app.test_client(), worker, PASSWORD).status_code == 401
    # The code does, once, and the person can reach nothing but the new-password page.
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    first = sign_in(browser, worker, code.lower().replace("-", " "))  # as typed from a phone call
    assert first.status_code == 302 and first.headers["Location"].endswith("/staff/password/new")
    for path in ("/staff/", "/staff/queues/general", "/staff/password", "/staff/2fa/setup"):
        forced = browser.get(path)
        assert forced.status_code == 302 and forced.headers["Location"].endswith("/staff/password/new"), path
    assert "one-time code" in page(browser.get("/staff/password/new"))
    weak = browser.post("/staff/password/new", data={"new": "password1234"})
    assert weak.status_code == 422 and "too common" in page(weak)
    done = browser.post("/staff/password/new", data={"new": NEW_PASSWORD}, follow_redirects=True)
    assert "Your new password is set." in page(done)
    assert browser.get("/staff/queues/general").status_code == 200
    [changed] = system_events("password_changed")
    assert changed.actor_id == worker.id and json.loads(changed.details) == {"after_reset": True}
    # Used once: the code is spent; the new password works.
    assert sign_in(app.test_client(), worker, code).status_code == 401
    assert sign_in(app.test_client(), worker, NEW_PASSWORD).status_code == 302


def test_a_reset_code_works_only_once_even_before_the_new_password(app, admin, make_user):
    client, _ = admin
    worker = make_user("caseworker")
    code = code_on(client.post(f"/staff/admin/users/{worker.id}/reset-password"))
    assert sign_in(app.test_client(), worker, code).status_code == 302
    again = app.test_client()
    again.set_cookie("lang", "en")
    refused = sign_in(again, worker, code)
    assert refused.status_code == 401 and "Wrong email or password." in page(refused)
    assert fresh(User, worker.id).reset_code_hash is None


def test_an_expired_reset_code_is_refused(app, admin, make_user):
    client, _ = admin
    worker = make_user("caseworker")
    code = code_on(client.post(f"/staff/admin/users/{worker.id}/reset-password"))
    db.session.execute(
        update(User).where(User.id == worker.id).values(reset_code_expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    db.session.commit()
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    response = sign_in(browser, worker, code)
    assert response.status_code == 401 and "This one-time code has expired." in page(response)
    assert sessions_of(worker) == 0


def test_a_reset_keeps_the_second_factor_first(app, admin, make_user):
    client, _ = admin
    boss = make_user("supervisor")
    code = code_on(client.post(f"/staff/admin/users/{boss.id}/reset-password"))
    browser = app.test_client()
    first = sign_in(browser, boss, code)
    assert first.headers["Location"].endswith("/staff/2fa")
    assert browser.get("/staff/password/new").headers["Location"].endswith("/staff/2fa")
    second = browser.post("/staff/2fa", data={"totp-code": pyotp.TOTP(boss.totp_secret).now()})
    assert second.status_code == 302
    assert browser.get("/staff/").headers["Location"].endswith("/staff/password/new")


def test_the_new_password_page_is_only_for_a_reset(app, login_as):
    client, user = login_as("caseworker")
    before = fresh(User, user.id).password_hash
    response = client.post("/staff/password/new", data={"new": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/password")
    assert fresh(User, user.id).password_hash == before


@pytest.mark.parametrize("action", ["reset-password", "reset-2fa"])
def test_admins_do_not_reset_their_own_sign_in_here(app, admin, action):
    client, me = admin
    response = client.post(f"/staff/admin/users/{me.id}/{action}", follow_redirects=True)
    assert response.status_code == 200 and "page." in page(response)
    assert fresh(User, me.id).reset_code_hash is None and fresh(User, me.id).totp_enabled


# --- second factor and reactivation -----------------------------------------------------------


def test_reset_two_factor_makes_them_enrol_again(app, admin, login_as):
    client, me = admin
    boss_client, boss = login_as("supervisor")
    db.session.add(RecoveryCode(user_id=boss.id, code_hash="x"))
    db.session.commit()
    response = client.post(f"/staff/admin/users/{boss.id}/reset-2fa", follow_redirects=True)
    assert "Two-factor sign-in was reset." in page(response)
    reset = fresh(User, boss.id)
    assert (reset.totp_enabled, reset.totp_secret) == (False, None)
    assert db.session.scalar(select(func.count()).where(RecoveryCode.user_id == boss.id)) == 0
    assert sessions_of(boss) == 0
    [event] = system_events("2fa_reset")
    assert (event.actor_id, event.new_value) == (me.id, boss.email)
    browser = app.test_client()
    assert sign_in(browser, reset, PASSWORD).headers["Location"].endswith("/staff/2fa/setup")
    assert browser.get("/staff/supervise/activity").headers["Location"].endswith("/staff/2fa/setup")
    # Nothing left to reset.
    again = client.post(f"/staff/admin/users/{boss.id}/reset-2fa", follow_redirects=True)
    assert "no second factor to reset" in page(again)


def test_reactivating_a_case_worker_is_immediate(app, admin, make_user):
    client, me = admin
    worker = make_user("caseworker", ["general"])
    commands.deactivate_user(worker, by=me)
    response = client.post(f"/staff/admin/users/{worker.id}/reactivate", follow_redirects=True)
    assert "can sign in again" in page(response)
    assert fresh(User, worker.id).active is True
    [event] = system_events("user_reactivated")
    assert (event.actor_id, event.new_value) == (me.id, worker.email)
    assert sign_in(app.test_client(), worker, PASSWORD).status_code == 302
    again = client.post(f"/staff/admin/users/{worker.id}/reactivate", follow_redirects=True)
    assert "already active" in page(again)


def test_reactivating_a_supervisor_waits_for_another_supervisor(app, admin, make_user):
    client, me = admin
    boss = make_user("supervisor")
    commands.deactivate_user(boss, by=me)
    response = client.post(f"/staff/admin/users/{boss.id}/reactivate", follow_redirects=True)
    assert "once a supervisor approves it" in page(response)
    assert fresh(User, boss.id).active is False and system_events("user_reactivated") == []
    twice = client.post(f"/staff/admin/users/{boss.id}/reactivate", follow_redirects=True)
    assert "already waits" in page(twice) and len(queries.pending_access()) == 1
    decide_all()
    assert fresh(User, boss.id).active is True


# --- re-authentication, roles and forged ids -----------------------------------------------------


def user_actions(user_id: int) -> dict[str, dict]:
    return {
        f"/staff/admin/users/{user_id}/role": {"role": "supervisor"},
        f"/staff/admin/users/{user_id}/reset-password": {},
        f"/staff/admin/users/{user_id}/reset-2fa": {},
        f"/staff/admin/users/{user_id}/reactivate": {},
    }


def office_actions(queue_id: int, rule_id: int) -> dict[str, dict]:
    return {
        "/staff/admin/queues": {"slug": "late", "name": "Late"},
        f"/staff/admin/queues/{queue_id}": {"name": "Renamed", "description": ""},
        f"/staff/admin/queues/{queue_id}/toggle": {},
        f"/staff/admin/routing/{rule_id}": {"name": "Renamed", "position": "10", "queue": "urgent", "priority": "low"},
        f"/staff/admin/routing/{rule_id}/toggle": {},
        f"/staff/admin/routing/{rule_id}/down": {},
    }


def test_every_change_needs_the_password_again(app, admin, make_user):
    client, me = admin
    boss = make_user("supervisor")
    spare = QueueRow(slug="spare", name="Spare", description="")
    db.session.add(spare)
    db.session.commit()
    first = db.session.scalar(select(RoutingRule).order_by(RoutingRule.position).limit(1))
    age_session(me)
    before = (system_events_count(), fresh(User, boss.id).totp_enabled, sessions_of(boss))
    for path, data in {**user_actions(boss.id), **office_actions(spare.id, first.id)}.items():
        response = client.post(path, data=data)
        assert response.status_code == 302 and "/staff/admin/reauth?next=" in response.headers["Location"], path
        back = response.headers["Location"].split("next=")[1]
        # The way back is a page that answers GET: the account's page, the queues, the rules.
        assert back.startswith(("/staff/admin/users/", "/staff/admin/queues", "/staff/admin/routing")), back
    assert (system_events_count(), fresh(User, boss.id).totp_enabled, sessions_of(boss)) == before
    assert queries.pending_access() == [] and fresh(QueueRow, spare.id).name == "Spare"
    # Reading needs no password again.
    for path in ("/staff/admin/routing", "/staff/admin/routing/test", "/staff/admin/queues"):
        assert client.get(path).status_code == 200, path


def system_events_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_other_roles_cannot_use_the_admin_actions(app, staff, make_user, role):
    client, _ = staff(role)
    target = make_user("caseworker")
    queue = db.session.scalar(select(QueueRow).where(QueueRow.slug == "general"))
    rule = db.session.scalar(select(RoutingRule).limit(1))
    for path, data in {**user_actions(target.id), **office_actions(queue.id, rule.id)}.items():
        assert client.post(path, data=data).status_code == 403, path
    for path in (f"/staff/admin/routing/{rule.id}", f"/staff/admin/queues/{queue.id}", "/staff/admin/routing/test"):
        assert client.get(path).status_code == 403, path
    assert fresh(User, target.id).role == "caseworker" and queries.pending_access() == []


def test_forged_ids_are_not_found(app, admin):
    client, _ = admin
    for path, data in {**user_actions(99999), **office_actions(99999, 99999)}.items():
        if path == "/staff/admin/queues":
            continue
        assert client.post(path, data=data).status_code == 404, path
    for path in ("/staff/admin/routing/99999", "/staff/admin/queues/99999"):
        assert client.get(path).status_code == 404, path
    assert client.post("/staff/admin/routing/1/sideways").status_code == 404


# --- queues ---------------------------------------------------------------------------------


def queue(slug: str) -> QueueRow:
    return db.session.scalar(select(QueueRow).where(QueueRow.slug == slug).execution_options(populate_existing=True))


def test_admin_edits_a_queue(app, admin):
    client, me = admin
    women = queue("women")
    old_name = women.name
    assert old_name in page(client.get(f"/staff/admin/queues/{women.id}"))
    response = client.post(
        f"/staff/admin/queues/{women.id}", data={"name": "Women and girls unit", "description": "Violence, work"}
    )
    assert response.status_code == 302
    assert (queue("women").name, queue("women").description) == ("Women and girls unit", "Violence, work")
    [event] = system_events("queue_edited")
    assert event.actor_id == me.id and event.new_value == "women"
    assert json.loads(event.details)["changed"]["name"] == [old_name, "Women and girls unit"]
    assert "Women and girls unit" in page(client.get("/staff/admin/queues"))


def test_a_queue_needs_a_name_and_keeps_what_was_typed(app, admin):
    client, _ = admin
    women = queue("women")
    response = client.post(f"/staff/admin/queues/{women.id}", data={"name": "  ", "description": "Typed text kept"})
    assert response.status_code == 422 and "Typed text kept" in page(response)
    assert queue("women").name == women.name and system_events("queue_edited") == []


def test_a_queue_that_rules_route_to_cannot_be_switched_off(app, admin):
    client, me = admin
    women = queue("women")
    response = client.post(f"/staff/admin/queues/{women.id}/toggle", follow_redirects=True)
    names = db.session.scalars(select(RoutingRule.name).where(RoutingRule.queue_id == women.id)).all()
    assert "Active routing rules send reports to this queue" in page(response)
    assert all(name in page(response) for name in names)
    assert queue("women").active is True and system_events("queue_toggled") == []


def test_an_unused_queue_is_switched_off_and_on(app, admin, make_case):
    client, me = admin
    client.post("/staff/admin/queues", data={"slug": "spare", "name": "Spare"})
    spare = queue("spare")
    client.post(f"/staff/admin/queues/{spare.id}/toggle")
    assert queue("spare").active is False
    # A switched-off queue is not offered for rules, and a rule cannot send reports there.
    assert 'value="spare"' not in page(client.get("/staff/admin/routing"))
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.category == "women"))
    refused = client.post(f"/staff/admin/routing/{rule.id}", data={**rule_form(rule), "queue": "spare"})
    assert refused.status_code == 422 or "switched off" in page(refused)
    client.post(f"/staff/admin/queues/{spare.id}/toggle")
    assert queue("spare").active is True
    assert [json.loads(e.details)["active"] for e in system_events("queue_toggled")] == [False, True]


# --- routing rules ----------------------------------------------------------------------------


def rule_form(rule: RoutingRule, **changes) -> dict:
    yes_no = {None: "", True: "yes", False: "no"}
    data = {
        "name": rule.name,
        "position": str(rule.position),
        "category": rule.category or "",
        "immediate_danger": yes_no[rule.immediate_danger],
        "child_affected": rule.child_affected or "",
        "in_custody": rule.in_custody or "",
        "region": rule.region or "",
        "queue": rule.queue.slug,
        "priority": rule.priority_name,
    }
    return {**data, **changes}


def rules_in_order() -> list[RoutingRule]:
    return list(
        db.session.scalars(select(RoutingRule).order_by(RoutingRule.position).execution_options(populate_existing=True))
    )


def test_editing_a_rule_routes_new_reports_and_leaves_old_cases_alone(app, admin, make_case):
    client, me = admin
    old = make_case(category="women", region="shymkent").case
    before = (old.queue_id, old.priority, old.routing_rule_name)
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.category == "women"))
    form = page(client.get(f"/staff/admin/routing/{rule.id}"))
    assert rule.name in form and '<option selected value="women">' in form
    response = client.post(
        f"/staff/admin/routing/{rule.id}",
        data=rule_form(rule, name="Women in Shymkent", region="shymkent", queue="justice", priority="urgent"),
    )
    assert response.status_code == 302
    edited = db.session.get(RoutingRule, rule.id)
    assert (edited.name, edited.region, edited.queue.slug, edited.priority_name) == (
        "Women in Shymkent",
        "shymkent",
        "justice",
        "urgent",
    )
    [event] = system_events("rule_edited")
    changed = json.loads(event.details)["changed"]
    assert event.actor_id == me.id and changed["region"] == [None, "shymkent"] and changed["queue"][1] == "justice"
    kept = fresh(Case, old.id)
    assert (kept.queue_id, kept.priority, kept.routing_rule_name) == before
    filed = commands.file_report(report(category="women", region="shymkent"), app.extensions["shagym_receipt_key"])
    assert (filed.queue.slug, filed.case.routing_rule_name) == ("justice", "Women in Shymkent")


def test_an_edit_is_checked_like_a_new_rule_and_keeps_what_was_typed(app, admin):
    client, _ = admin
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.category == "women"))
    other = db.session.scalar(select(RoutingRule).where(RoutingRule.id != rule.id).limit(1))
    taken = client.post(
        f"/staff/admin/routing/{rule.id}", data=rule_form(rule, name="Typed name", position=str(other.position))
    )
    assert "Another rule has this position" in page(taken) and "Typed name</textarea>" in page(taken)
    empty = client.post(f"/staff/admin/routing/{rule.id}", data=rule_form(rule, name="", queue=""))
    assert empty.status_code == 422 and "Choose a queue." in page(empty)
    # The catch-all cannot become a rule with a condition.
    last = rules_in_order()[-1]
    narrowed = client.post(f"/staff/admin/routing/{last.id}", data=rule_form(last, region="astana"))
    assert "must match every report" in page(narrowed)
    assert system_events("rule_edited") == [] and rules_in_order()[-1].region is None


def test_moving_rules_swaps_positions_and_keeps_them_unique(app, admin):
    client, me = admin
    first, second, third = rules_in_order()[:3]
    positions = [r.position for r in (first, second, third)]
    response = client.post(f"/staff/admin/routing/{second.id}/up", follow_redirects=True)
    assert "Rule moved." in page(response)
    order = rules_in_order()
    assert [r.id for r in order[:3]] == [second.id, first.id, third.id]
    assert [r.position for r in order[:3]] == positions
    client.post(f"/staff/admin/routing/{second.id}/down")
    client.post(f"/staff/admin/routing/{second.id}/down")
    assert [r.id for r in rules_in_order()[:3]] == [first.id, third.id, second.id]
    positions = [r.position for r in rules_in_order()]
    assert len(positions) == len(set(positions)) and all(p > 0 for p in positions)
    events = system_events("rule_moved")
    assert len(events) == 3 and all(e.actor_id == me.id for e in events)
    assert json.loads(events[0].details) == {"from": positions[1], "to": positions[0], "swapped_with": first.name}


def test_moves_at_the_ends_and_past_the_catch_all_are_refused(app, admin):
    client, _ = admin
    order = rules_in_order()
    top = client.post(f"/staff/admin/routing/{order[0].id}/up", follow_redirects=True)
    assert "already first" in page(top)
    bottom = client.post(f"/staff/admin/routing/{order[-1].id}/down", follow_redirects=True)
    assert "already last" in page(bottom)
    catch_all = client.post(f"/staff/admin/routing/{order[-1].id}/up", follow_redirects=True)
    assert "must match every report" in page(catch_all)
    assert [r.id for r in rules_in_order()] == [r.id for r in order] and system_events("rule_moved") == []


FACTS = [
    {"category": "torture", "region": "astana", "immediate_danger": "no", "child_affected": "no", "in_custody": "yes"},
    {"category": "torture", "region": "astana", "immediate_danger": "yes", "child_affected": "no", "in_custody": "yes"},
    {
        "category": "cyberbullying",
        "region": "almaty",
        "immediate_danger": "no",
        "child_affected": "yes",
        "in_custody": "no",
    },
    {
        "category": "other",
        "region": "shymkent",
        "immediate_danger": "no",
        "child_affected": "unknown",
        "in_custody": "unknown",
    },
]


@pytest.mark.parametrize("facts", FACTS, ids=lambda f: f"{f['category']}-danger-{f['immediate_danger']}")
def test_trying_facts_shows_the_rule_that_would_win(app, admin, facts):
    client, _ = admin
    # A switched-off rule never wins.
    off = db.session.scalar(select(RoutingRule).where(RoutingRule.category == "women"))
    commands.toggle_rule(off, by=admin[1])
    events = system_events_count()
    response = client.get("/staff/admin/routing/test", query_string=facts)
    assert response.status_code == 200
    expected = routing.route(
        routing.ReportFacts(
            category=facts["category"],
            immediate_danger=facts["immediate_danger"] == "yes",
            child_affected=facts["child_affected"],
            in_custody=facts["in_custody"],
            region=facts["region"],
        ),
        rules_in_order(),
    )
    decision = page(response).split('id="routing-decision"')[1].split("</div>")[0]
    assert expected.rule.name in decision and db.session.get(QueueRow, expected.queue_id).slug in decision
    assert expected.rule.priority_name.capitalize() in decision
    assert system_events_count() == events  # reading only: no audit event, nothing saved


def test_trying_facts_that_cannot_be_a_report_says_so(app, admin):
    client, _ = admin
    response = client.get("/staff/admin/routing/test", query_string={**FACTS[0], "category": "nonsense"})
    assert response.status_code == 422 and 'id="routing-decision"' not in page(response)
    assert "Not a valid choice" in page(response) or "error" in page(response)
    blank = client.get("/staff/admin/routing/test")
    assert blank.status_code == 200 and "Test these facts" in page(blank)
