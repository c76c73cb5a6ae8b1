"""Administration: accounts (after re-authentication), memberships, queues and routing
rules; every change an audit event; the catch-all rule cannot be switched off; an admin
never reads case content."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from cases import audit, commands, queries
from cases.models import Event, Queue, QueueMembership, RoutingRule, StaffSession, User
from storage import db
from tests.helpers import PASSWORD, age_session, page, report


@pytest.fixture
def admin(staff):
    return staff("admin")


def system_events(action: str) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == action)
            .execution_options(populate_existing=True)
        )
    )


NEW_USER = {
    "email": "Dana@Example.org",
    "name": "Dana Seitkali",
    "role": "caseworker",
    "queues": ["women", "children"],
    "password": "a sturdy long passphrase",
}


# --- accounts ----------------------------------------------------------------------------


def test_admin_creates_a_user_after_reauthentication(app, admin):
    client, me = admin
    age_session(me)
    gate = client.get("/staff/admin/users")
    assert gate.status_code == 302 and "/staff/admin/reauth?next=/staff/admin/users" in gate.headers["Location"]
    assert client.post("/staff/admin/users", data=NEW_USER).status_code == 302
    assert db.session.scalar(select(User).where(User.email == "dana@example.org")) is None  # not before re-auth
    wrong = client.post("/staff/admin/reauth?next=/staff/admin/users", data={"password": "not my password!!"})
    assert wrong.status_code == 401 and "That password is not correct." in page(wrong)
    ok = client.post("/staff/admin/reauth?next=/staff/admin/users", data={"password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/staff/admin/users")
    created = client.post("/staff/admin/users", data=NEW_USER)
    assert created.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "dana@example.org"))
    assert (user.name, user.role, user.active) == ("Dana Seitkali", "caseworker", True)
    assert user.queues == []  # four eyes: the queues wait for a supervisor
    assert "takes effect once a supervisor approves it" in page(client.get("/staff/admin/users"))
    assert user.password_hash.startswith("$argon2id$")
    [event] = system_events("user_created")
    assert event.actor_id == me.id and event.new_value == "dana@example.org"
    assert json.loads(event.details)["role"] == "caseworker"
    [asked] = system_events("access_requested")
    assert asked.actor_id == me.id and json.loads(asked.details)["queues"] == ["children", "women"]
    approve_all()
    db.session.expire_all()
    assert sorted(q.slug for q in db.session.get(User, user.id).queues) == ["children", "women"]
    # The new colleague can sign in.
    assert (
        app.test_client()
        .post("/staff/login", data={"email": "dana@example.org", "password": NEW_USER["password"]})
        .status_code
        == 302
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "password1234"}, "too common"),
        ({"password": "short"}, "at least 12"),
        ({"email": "not-an-email"}, "valid email"),
    ],
)
def test_account_creation_refuses_bad_input(app, admin, change, message):
    client, _ = admin
    response = client.post("/staff/admin/users", data={**NEW_USER, **change})
    assert response.status_code == 422 and message in page(response)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert system_events("user_created") == []


def test_duplicate_account_is_refused(app, admin, make_user):
    client, _ = admin
    make_user("caseworker", ["general"], email="dana@example.org")
    response = client.post("/staff/admin/users", data=NEW_USER)
    assert response.status_code == 422 and "already exists" in page(response)


def test_supervisor_gets_no_queue_memberships(app, admin):
    client, _ = admin
    client.post("/staff/admin/users", data={**NEW_USER, "role": "supervisor"})
    user = db.session.scalar(select(User).where(User.email == "dana@example.org"))
    assert user.role == "supervisor" and user.queues == []


def test_admin_deactivates_a_user_and_their_sessions_end(app, admin, login_as):
    client, me = admin
    worker_client, worker = login_as("caseworker", ["general"])
    assert worker_client.get("/staff/").status_code == 200
    response = client.post(f"/staff/admin/users/{worker.id}/deactivate")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, worker.id).active is False
    assert (
        db.session.scalar(select(func.count()).select_from(StaffSession).where(StaffSession.user_id == worker.id)) == 0
    )
    assert worker_client.get("/staff/").status_code == 302
    [event] = system_events("user_deactivated")
    assert (event.actor_id, event.new_value) == (me.id, worker.email)
    listing = page(client.get("/staff/admin/users"))
    assert "deactivated" in listing


def test_admin_cannot_deactivate_themselves(app, admin):
    client, me = admin
    response = client.post(f"/staff/admin/users/{me.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in page(response)
    db.session.expire_all()
    assert db.session.get(User, me.id).active is True


def test_deactivation_needs_recent_authentication_and_comes_back_to_a_page(app, admin, make_user):
    client, me = admin
    worker = make_user("caseworker", ["general"])
    age_session(me)
    response = client.post(f"/staff/admin/users/{worker.id}/deactivate")
    assert response.status_code == 302 and "/staff/admin/reauth" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(User, worker.id).active is True
    back = client.post(response.headers["Location"], data={"password": PASSWORD})
    assert back.status_code == 302
    # The way back is a page that answers GET, not the POST-only action.
    assert client.get(back.headers["Location"]).status_code == 200


def test_missing_account_is_404(app, admin):
    client, _ = admin
    assert client.get("/staff/admin/users/99999").status_code == 404
    assert client.post("/staff/admin/users/99999/deactivate").status_code == 404


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/staff/", "/track", ""])
def test_reauth_never_sends_you_off_the_staff_side(app, admin, target):
    client, _ = admin
    response = client.post(f"/staff/admin/reauth?next={target}", data={"password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] in ("/staff/", "http://localhost/staff/")


def test_admin_edits_memberships(app, admin, make_user, login_as):
    client, me = admin
    worker_client, worker = login_as("caseworker", ["general"])
    form = page(client.get(f"/staff/admin/users/{worker.id}"))
    assert worker.email in form
    response = client.post(f"/staff/admin/users/{worker.id}", data={"queues": ["women", "online"]})
    assert response.status_code == 302

    def slugs():
        return set(
            db.session.scalars(
                select(Queue.slug)
                .join(QueueMembership, QueueMembership.queue_id == Queue.id)
                .where(QueueMembership.user_id == worker.id)
            )
        )

    # Less access takes effect at once; more waits for a supervisor.
    assert slugs() == set()
    [event] = system_events("membership_changed")
    assert event.actor_id == me.id and json.loads(event.details) == {
        "queues": ["online", "women"],
        "removed": ["general"],
    }
    assert worker_client.get("/staff/queues/general").status_code == 404
    assert worker_client.get("/staff/queues/women").status_code == 404
    approve_all()
    assert slugs() == {"women", "online"}
    assert worker_client.get("/staff/queues/women").status_code == 200


def test_unknown_queue_in_membership_form_is_refused(app, admin, make_user):
    client, _ = admin
    worker = make_user("caseworker", ["general"])
    response = client.post(f"/staff/admin/users/{worker.id}", data={"queues": ["no-such-queue"]})
    assert response.status_code == 200
    assert [q.slug for q in db.session.get(User, worker.id).queues] == ["general"]


# --- queues ------------------------------------------------------------------------------


def test_admin_creates_a_queue(app, admin):
    client, me = admin
    response = client.post(
        "/staff/admin/queues",
        data={"slug": "Labour-Rights", "name": "Labour rights unit", "description": "Unpaid wages"},
    )
    assert response.status_code == 302
    queue = db.session.scalar(select(Queue).where(Queue.slug == "labour-rights"))
    assert queue.name == "Labour rights unit" and queue.active
    assert system_events("queue_created")[0].new_value == "labour-rights"


@pytest.mark.parametrize(("slug", "message"), [("general", "exists"), ("bad slug!", "only letters")])
def test_bad_queue_names_are_refused(app, admin, slug, message):
    client, _ = admin
    before = db.session.scalar(select(func.count()).select_from(Queue))
    response = client.post("/staff/admin/queues", data={"slug": slug, "name": "X"})
    assert response.status_code == 200 and message in page(response)
    assert db.session.scalar(select(func.count()).select_from(Queue)) == before


# --- routing rules -------------------------------------------------------------------------


def rule(**where) -> RoutingRule:
    return db.session.scalar(
        select(RoutingRule)
        .where(*(getattr(RoutingRule, k) == v for k, v in where.items()))
        .execution_options(populate_existing=True)
    )


def catch_all() -> RoutingRule:
    return db.session.scalar(select(RoutingRule).order_by(RoutingRule.position.desc()).limit(1))


RULE = {
    "name": "Ongoing custody cases in Shymkent",
    "position": "5",
    "category": "",
    "immediate_danger": "",
    "child_affected": "",
    "in_custody": "yes",
    "region": "shymkent",
    "queue": "justice",
    "priority": "high",
}


def test_admin_adds_a_rule_and_routing_uses_it(app, admin):
    from cases import commands

    client, me = admin
    response = client.post("/staff/admin/routing", data=RULE)
    assert response.status_code == 302
    added = rule(name=RULE["name"])
    assert (added.position, added.in_custody, added.region, added.category, added.immediate_danger) == (
        5,
        "yes",
        "shymkent",
        None,
        None,
    )
    assert system_events("rule_created")[0].new_value == RULE["name"]
    filed = commands.file_report(
        report(in_custody="yes", region="shymkent", category="women"), app.extensions["shagym_receipt_key"]
    )
    assert (filed.queue.slug, filed.case.routing_rule_name) == ("justice", RULE["name"])


def test_rule_after_the_catch_all_is_refused(app, admin):
    client, _ = admin
    response = client.post("/staff/admin/routing", data={**RULE, "position": str(catch_all().position + 10)})
    assert "The last active rule must match every report" in page(response)
    assert rule(name=RULE["name"]) is None
    assert system_events("rule_created") == []


@pytest.mark.parametrize("position", ["0", "-5", "100000", "99999999999999999999", "ten"])
def test_rule_position_must_be_a_sensible_number(app, admin, position):
    client, _ = admin
    response = client.post("/staff/admin/routing", data={**RULE, "position": position})
    assert response.status_code == 200
    assert rule(name=RULE["name"]) is None


def test_rule_position_must_be_free(app, admin):
    client, _ = admin
    response = client.post("/staff/admin/routing", data={**RULE, "position": "10"})
    assert "Another rule has this position" in page(response)
    assert rule(name=RULE["name"]) is None


def test_catch_all_cannot_be_switched_off(app, admin):
    client, _ = admin
    last = catch_all()
    response = client.post(f"/staff/admin/routing/{last.id}/toggle", follow_redirects=True)
    assert "The last active rule must match every report" in page(response)
    db.session.expire_all()
    assert db.session.get(RoutingRule, last.id).active is True
    assert system_events("rule_toggled") == []


def test_rule_switched_off_and_on(app, admin):
    client, me = admin
    women = rule(category="women")
    client.post(f"/staff/admin/routing/{women.id}/toggle")
    assert rule(id=women.id).active is False
    client.post(f"/staff/admin/routing/{women.id}/toggle")
    assert rule(id=women.id).active is True
    events = system_events("rule_toggled")
    assert [json.loads(e.details) for e in events] == [{"active": False}, {"active": True}]
    assert {e.actor_id for e in events} == {me.id}


def test_routing_page_lists_rules_in_order(app, admin):
    client, _ = admin
    body = page(client.get("/staff/admin/routing"))
    names = [r.name for r in db.session.scalars(select(RoutingRule).order_by(RoutingRule.position))]
    positions = [body.index(n) for n in names]
    assert positions == sorted(positions)


# --- separation of duties --------------------------------------------------------------------


def test_admin_never_reads_case_content(app, admin, make_case):
    client, _ = admin
    case = make_case(narrative="The guard at colony 12 broke my husband's arm during a search.").case
    for path in (
        f"/staff/cases/{case.id}",
        "/staff/queues/general",
        "/staff/supervise/activity",
        "/staff/supervise/audit",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "colony 12" not in page(response) and case.reference not in page(response)
    for path in (f"/staff/cases/{case.id}/claim", f"/staff/cases/{case.id}/messages"):
        assert client.post(path, data={"body": "x", "kind": "note"}).status_code == 403
    home = client.get("/staff/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/staff/admin/users")
    assert [e.action for e in db.session.scalars(select(Event).where(Event.chain_id == case.id))] == [
        "created",
        "routed",
    ]  # not even a "viewed"


def test_admin_pages_are_for_admins_only(app, login_as):
    client, _ = login_as("supervisor")
    for path in ("/staff/admin/users", "/staff/admin/queues", "/staff/admin/routing"):
        assert client.get(path).status_code == 403
    assert client.post("/staff/admin/queues", data={"slug": "sneaky", "name": "Sneaky"}).status_code == 403
    assert db.session.scalar(select(Queue).where(Queue.slug == "sneaky")) is None


# --- four eyes: case access that an admin asks for, a supervisor decides ----------------------


def approve_all(approve: bool = True) -> None:
    """A supervisor (a second person) decides every pending request."""
    supervisor = db.session.scalar(select(User).where(User.role == "supervisor", User.active.is_(True)))
    if supervisor is None:
        supervisor = commands.create_user("approver@example.org", "Approver", "supervisor", PASSWORD)
    for request in queries.pending_access():
        commands.decide_access(request.id, approve, supervisor)


def test_a_supervisor_created_by_an_admin_cannot_sign_in_until_another_supervisor_approves(app, admin, staff):
    client, me = admin
    data = {**NEW_USER, "email": "boss@example.org", "role": "supervisor", "queues": []}
    assert client.post("/staff/admin/users", data=data).status_code == 302
    boss = db.session.scalar(select(User).where(User.email == "boss@example.org"))
    assert boss.active is False
    login = {"email": "boss@example.org", "password": NEW_USER["password"]}
    assert app.test_client().post("/staff/login", data=login).status_code == 401
    # The admin cannot approve it; a supervisor sees it and approves.
    assert client.get("/staff/supervise/approvals").status_code == 403
    [pending] = queries.pending_access()
    assert client.post(f"/staff/supervise/approvals/{pending.id}/approve").status_code == 403
    approver, approver_user = staff("supervisor")
    listing = page(approver.get("/staff/supervise/approvals"))
    assert "boss@example.org" in listing and "A supervisor account (sees every case)" in listing
    done = approver.post(f"/staff/supervise/approvals/{pending.id}/approve", follow_redirects=True)
    assert "Access approved." in page(done) and "Nothing waits for approval." in page(done)
    db.session.expire_all()
    assert db.session.get(User, boss.id).active is True
    assert app.test_client().post("/staff/login", data=login).status_code == 302
    [event] = system_events("access_approved")
    assert event.actor_id == approver_user.id and json.loads(event.details)["kind"] == "supervisor"
    # A decided request cannot be decided again.
    assert approver.post(f"/staff/supervise/approvals/{pending.id}/refuse").status_code == 404


def test_refused_queues_are_never_added(app, admin, staff, make_user):
    client, _ = admin
    worker = make_user("caseworker", ["general"])
    client.post(f"/staff/admin/users/{worker.id}", data={"queues": ["general", "torture-prevention"]})
    approver, _ = staff("supervisor")
    [pending] = queries.pending_access()
    assert pending.queue_slugs == ["torture-prevention"]
    response = approver.post(f"/staff/supervise/approvals/{pending.id}/refuse", follow_redirects=True)
    assert "Access refused." in page(response)
    assert [q.slug for q in db.session.get(User, worker.id).queues] == ["general"]
    assert len(system_events("access_refused")) == 1


def test_nobody_approves_access_they_asked_for_or_that_is_their_own(app, make_user):
    admin_user = make_user("admin")
    supervisor = make_user("supervisor")
    worker = commands.create_user("w@example.org", "Worker", "caseworker", PASSWORD, ["general"], by=admin_user)
    [pending] = queries.pending_access()
    with pytest.raises(commands.Forbidden):
        commands.decide_access(pending.id, True, admin_user)  # an admin is not a supervisor
    with pytest.raises(commands.Forbidden):
        commands.decide_access(pending.id, True, worker)
    commands.decide_access(pending.id, True, supervisor)
    assert [q.slug for q in db.session.get(User, worker.id).queues] == ["general"]


def test_the_servers_cli_still_grants_access_at_once(app, runner, monkeypatch):
    monkeypatch.setenv("SHAGYM_PASSWORD", NEW_USER["password"])
    result = runner.invoke(args=["create-user", "cli@example.org", "--name", "From CLI", "--role", "supervisor"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "cli@example.org"))
    assert user.active is True and queries.pending_access() == []


ALWAYS_ON = {
    "kk": "әрқашан қосулы: соңғы ереже әр өтінішті қамтиды",
    "ru": "всегда включено: последнее правило подходит для любого обращения",
    "en": "always on: the final rule catches every report",
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_catch_all_offers_no_switch_off(app, admin, lang):
    client, _ = admin
    client.set_cookie("lang", lang)
    last = catch_all()
    body = page(client.get("/staff/admin/routing"))
    assert f"/staff/admin/routing/{last.id}/toggle" not in body  # not offered: it would always be refused
    assert ALWAYS_ON[lang] in body
    assert f"/staff/admin/routing/{rule(category='women').id}/toggle" in body


def test_the_rule_before_an_inactive_catch_all_is_the_one_locked(app):
    from types import SimpleNamespace as R

    from cases import routing

    def r(position, active=True, **conditions):
        values = dict.fromkeys(routing.CONDITIONS)
        values.update(conditions)
        return R(position=position, active=active, **values)

    specific, catch, spare = r(1, category="women"), r(2), r(3, active=False)
    assert not routing.can_switch_off(catch, [specific, catch, spare])
    assert routing.can_switch_off(specific, [specific, catch, spare])
    second = r(4)
    assert routing.can_switch_off(catch, [specific, catch, spare, second])


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_new_rule_form_makes_the_admin_choose_queue_and_priority(app, admin, lang):
    client, _ = admin
    client.set_cookie("lang", lang)
    body = page(client.get("/staff/admin/routing"))
    for name in ("queue", "priority"):
        menu = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
        first = re.search(r"<option([^>]*)>", menu).group(1)
        assert 'value=""' in first and "selected" not in menu.split("</option>", 1)[1]
    response = client.post("/staff/admin/routing", data={**RULE, "queue": "", "priority": ""})
    assert rule(name=RULE["name"]) is None
    messages = {"kk": "Кезекті таңдаңыз.", "ru": "Выберите очередь.", "en": "Choose a queue."}
    assert messages[lang] in page(response)
