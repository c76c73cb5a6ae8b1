"""Prometheus metrics: only for the monitoring's token, the figures the office alerts on, and no
personal data or case reference in any label or value after a whole story has run."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from cases import commands
from cases.models import Case
from storage import db
from tests.helpers import PASSWORD, REFERENCE_RE, receipt_of, report_form

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
NARRATIVE = "Guards at the remand centre beat my cousin Yerlan Zhaksylykov with batons on Tuesday."
EMAIL = "aigerim.witness@example.org"


@pytest.fixture
def metered(make_app):
    app = make_app(METRICS_TOKEN=TOKEN, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    with app.app_context():
        yield app


def scrape(app) -> str:
    response = app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_metrics_are_not_found_without_the_token(metered, headers):
    response = metered.test_client().get("/metrics", headers=headers)
    assert response.status_code == 404
    assert b"shagym_" not in response.data


def test_metrics_are_off_unless_a_token_is_configured(client):
    assert client.get("/metrics", headers=BEARER).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_story_is_counted_and_no_label_names_a_person_or_a_case(metered):
    before = scrape(metered)
    public = metered.test_client()
    data = report_form(narrative=NARRATIVE, category="torture", contact="contact", email=EMAIL)
    page = public.post("/report", data=data).get_data(as_text=True)
    receipt = receipt_of(page)
    reference = REFERENCE_RE.search(page).group(0)
    assert public.post("/track", data={"receipt": receipt}).status_code == 303
    assert public.get("/track/case").status_code == 200
    assert public.post("/track/reply", data={"body": "My cousin Yerlan is still in the cell."}).status_code == 303
    case = db.session.scalar(select(Case).where(Case.reference == reference))

    worker = commands.create_user("dana.worker@example.org", "Dana Worker", "caseworker", PASSWORD, [case.queue.slug])
    staff = metered.test_client()
    assert staff.post("/staff/login", data={"email": worker.email, "password": PASSWORD}).status_code == 302
    assert staff.get(f"/staff/cases/{case.id}").status_code == 200
    assert staff.post(f"/staff/cases/{case.id}/claim").status_code in (302, 303)
    staff.post(f"/staff/cases/{case.id}/messages", data={"kind": "to_reporter", "body": "We are looking into it."})
    intruder = metered.test_client()
    statuses = [
        intruder.post("/staff/login", data={"email": worker.email, "password": "not the password"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]  # two wrong passwords, then the limit
    after = scrape(metered)

    assert value(after, "shagym_reports_filed_total") - value(before, "shagym_reports_filed_total") == 1
    assert (
        value(after, "shagym_commands_total", command="claim") - value(before, "shagym_commands_total", command="claim")
        == 1
    )
    assert (
        value(after, "shagym_failed_signins_total", step="password")
        - value(before, "shagym_failed_signins_total", step="password")
        == 2
    )
    assert (
        value(after, "shagym_rate_limit_hits_total", endpoint="staff_auth.login")
        - value(before, "shagym_rate_limit_hits_total", endpoint="staff_auth.login")
        == 1
    )
    ok = {"endpoint": "intake.report", "method": "POST", "status": "200"}
    assert value(after, "shagym_http_requests_total", **ok) - value(before, "shagym_http_requests_total", **ok) == 1
    assert value(after, "shagym_http_request_duration_seconds_count", endpoint="intake.report") >= 1
    assert value(after, "shagym_open_cases", queue=case.queue.slug) == 1
    assert value(after, "shagym_late_cases", queue=case.queue.slug) == 0
    assert "shagym_audit_unsigned_events" in after

    needles = [
        reference,
        receipt,
        receipt.replace("-", ""),
        EMAIL,
        "example.org",
        worker.email,
        "Dana Worker",
        "Yerlan",
        "Zhaksylykov",
        "remand",
        "batons",
        "cousin",
        f"/staff/cases/{case.id}",
        f"cases/{case.id}",
    ]
    for needle in needles:
        assert needle.lower() not in after.lower(), needle
    assert not REFERENCE_RE.search(after) and "@" not in after
    # Every label value is a code name: an endpoint, method, status, command, step or queue slug.
    for (_name, labels), _value in samples(after).items():
        for label, text in labels:
            assert re.fullmatch(r"[a-z0-9_.+\-]+|[A-Z]+|\d{3}|\+Inf|[0-9.e+-]+", text), (label, text)


def test_late_cases_and_the_checkpoint_age_are_read_at_scrape_time(metered, make_case):
    filed = make_case(category="torture")
    case = filed.case
    case.due_at = case.created_at.replace(year=case.created_at.year - 1)
    db.session.commit()  # test set-up: a case a year past its first-response target
    commands.write_checkpoint()
    text = scrape(metered)
    assert value(text, "shagym_late_cases", queue=case.queue.slug) == 1
    assert 0 <= value(text, "shagym_audit_checkpoint_age_seconds") < 600
    assert value(text, "shagym_audit_unsigned_events") == 0
    make_case()
    assert value(scrape(metered), "shagym_audit_unsigned_events") == 2  # created + routed, not yet signed
