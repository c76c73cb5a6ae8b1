"""Reports taken by staff for someone (hotline, walk-in, letter, e-mail): the same checks and
routing as the public form, the channel and the person's consent recorded, the receipt handed over."""

from __future__ import annotations

import json

from sqlalchemy import select

from cases import queries
from cases.models import Case, Event
from storage import db
from tests.helpers import RECEIPT_RE, page, report_form


def staff_form(**overrides):
    return {**report_form(), "channel": "phone", "reporter_language": "ru", **overrides}


def test_a_case_worker_files_a_phoned_in_report_and_hands_over_the_receipt(app, staff):
    client, worker = staff("caseworker", ["general"])
    assert "How the report reached us" in page(client.get("/staff/reports/new"))
    response = client.post("/staff/reports/new", data=staff_form(category="torture", in_custody="yes"))
    body = page(response)
    assert response.status_code == 200 and "hand over the receipt" in body
    receipt = RECEIPT_RE.search(body).group(1)
    case = db.session.scalar(select(Case))
    assert case.channel == "phone" and case.queue.slug == "torture-prevention"  # routed like any report
    assert case.language == "ru"  # the person's, not the English the case worker reads
    assert queries.find_by_receipt(app.extensions["shagym_receipt_key"], receipt).id == case.id
    created = db.session.scalar(select(Event).where(Event.chain_id == case.id, Event.seq == 1))
    assert (created.action, created.actor_type, created.actor_id) == ("created", "staff", worker.id)
    assert json.loads(created.details) == {"category": "torture", "channel": "phone", "on_behalf_of_reporter": True}
    assert "no-store" in response.headers["Cache-Control"]


def test_the_same_checks_as_the_public_form_and_nothing_is_lost(app, staff):
    client, _ = staff("caseworker", ["general"])
    typed = "Позвонила женщина: мужа избили в ИВС, она боится мести."
    response = client.post("/staff/reports/new", data=staff_form(narrative=typed, category=""))
    body = page(response)
    assert response.status_code == 422 and typed in body and 'id="error-summary"' in body
    assert db.session.scalar(select(Case)) is None


def test_without_the_channel_or_the_persons_consent_nothing_is_filed(app, staff):
    client, _ = staff("caseworker", ["general"])
    for data in (
        staff_form(channel=""),
        staff_form(channel="web"),
        staff_form(reporter_language=""),
        staff_form(reporter_language="de"),
        {k: v for k, v in staff_form().items() if k != "consent"},
    ):
        assert client.post("/staff/reports/new", data=data).status_code == 422
    assert db.session.scalar(select(Case)) is None


def test_an_admin_cannot_take_reports(app, login_as):
    client, _ = login_as("admin")
    assert client.get("/staff/reports/new").status_code == 403


def test_the_reporters_language_is_asked_for_and_shown_on_the_case(app, staff):
    client, _ = staff("caseworker", ["general"])
    response = client.post("/staff/reports/new", data=staff_form(reporter_language=""))
    assert response.status_code == 422 and "Choose the reporter's language." in page(response)
    client.post("/staff/reports/new", data=staff_form(reporter_language="kk"))
    case = db.session.scalar(select(Case))
    assert case.language == "kk"
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "Reporter's language" in body and "Қазақша" in body
