"""CSRF: every POST route in the url_map, staff and public, refuses a request without a
token, and nothing in the database changes. The report form comes back with what was typed."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
from flask import url_for
from sqlalchemy import select

from cases import commands
from cases.models import AccessRequest, Case, PartnerBody, Queue, RoutingRule, User
from storage import db
from tests.helpers import PASSWORD, report, report_form

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
NARRATIVE = "Officers took my brother from the market and nobody has seen him since Tuesday."


def token_from(client, path: str) -> str:
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1) or found.group(2)


def sign_in_through_the_forms(client, user: dict) -> None:
    """Through the real forms, tokens and all."""
    response = client.post(
        "/staff/login",
        data={"email": user["email"], "password": PASSWORD, "csrf_token": token_from(client, "/staff/login")},
    )
    assert response.status_code == 302, response.status_code
    if user["totp"]:
        response = client.post(
            "/staff/2fa",
            data={"totp-code": pyotp.TOTP(user["totp"]).now(), "csrf_token": token_from(client, "/staff/2fa")},
        )
        assert response.status_code == 302


@pytest.fixture
def csrf_app(make_app):
    """No app context stays pushed: each request gets its own, as in production.

    (A shared one would share ``g``, where Flask-WTF keeps the token it generated.)
    """
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def csrf_world(csrf_app):
    with csrf_app.app_context():
        filed = commands.file_report(report(), csrf_app.extensions["shagym_receipt_key"])
        users = {}
        for role in ("caseworker", "supervisor", "admin"):
            user = commands.create_user(
                f"{role}@example.org", role.title(), role, PASSWORD, ["general"] if role == "caseworker" else []
            )
            if role != "caseworker":
                user.totp_secret = pyotp.random_base32()
                user.totp_enabled = True
            db.session.commit()
            users[role] = {"id": user.id, "email": user.email, "totp": user.totp_secret}
        rule_id = db.session.scalar(select(RoutingRule.id).where(RoutingRule.category == "women"))
        admin = db.session.get(User, users["admin"]["id"])
        commands.set_memberships(db.session.get(User, users["caseworker"]["id"]), ["general", "women"], by=admin)
        supervisor = db.session.get(User, users["supervisor"]["id"])
        tag = commands.create_tag("land", {"kk": "Жер", "ru": "Земля", "en": "Land"}, by=supervisor)
        commands.add_tag(filed.case.id, supervisor, tag.id)
        other = commands.file_report(report(), csrf_app.extensions["shagym_receipt_key"]).case
        link = commands.link_cases(filed.case.id, supervisor, other.reference, "related")
        template = commands.create_template(
            "Acknowledgement", "en", "We received {reference}.", db.session.get(User, users["supervisor"]["id"])
        )
        institution = commands.create_institution("ИВС", {}, "ivs", "astana", by=admin)
        spare = commands.create_institution("Школа", {}, "school", "astana", by=admin)
        commands.link_institution(filed.case.id, supervisor, institution.id)
        partner = PartnerBody(
            name_kk="Демо", name_ru="Демо", name_en="Demo body (fictional)", kind="ngo", contact="-", answer_days=5
        )
        db.session.add(partner)
        db.session.commit()
        consent = commands.prepare_referral(
            filed.case.id, supervisor, commands.Draft(partner.id, "deidentified", ["category"], "en", True)
        )
        values = {
            "partner_id": partner.id,
            "referral_id": consent.id,
            "tag_id": tag.id,
            "link_id": link.id,
            "other_reference": other.reference,
            "template_id": template.id,
            "request_id": db.session.scalar(select(AccessRequest.id)),
            "decision": "approve",
            "case_id": filed.case.id,
            "user_id": users["caseworker"]["id"],
            "rule_id": rule_id,
            "reference": filed.case.reference,
            "slug": filed.case.queue.slug,
            "receipt": filed.receipt,
            "category": "women",
            "view_id": commands.save_view(
                db.session.get(User, users["caseworker"]["id"]), filed.case.queue, "Mine", "who=me"
            ).id,
            "queue_id": db.session.scalar(select(Queue.id).where(Queue.slug == "women")),
            "direction": "down",
            "institution_id": institution.id,
            "spare_institution_id": spare.id,
        }
    clients = {}
    for role, user in users.items():
        client = csrf_app.test_client()
        client.set_cookie("lang", "en")
        sign_in_through_the_forms(client, user)
        clients[role] = client
    # A reporter who is following their case with the receipt.
    reporter = csrf_app.test_client()
    reporter.set_cookie("lang", "en")
    response = reporter.post(
        "/track", data={"receipt": values["receipt"], "csrf_token": token_from(reporter, "/track")}
    )
    assert response.status_code == 303
    clients["anonymous"] = csrf_app.test_client()
    clients["anonymous"].set_cookie("lang", "en")
    clients["reporter"] = reporter
    return {"clients": clients, "values": values}


# Who would be allowed to send each form, and what they would send: a forged request with
# everything right except the token.
SENDER = {
    "staff_admin": "admin",
    "service_levels": "admin",
    "treaties": "admin",
    "institutions": "supervisor",
    "staff": "supervisor",
    "supervise": "supervisor",
    "intake": "reporter",
}
FORMS = {
    "staff_auth.login": ("anonymous", {"email": "caseworker@example.org", "password": PASSWORD}),
    "staff_auth.logout": ("supervisor", {}),
    "staff_auth.second_factor": ("supervisor", {"totp-code": "123456"}),
    "staff_auth.enrol": ("caseworker", {"code": "123456"}),
    "staff_auth.change_password": ("caseworker", {"current": PASSWORD, "new": "a brand new passphrase"}),
    "staff_auth.new_password": ("caseworker", {"new": "a brand new passphrase"}),
    "staff.claim": ("supervisor", {"version": "1"}),
    "staff.assign": ("supervisor", {"assignee": "{user_id}", "reason": "x"}),
    "staff.status": ("supervisor", {"target": "rejected", "reason": "Outside the mandate"}),
    "staff.priority": ("supervisor", {"priority": "urgent"}),
    "staff.move": ("supervisor", {"queue": "women", "reason": "x"}),
    "staff.add_message": ("supervisor", {"kind": "to_reporter", "body": "Forged message"}),
    "staff.hold": ("supervisor", {"hold": "y", "reason": "x"}),
    "supervise.decide": ("supervisor", {}),
    "supervise.tags": ("supervisor", {"slug": "forged", "name_kk": "Ж", "name_ru": "З", "name_en": "Forged"}),
    "supervise.tag": ("supervisor", {"name_kk": "Ж", "name_ru": "З", "name_en": "Forged"}),
    "supervise.toggle_tag": ("supervisor", {}),
    "staff.add_tag": ("supervisor", {"tag": "{tag_id}"}),
    "staff.remove_tag": ("supervisor", {}),
    "staff.link": ("supervisor", {"reference": "{other_reference}", "kind": "duplicate_of", "reason": "x"}),
    "staff.unlink": ("supervisor", {}),
    "institutions.register": ("admin", {"name": "Forged", "kind": "police", "region": "astana"}),
    "institutions.edit": ("admin", {"name": "Forged", "kind": "police", "region": "astana"}),
    "institutions.toggle": ("admin", {}),
    "institutions.delete": ("admin", {}),
    "institutions.link": ("supervisor", {"institution": "{spare_institution_id}"}),
    "institutions.unlink": ("supervisor", {}),
    "supervise.new_template": ("supervisor", {"name": "Forged", "language": "en", "body": "Forged {reference}"}),
    "supervise.edit_template": ("supervisor", {"name": "Forged", "language": "en", "body": "Forged"}),
    "supervise.toggle_template": ("supervisor", {}),
    "staff.insert_template": ("caseworker", {"kind": "note", "body": "typed", "template": "{template_id}"}),
    "supervise.export": ("supervisor", {"export-fields": ["reference"], "export-format": "csv"}),
    "staff.hand_over": ("caseworker", {"colleague": "{user_id}", "version": "1"}),
    "staff.bulk": (
        "supervisor",
        {"case": "{case_id}", "bulk-action": "status", "bulk-target": "rejected", "bulk-reason": "x"},
    ),
    "staff.save_view": ("caseworker", {"view-name": "Forged view", "who": "me"}),
    "staff.delete_view": ("caseworker", {}),
    "service_levels.edit": ("admin", {"first_response_working_days": "1", "resolution_working_days": "1"}),
    "treaties.index": ("admin", {"treaty": "ICESCR", "article": "12", "title": "Forged"}),
    "treaties.map_category": ("admin", {"provision": []}),
    "staff.report_for_someone": ("caseworker", {"channel": "phone", "reporter_language": "ru", "narrative": NARRATIVE}),
    "staff_admin.users": (
        "admin",
        {"email": "new@example.org", "name": "New", "role": "admin", "password": "a long enough passphrase"},
    ),
    "staff_admin.user": ("admin", {"queues": ["women"]}),
    "staff_admin.deactivate": ("admin", {}),
    "staff_admin.change_role": ("admin", {"role": "admin"}),
    "staff_admin.reset_password": ("admin", {}),
    "staff_admin.reset_two_factor": ("admin", {}),
    "staff_admin.reactivate": ("admin", {}),
    "staff_admin.edit_queue": ("admin", {"name": "Forged name", "description": "Forged"}),
    "staff_admin.toggle_queue": ("admin", {}),
    "staff_admin.move_rule": ("admin", {}),
    "staff_admin.reauth": ("admin", {"password": PASSWORD}),
    "staff_admin.queues": ("admin", {"slug": "forged", "name": "Forged queue"}),
    "staff_admin.rules": (
        "admin",
        {
            "name": "Forged",
            "position": "1",
            "category": "",
            "immediate_danger": "",
            "child_affected": "",
            "in_custody": "",
            "region": "",
            "queue": "general",
            "priority": "low",
        },
    ),
    "staff_admin.toggle_rule": ("admin", {}),
    "staff_admin.edit_rule": (
        "admin",
        {
            "name": "Forged",
            "position": "77",
            "category": "",
            "immediate_danger": "",
            "child_affected": "",
            "in_custody": "",
            "region": "",
            "queue": "general",
            "priority": "low",
        },
    ),
    "intake.report": (
        "anonymous",
        report_form(
            category="torture",
            narrative=NARRATIVE,
            region="karaganda",
            in_custody="yes",
            reporter_role="relative",
            submission_token="csrf-test",
        ),
    ),
    "track.track": ("anonymous", {"receipt": "AAAA-BBBB-CCCC-DDDD"}),
    "intake.receipt_file": ("anonymous", {"reference": "{reference}", "receipt": "{receipt}"}),
    "intake.receipt_again": ("anonymous", {"reference": "{reference}", "receipt": "{receipt}", "language": "ru"}),
    "track.track_reply": ("reporter", {"body": "Forged reply"}),
    "track.track_leave": ("reporter", {}),
    "track.track_consent": ("reporter", {"referral": "{referral_id}", "answer": "no"}),
    "staff_admin.partners": (
        "admin",
        {"name_kk": "Ж", "name_ru": "З", "name_en": "Forged", "kind": "ngo", "contact": "x", "answer_days": "5"},
    ),
    "staff_admin.edit_partner": (
        "admin",
        {"name_kk": "Ж", "name_ru": "З", "name_en": "Forged", "kind": "ngo", "contact": "x", "answer_days": "5"},
    ),
    "staff_admin.toggle_partner": ("admin", {}),
    "staff_admin.delete_partner": ("admin", {}),
    "staff.new_referral": (
        "supervisor",
        {"partner": "{partner_id}", "basis": "deidentified", "fields": ["category"], "language": "en"},
    ),
    "staff.send_referral": ("supervisor", {"letter_number": "1/1", "sent_on": "2026-12-01"}),
    "staff.referral_answer": ("supervisor", {"answered_on": "2026-12-01", "summary": "x", "outcome": "other"}),
    "staff.withdraw_referral": ("supervisor", {"reason": "Forged"}),
}


def snapshot(app) -> dict[str, list]:
    """Every row of every table (session activity times aside)."""
    out = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) != ("staff_sessions", "last_seen_at")]
            rows = db.session.execute(select(*columns)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def post_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.endpoint)


def test_every_post_route_has_a_forged_request(csrf_app):
    endpoints = {r.endpoint for r in post_rules(csrf_app)}
    assert endpoints - set(FORMS) == set(), "add the new POST route to FORMS"
    assert set(FORMS) - endpoints == set()


def test_every_post_without_a_token_is_refused(csrf_app, csrf_world):
    """One world for all routes: a refused request changes nothing, so each starts from the same state."""
    failures = []
    for endpoint in sorted(FORMS):
        try:
            _refused_without_token(csrf_app, csrf_world, endpoint)
        except AssertionError as exc:
            failures.append(f"{endpoint}: {exc}")
    assert not failures, "\n".join(failures)


def _refused_without_token(csrf_app, csrf_world, endpoint):
    rule = next(r for r in csrf_app.url_map.iter_rules() if r.endpoint == endpoint)
    with csrf_app.test_request_context():
        path = url_for(endpoint, **{k: v for k, v in csrf_world["values"].items() if k in rule.arguments})
    sender, form = FORMS[endpoint]
    client = csrf_world["clients"][sender]
    data = {k: (v.format(**csrf_world["values"]) if isinstance(v, str) else v) for k, v in form.items()}
    before = snapshot(csrf_app)
    response = client.post(path, data=data)
    assert response.status_code == 400, response.status_code
    assert snapshot(csrf_app) == before, "the database changed"
    body = html.unescape(response.get_data(as_text=True))
    if endpoint == "intake.report":
        # The friendly version: the form again, with everything that was typed.
        assert "Your form expired." in body and NARRATIVE in body
        assert re.search(r'value="torture"[^>]*checked', body), "the chosen category is still chosen"
        assert TOKEN.search(body), "the re-rendered form carries a fresh token"
    else:
        assert "the form expired" in body
    # A wrong token is no better than none.
    data["csrf_token"] = "IjEyMyI.forged.token"
    assert client.post(path, data=data).status_code == 400, "a forged token was accepted"
    assert snapshot(csrf_app) == before, "the database changed (forged token)"
    # The sender is still signed in / still tracking: the refusal was about the token alone.
    if sender in ("supervisor", "admin", "caseworker"):
        assert client.get("/staff/password").status_code == 200


def test_the_same_request_with_a_token_goes_through(csrf_app, csrf_world):
    """So the refusals above are about the token, not something else."""
    client = csrf_world["clients"]["supervisor"]
    case_id = csrf_world["values"]["case_id"]
    token = token_from(client, f"/staff/cases/{case_id}")
    response = client.post(
        f"/staff/cases/{case_id}/status",
        data={"target": "rejected", "reason": "Outside the mandate", "csrf_token": token},
    )
    assert response.status_code == 302
    with csrf_app.app_context():
        assert db.session.get(Case, case_id).status == "rejected"


def test_report_form_resubmits_after_an_expired_token(csrf_app):
    client = csrf_app.test_client()
    client.set_cookie("lang", "en")
    data = dict(FORMS["intake.report"][1])
    refused = client.post("/report", data=data)
    assert refused.status_code == 400
    token = TOKEN.search(refused.get_data(as_text=True))
    data["csrf_token"] = token.group(1) or token.group(2)
    accepted = client.post("/report", data=data)
    assert accepted.status_code == 200 and "SHG-" in accepted.get_data(as_text=True)


def test_csrf_is_on_unless_a_test_turns_it_off(tmp_path):
    from wsgi import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x" * 32,
            "INSTANCE_PATH": str(tmp_path / "other"),
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
