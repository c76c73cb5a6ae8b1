"""The authorization matrix: every staff route in ``app.url_map`` × every kind of visitor.

The expected answers are written out below, per (endpoint, method). A route in
the url_map without a line here fails ``test_every_staff_route_has_an_expectation``,
so nobody adds a staff page without deciding who may use it.
"""

from __future__ import annotations

import hashlib
import html
import re

import pytest
from flask import url_for
from sqlalchemy import select

from cases import commands
from cases.models import (
    AccessRequest,
    Case,
    CaseInstitution,
    Event,
    Evidence,
    Institution,
    Message,
    PartnerBody,
    Queue,
    QueueMembership,
    ReplyTemplate,
    RoutingRule,
    StaffSession,
    User,
)
from staff import gate
from storage import db
from tests.helpers import PASSWORD, count, report, signed_in

ACTORS = ("anonymous", "caseworker_of_queue", "caseworker_of_other_queue", "supervisor", "admin")
STAFF_BLUEPRINTS = (
    "staff",
    "staff_auth",
    "staff_admin",
    "supervise",
    "statistics",
    "oversight",
    "service_levels",
    "treaties",
    "institutions",
)

LOGIN = "login"  # 302 to the sign-in page
BACK = "back"  # 302 back to the case page, with a flash message
ENROL = "enrol"  # 302 to the two-factor setup
HOME = "home"  # 302 to the staff home page
ADMIN_HOME = "admin_home"  # 302 to the accounts page
SELF = "self"  # 302 to the same page (e.g. a saved form)
RULES = "rules"  # 302 to the routing rules
APPROVALS = "approvals"  # 302 to the access requests
SELF_QUEUE = "queue"  # 302 back to the queue page
LEVELS = "levels"  # 302 to the service-level targets
TREATIES = "treaties"  # 302 to the treaty provisions
TAGS = "tags"  # 302 to the tag vocabulary
REGISTER = "register"  # 302 to the register of institutions
TEMPLATES = "templates"  # 302 to the reply templates
PARENT = "parent"  # 302 to the page the action belongs to (an account's page)
QUEUES = "queues"  # 302 to the admin's queue list
PARTNERS = "partners"  # 302 to the partner bodies
PASSWORD_PAGE = "password"  # 302 to the ordinary password change (no reset code was used)


def e(anonymous, in_queue, other_queue, supervisor, admin) -> dict[str, object]:
    return dict(zip(ACTORS, (anonymous, in_queue, other_queue, supervisor, admin), strict=True))


CASE_PAGE = e(LOGIN, 200, 404, 200, 403)
CASE_ACTION = e(LOGIN, BACK, 404, BACK, 403)
SUPERVISOR_ACTION = e(LOGIN, 403, 403, BACK, 403)
SUPERVISOR_PAGE = e(LOGIN, 403, 403, 200, 403)

EXPECTED: dict[tuple[str, str], dict[str, object]] = {
    # Sign-in pages: the login form is the one public staff page.
    ("staff_auth.login", "GET"): e(200, 200, 200, 200, 200),
    ("staff_auth.login", "POST"): e(200, 200, 200, 200, 200),  # empty form comes back with errors
    ("staff_auth.logout", "POST"): e(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    ("staff_auth.second_factor", "GET"): e(LOGIN, ENROL, ENROL, 200, 200),
    ("staff_auth.second_factor", "POST"): e(LOGIN, ENROL, ENROL, 401, 401),  # no code: refused
    ("staff_auth.enrol", "GET"): e(LOGIN, 200, 200, 200, 200),
    ("staff_auth.enrol", "POST"): e(LOGIN, 200, 200, 200, 200),
    ("staff_auth.change_password", "GET"): e(LOGIN, 200, 200, 200, 200),
    ("staff_auth.change_password", "POST"): e(LOGIN, 200, 200, 200, 200),
    # Only a session opened with a one-time reset code may set a password without the current one.
    ("staff_auth.new_password", "GET"): e(LOGIN, PASSWORD_PAGE, PASSWORD_PAGE, PASSWORD_PAGE, PASSWORD_PAGE),
    ("staff_auth.new_password", "POST"): e(LOGIN, PASSWORD_PAGE, PASSWORD_PAGE, PASSWORD_PAGE, PASSWORD_PAGE),
    # Queues and cases. Another queue's case and queue answer 404: their existence is not revealed.
    ("staff.home", "GET"): e(LOGIN, 200, 200, 200, ADMIN_HOME),
    ("staff.queue", "GET"): e(LOGIN, 200, 404, 200, 403),
    ("staff.search", "GET"): e(LOGIN, 200, 200, 200, 403),  # results only from one's own queues
    ("staff.hand_over", "POST"): e(LOGIN, BACK, 404, 403, 403),  # supervisors assign instead
    ("staff.report_for_someone", "GET"): e(LOGIN, 200, 200, 200, 403),
    ("staff.report_for_someone", "POST"): e(LOGIN, 422, 422, 422, 403),  # empty form comes back with errors
    ("staff.bulk", "POST"): e(LOGIN, SELF_QUEUE, 404, SELF_QUEUE, 403),  # nothing ticked: back to the queue
    # Saved views: each person's own (the view here is the queue case worker's).
    ("staff.save_view", "POST"): e(LOGIN, SELF_QUEUE, 404, SELF_QUEUE, 403),
    ("staff.open_view", "GET"): e(LOGIN, SELF_QUEUE, 404, 404, 403),
    ("staff.delete_view", "POST"): e(LOGIN, HOME, 404, 404, 403),
    ("staff.case", "GET"): CASE_PAGE,
    ("staff.evidence_download", "GET"): CASE_PAGE,
    ("staff.claim", "POST"): CASE_ACTION,
    ("staff.status", "POST"): CASE_ACTION,
    ("staff.priority", "POST"): CASE_ACTION,
    ("staff.add_message", "POST"): CASE_ACTION,
    ("staff.assign", "POST"): SUPERVISOR_ACTION,
    ("staff.move", "POST"): SUPERVISOR_ACTION,
    ("staff.hold", "POST"): SUPERVISOR_ACTION,
    # Supervision.
    ("supervise.activity", "GET"): SUPERVISOR_PAGE,
    ("supervise.access", "GET"): SUPERVISOR_PAGE,  # who opened how many cases: supervisors only
    ("supervise.audit_status", "GET"): SUPERVISOR_PAGE,
    ("supervise.escalations", "GET"): SUPERVISOR_PAGE,
    # Statistics: counts only, still supervisors only (the table, its files and the report).
    ("statistics.index", "GET"): SUPERVISOR_PAGE,
    ("statistics.table_csv", "GET"): SUPERVISOR_PAGE,
    ("statistics.table_xlsx", "GET"): SUPERVISOR_PAGE,
    ("statistics.report", "GET"): SUPERVISOR_PAGE,
    ("statistics.report_pdf", "GET"): SUPERVISOR_PAGE,
    ("oversight.index", "GET"): SUPERVISOR_PAGE,
    ("oversight.figure_csv", "GET"): SUPERVISOR_PAGE,
    # Exports of case lists: supervisors only (after a recent password, which a fresh sign-in is).
    ("supervise.export", "GET"): SUPERVISOR_PAGE,
    ("supervise.export", "POST"): e(LOGIN, 403, 403, 200, 403),  # 200: the file
    # Four eyes: only a supervisor decides on case access that an admin asked for.
    ("supervise.approvals", "GET"): SUPERVISOR_PAGE,
    ("supervise.decide", "POST"): e(LOGIN, 403, 403, APPROVALS, 403),
    # The tag vocabulary is the supervisors'; tags and links on a case, anyone who works it.
    ("supervise.tags", "GET"): SUPERVISOR_PAGE,
    ("supervise.tags", "POST"): e(LOGIN, 403, 403, 422, 403),  # empty form comes back with errors
    ("supervise.tag", "GET"): SUPERVISOR_PAGE,
    ("supervise.tag", "POST"): e(LOGIN, 403, 403, TAGS, 403),
    ("supervise.toggle_tag", "POST"): e(LOGIN, 403, 403, TAGS, 403),
    ("staff.add_tag", "POST"): CASE_ACTION,
    ("staff.remove_tag", "POST"): CASE_ACTION,
    ("staff.link", "POST"): CASE_ACTION,
    ("staff.unlink", "POST"): CASE_ACTION,
    # Reply templates: supervisors write them; case workers only insert them into a message.
    ("supervise.templates", "GET"): SUPERVISOR_PAGE,
    ("supervise.new_template", "GET"): SUPERVISOR_PAGE,
    ("supervise.new_template", "POST"): e(LOGIN, 403, 403, 422, 403),  # empty form: refused with errors
    ("supervise.edit_template", "GET"): SUPERVISOR_PAGE,
    ("supervise.edit_template", "POST"): e(LOGIN, 403, 403, TEMPLATES, 403),
    ("supervise.toggle_template", "POST"): e(LOGIN, 403, 403, TEMPLATES, 403),
    ("staff.insert_template", "POST"): e(LOGIN, 200, 404, 200, 403),  # the case page again; nothing stored
    # Administration: admins only, and never case content (above).
    ("staff_admin.reauth", "GET"): e(LOGIN, 200, 200, 200, 200),  # confirming one's password harms no one
    ("staff_admin.reauth", "POST"): e(LOGIN, 200, 200, 200, 200),
    ("staff_admin.users", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.users", "POST"): e(LOGIN, 403, 403, 403, 422),  # empty form: refused with errors
    ("staff_admin.user", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.user", "POST"): e(LOGIN, 403, 403, 403, SELF),
    ("staff_admin.deactivate", "POST"): e(LOGIN, 403, 403, 403, ADMIN_HOME),
    ("staff_admin.change_role", "POST"): e(LOGIN, 403, 403, 403, PARENT),  # asks a supervisor
    ("staff_admin.reset_password", "POST"): e(LOGIN, 403, 403, 403, 200),  # the one-time code, shown once
    ("staff_admin.reset_two_factor", "POST"): e(LOGIN, 403, 403, 403, PARENT),
    ("staff_admin.reactivate", "POST"): e(LOGIN, 403, 403, 403, PARENT),  # already active: refused
    ("staff_admin.queues", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.queues", "POST"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.edit_queue", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.edit_queue", "POST"): e(LOGIN, 403, 403, 403, QUEUES),
    ("staff_admin.toggle_queue", "POST"): e(LOGIN, 403, 403, 403, QUEUES),  # rules route to it: refused
    ("staff_admin.rules", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.rules", "POST"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.edit_rule", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.edit_rule", "POST"): e(LOGIN, 403, 403, 403, 422),  # empty form: refused with errors
    ("staff_admin.toggle_rule", "POST"): e(LOGIN, 403, 403, 403, RULES),
    ("service_levels.index", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("service_levels.edit", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("service_levels.edit", "POST"): e(LOGIN, 403, 403, 403, LEVELS),
    ("treaties.index", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("treaties.index", "POST"): e(LOGIN, 403, 403, 403, TREATIES),
    ("treaties.map_category", "POST"): e(LOGIN, 403, 403, 403, TREATIES),
    ("staff_admin.move_rule", "POST"): e(LOGIN, 403, 403, 403, RULES),
    # The register of institutions: administrators keep it (and see no case through it); case
    # workers and supervisors link the cases they may see; the ranking is the supervisors'.
    ("institutions.register", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("institutions.register", "POST"): e(LOGIN, 403, 403, 403, 422),  # empty form: refused with errors
    ("institutions.edit", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("institutions.edit", "POST"): e(LOGIN, 403, 403, 403, REGISTER),
    ("institutions.toggle", "POST"): e(LOGIN, 403, 403, 403, REGISTER),
    ("institutions.delete", "POST"): e(LOGIN, 403, 403, 403, REGISTER),  # a case links to it: refused
    ("institutions.link", "POST"): CASE_ACTION,
    ("institutions.unlink", "POST"): CASE_ACTION,
    ("institutions.institution", "GET"): e(LOGIN, 200, 200, 200, 403),  # lists only the viewer's cases
    ("institutions.ranking", "GET"): SUPERVISOR_PAGE,
    ("institutions.ranking_csv", "GET"): SUPERVISOR_PAGE,
    ("staff_admin.try_rules", "GET"): e(LOGIN, 403, 403, 403, 200),  # reads only
    # Partner bodies: the admins' register; referrals: whoever works the case (a refusal: 422).
    ("staff_admin.partners", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.partners", "POST"): e(LOGIN, 403, 403, 403, 422),  # empty form: refused with errors
    ("staff_admin.edit_partner", "GET"): e(LOGIN, 403, 403, 403, 200),
    ("staff_admin.edit_partner", "POST"): e(LOGIN, 403, 403, 403, PARTNERS),
    ("staff_admin.toggle_partner", "POST"): e(LOGIN, 403, 403, 403, PARTNERS),
    ("staff_admin.delete_partner", "POST"): e(LOGIN, 403, 403, 403, PARTNERS),  # a referral names it: refused
    ("staff.new_referral", "GET"): CASE_PAGE,
    ("staff.new_referral", "POST"): e(LOGIN, 422, 404, 422, 403),  # no body chosen: refused
    ("staff.referral", "GET"): CASE_PAGE,
    ("staff.referral_letter_page", "GET"): CASE_PAGE,
    ("staff.referral_letter_pdf", "GET"): CASE_PAGE,
    ("staff.send_referral", "POST"): e(LOGIN, 422, 404, 422, 403),  # the case is new: no step to referred
    ("staff.referral_answer", "POST"): e(LOGIN, 422, 404, 422, 403),  # not sent: no answer yet
    ("staff.withdraw_referral", "POST"): e(LOGIN, 422, 404, 422, 403),  # no reason given
}

# What a form sends, per endpoint: enough for the action to really happen when allowed.
FORMS = {
    "staff.claim": {"version": "1"},
    "staff.status": {"target": "triage"},
    "staff.priority": {"priority": "urgent", "reason": "matrix"},
    "staff.add_message": {"kind": "note", "body": "A note from the matrix"},
    "staff.assign": {"assignee": "", "reason": "matrix"},
    "staff.move": {"queue": "children", "reason": "matrix"},
    "staff.hold": {"hold": "y", "reason": "matrix"},
    "staff_admin.user": {"queues": ["general"]},
    "staff.save_view": {"view-name": "From the matrix", "status": "all"},
    "supervise.export": {"export-fields": ["reference"], "export-format": "csv"},
    "service_levels.edit": {"first_response_working_days": "4", "resolution_working_days": "20"},
    "treaties.index": {"treaty": "ICESCR", "article": "12", "title": "Health"},
    "treaties.map_category": {"provision": []},
    "supervise.tag": {"name_kk": "Жер", "name_ru": "Земля", "name_en": "Land (matrix)"},
    "staff.link": {"reference": "SHG-2099-999999", "kind": "related"},
    "supervise.edit_template": {"name": "Matrix", "language": "en", "body": "Changed by the matrix"},
    "staff.insert_template": {"kind": "note", "body": "typed", "template": "1"},
    "staff_admin.change_role": {"role": "supervisor"},
    "staff_admin.edit_queue": {"name": "General matters", "description": "Renamed by the matrix"},
    "institutions.edit": {"name": "Отдел полиции (matrix)", "kind": "police", "region": "astana"},
    "institutions.link": {"institution": "2"},
    "staff_admin.edit_partner": {
        "name_kk": "Матрица",
        "name_ru": "Матрица",
        "name_en": "Matrix body (fictional)",
        "kind": "ngo",
        "contact": "Matrix street",
        "answer_days": "9",
    },
    "staff.send_referral": {"letter_number": "1/1", "sent_on": "2026-01-01"},
}


def staff_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in STAFF_BLUEPRINTS]


def route_methods(app) -> set[tuple[str, str]]:
    return {(r.endpoint, m) for r in staff_rules(app) for m in r.methods - {"HEAD", "OPTIONS"}}


def test_every_staff_route_has_an_expectation(app):
    missing = route_methods(app) - set(EXPECTED)
    assert not missing, f"routes without an authorization rule in this test: {sorted(missing)}"
    stale = set(EXPECTED) - route_methods(app)
    assert not stale, f"expectations for routes that no longer exist: {sorted(stale)}"


def test_staff_blueprints_are_the_deny_by_default_ones(app):
    assert set(STAFF_BLUEPRINTS) == set(gate.STAFF_BLUEPRINTS)
    assert gate.PUBLIC == {"staff_auth.login"}
    # Every /staff URL belongs to one of them, so none escapes the deny-by-default check.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff"):
            assert rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS, rule.rule


@pytest.fixture
def world(app, make_case, make_user):
    """A case with a file in general, another in women, a signed-in client per actor and a value
    for every URL argument of the staff routes."""
    case = make_case().case
    hidden = make_case(category="women").case  # the other caseworker's queue
    evidence = Evidence(
        case_id=case.id,
        filename="photo.jpg",
        kind="jpg",
        size=4,
        sha256=hashlib.sha256(b"\xff\xd8\xff\xe0").hexdigest(),
        content=b"\xff\xd8\xff\xe0",
    )
    db.session.add(evidence)
    db.session.commit()
    users = {
        "caseworker_of_queue": make_user("caseworker", ["general"]),
        "caseworker_of_other_queue": make_user("caseworker", ["women"]),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
    }
    clients = {"anonymous": app.test_client()} | {name: signed_in(app, user) for name, user in users.items()}
    target = make_user("caseworker", ["general"], email="target@example.org")
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.category == "women"))
    # An admin asked for another queue for the target; a supervisor must decide.
    commands.set_memberships(target, ["general", "children"], by=users["admin"])
    pending = db.session.scalar(select(AccessRequest.id))
    tag = commands.create_tag("land", {"kk": "Жер дауы", "ru": "Земельный спор", "en": "Land"}, by=users["supervisor"])
    commands.add_tag(case.id, users["supervisor"], tag.id)
    link = commands.link_cases(case.id, users["supervisor"], make_case().case.reference, "related")
    template = commands.create_template("Acknowledgement", "en", "We received {reference}.", users["supervisor"])
    assert template.id == 1  # the id the insert form above sends
    institution = commands.create_institution("ИВС (matrix)", {}, "ivs", "astana", by=users["admin"])
    spare = commands.create_institution("Школа (matrix)", {}, "school", "astana", by=users["admin"])
    assert spare.id == 2  # the id the link form above sends
    commands.link_institution(case.id, users["supervisor"], institution.id)
    partner = PartnerBody(
        name_kk="Демо", name_ru="Демо", name_en="Demo body (fictional)", kind="ngo", contact="-", answer_days=5
    )
    db.session.add(partner)
    db.session.commit()
    referral = commands.prepare_referral(
        case.id, users["supervisor"], commands.Draft(partner.id, "deidentified", ["category"], "en", False)
    )
    values = {
        "tag_id": tag.id,
        "link_id": link.id,
        "template_id": template.id,
        "request_id": pending,
        "decision": "approve",
        "case_id": case.id,
        "slug": "general",
        "user_id": target.id,
        "rule_id": rule.id,
        "evidence_id": evidence.id,
        "category": "women",
        "figure": "weeks",
        "view_id": commands.save_view(users["caseworker_of_queue"], case.queue, "Mine", "who=me").id,
        "queue_id": db.session.scalar(select(Queue.id).where(Queue.slug == "general")),
        "direction": "up",
        "institution_id": institution.id,
        "partner_id": partner.id,
        "referral_id": referral.id,
    }
    return {"case": case, "hidden": hidden, "users": users, "clients": clients, "values": values}


def url(app, endpoint: str, values: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})


def fingerprint(case_id: int) -> tuple:
    """What a refused request must not change."""
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return (
        count(Event),
        count(Message),
        count(User),
        count(QueueMembership),
        count(CaseInstitution),
        tuple(db.session.execute(select(Institution.name, Institution.active).order_by(Institution.id)).all()),
        count(StaffSession),
        (case.status, case.priority, case.queue_id, case.assignee_id, case.legal_hold, case.version),
        tuple(db.session.scalars(select(User.active).order_by(User.id))),
        tuple(db.session.scalars(select(RoutingRule.active).order_by(RoutingRule.id))),
        tuple(db.session.scalars(select(AccessRequest.decided_at).order_by(AccessRequest.id))),
        tuple(db.session.execute(select(ReplyTemplate.name, ReplyTemplate.body, ReplyTemplate.active)).all()),
    )


def check(response, expected, path: str, case_id: int) -> None:
    location = response.headers.get("Location", "")
    if isinstance(expected, int):
        assert response.status_code == expected, (path, response.status_code, location)
        return
    assert response.status_code == 302, (path, response.status_code)
    target = {
        LOGIN: "/staff/login",
        BACK: f"/staff/cases/{case_id}",
        ENROL: "/staff/2fa/setup",
        HOME: "/staff/",
        ADMIN_HOME: "/staff/admin/users",
        SELF: path,
        RULES: "/staff/admin/routing",
        APPROVALS: "/staff/supervise/approvals",
        TEMPLATES: "/staff/supervise/templates",
        SELF_QUEUE: "/staff/queues/general",
        LEVELS: "/staff/admin/service-levels/",
        TREATIES: "/staff/admin/treaties/",
        TAGS: "/staff/supervise/tags",
        REGISTER: "/staff/admin/institutions",
        PARENT: path.rsplit("/", 1)[0],
        QUEUES: "/staff/admin/queues",
        PARTNERS: "/staff/admin/partners",
        PASSWORD_PAGE: "/staff/password",
    }[expected]
    assert location.split("#")[0].split("?")[0].endswith(target), (path, location)


@pytest.mark.parametrize(("endpoint", "method"), sorted(EXPECTED), ids=[f"{m} {ep}" for ep, m in sorted(EXPECTED)])
def test_authorization_matrix(app, world, endpoint, method):
    path = url(app, endpoint, world["values"])
    expectations = EXPECTED[(endpoint, method)]
    for actor in ACTORS:
        client = world["clients"][actor]
        before = fingerprint(world["case"].id)
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data=FORMS.get(endpoint, {}))
        expected = expectations[actor]
        check(response, expected, path, world["case"].id)
        if expected in (LOGIN, 403, 404) and endpoint != "staff_auth.logout":
            assert fingerprint(world["case"].id) == before, (actor, path)
        if actor == "caseworker_of_other_queue" and "case_id" in path_arguments(app, endpoint):
            # The same answer for a case that does not exist at all: no existence oracle.
            values = {**world["values"], "case_id": world["case"].id + 10_000}
            ghost = (
                client.get(url(app, endpoint, values))
                if method == "GET"
                else client.post(url(app, endpoint, values), data=FORMS.get(endpoint, {}))
            )
            assert ghost.status_code == response.status_code, (path, ghost.status_code)


def path_arguments(app, endpoint: str) -> set[str]:
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint).arguments


def test_other_queue_case_is_404_whatever_the_form(app, world):
    client = world["clients"]["caseworker_of_other_queue"]
    for form in ({}, {"target": "nonsense"}, {"target": "triage"}):
        assert client.post(f"/staff/cases/{world['case'].id}/status", data=form).status_code == 404, form
        assert client.post(f"/staff/cases/{world['case'].id + 10_000}/status", data=form).status_code == 404, form


@pytest.mark.parametrize("actor", ["caseworker_of_queue", "supervisor"])
def test_actions_allowed_in_the_matrix_really_happen(app, world, actor):
    """BACK in the matrix is not just a redirect: the change is made."""
    client = world["clients"][actor]
    cid = world["case"].id
    client.post(f"/staff/cases/{cid}/status", data={"target": "triage"})
    client.post(f"/staff/cases/{cid}/messages", data={"kind": "note", "body": "Seen by " + actor})
    db.session.expire_all()
    assert db.session.get(Case, cid).status == "triage"
    assert db.session.scalar(select(Message).where(Message.case_id == cid)).body == "Seen by " + actor


def test_other_queue_case_is_hidden_from_search_and_lists(app, world):
    client = world["clients"]["caseworker_of_other_queue"]
    case = world["case"]
    home = client.get("/staff/").get_data(as_text=True)
    women = client.get("/staff/queues/women").get_data(as_text=True)
    assert case.reference not in home and case.reference not in women
    assert world["hidden"].reference in women
    found = client.get(f"/staff/queues/women?ref={case.reference}")
    assert found.status_code == 200 and case.reference in html.unescape(found.get_data(as_text=True))
    assert "/staff/cases/" + str(case.id) not in found.get_data(as_text=True)


def test_admin_never_sees_case_content(app, world):
    client = world["clients"]["admin"]
    case = world["case"]
    for path in (
        "/staff/",
        "/staff/admin/users",
        "/staff/admin/queues",
        "/staff/admin/routing",
        f"/staff/cases/{case.id}",
        "/staff/queues/general",
        "/staff/supervise/activity",
    ):
        body = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert case.narrative not in body and case.reference not in body, path


def test_wrong_methods_are_refused(app, world):
    client = world["clients"]["supervisor"]
    for rule in staff_rules(app):
        path = url(app, rule.endpoint, world["values"])
        for method in {"GET", "POST"} - rule.methods:
            response = client.open(path, method=method)
            assert response.status_code == 405, (method, path)


# Public pages, and the health endpoints (the same answer for everyone, never data).
PUBLIC_PAGES = ("/", "/report", "/track", "/safety", "/healthz", "/readyz")


def test_public_side_shows_no_staff_data(app, world):
    """Signed-in staff browsing the public pages (or anyone else) see nothing of the staff side."""
    case = world["case"]
    commands.add_note(case.id, world["users"]["supervisor"], "Internal: informant is the brother")
    for actor in ("anonymous", "supervisor", "caseworker_of_queue"):
        client = world["clients"][actor]
        for path in PUBLIC_PAGES:
            response = client.get(path)
            assert response.status_code == 200, path
            body = response.get_data(as_text=True)
            for secret in (
                case.reference,
                case.narrative,
                "Internal: informant",
                PASSWORD,
                *(u.email for u in world["users"].values()),
                *(u.name for u in world["users"].values()),
                "Sign out",
                "/staff/cases",
                "/staff/supervise",
            ):
                assert secret not in body, (actor, path, secret)
    # No public URL is served by a staff blueprint, and the public blueprint has no staff pages.
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("intake."):
            assert not rule.rule.startswith("/staff"), rule.rule


def test_public_tracking_does_not_show_internal_notes(app, world):
    """The reporter, with the receipt, sees messages sent to them but never internal notes."""
    filed = commands.file_report(report(), app.extensions["shagym_receipt_key"])
    commands.add_note(filed.case.id, world["users"]["caseworker_of_queue"], "Internal: we doubt this account")
    commands.send_message(filed.case.id, world["users"]["caseworker_of_queue"], "Please send the date.")
    client = app.test_client()
    response = client.post("/track", data={"receipt": filed.receipt}, follow_redirects=True)
    body = html.unescape(response.get_data(as_text=True))
    assert "Please send the date." in body
    assert "Internal: we doubt" not in body
    assert world["users"]["caseworker_of_queue"].email not in body
    assert not re.search(r"/staff/", body)


HUGE = "99999999999999999999"


def test_out_of_range_ids_are_not_found(app, world):
    for path in (
        f"/staff/cases/{HUGE}",
        f"/staff/cases/{HUGE}/claim",
        f"/staff/cases/{HUGE}/status",
        f"/staff/cases/1/evidence/{HUGE}",
        f"/staff/admin/users/{HUGE}",
        f"/staff/admin/routing/{HUGE}/toggle",
        "/staff/cases/0",
    ):
        client = world["clients"]["admin" if "/admin/" in path else "supervisor"]
        response = client.post(path) if path.endswith(("claim", "status", "toggle")) else client.get(path)
        assert response.status_code == 404, (path, response.status_code)
    for name in ("actor", "queue", "before"):
        response = world["clients"]["supervisor"].get(f"/staff/supervise/activity?{name}={HUGE}")
        assert response.status_code == 200, name


def test_garbage_assignee_does_not_unassign(app, world):
    cid = world["case"].id
    worker = world["users"]["caseworker_of_queue"]
    commands.claim(cid, worker)
    for garbage in ("abc", HUGE, "-1", "1.5", "٣"):
        response = world["clients"]["supervisor"].post(f"/staff/cases/{cid}/assign", data={"assignee": garbage})
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.get(Case, cid).assignee_id == worker.id, garbage
