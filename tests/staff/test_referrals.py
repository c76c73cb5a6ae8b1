"""Referrals through the staff pages: prepare (a refusal keeps what was typed), the letter as
HTML and PDF with only the shared items, send (the letter's SHA-256 in the history, the case
moves to "referred"), the answer, and the late-answer reminders on the start page."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import select

from cases import commands, referral_queries
from cases.models import Case, Referral
from cases.vocabulary import Action
from staff.referral_views import letter_document
from storage import db
from tests.helpers import chain, page, set_case, signed_in
from web import printing

# A distinctive word in every item of the case, to find in (or prove absent from) the letter.
PLANTED = dict(
    narrative="Original narrative: officer Quixotrel kicked the prisoner Zebulonia in cell nine.",
    place_description="Holding cell Marzipanov street",
    contact_email="plumbago@example.org",
    occurred_on=datetime(2026, 11, 2).date(),
    category="torture",
    region="karaganda",
)
REDACTED = "Redacted narrative: officer [Vexillum] kicked the prisoner [N]."


def today():
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


@pytest.fixture
def worked(app, make_case, make_user, make_partner):
    """A torture case (routed to torture-prevention) in "investigating", held by a case worker
    of that queue, signed in and reading English; and a partner body."""
    filed = make_case(**PLANTED)
    worker = make_user("caseworker", [filed.case.queue.slug])
    commands.claim(filed.case.id, worker)
    commands.change_status(filed.case.id, worker, "triage")
    commands.change_status(filed.case.id, worker, "investigating")
    set_case(filed.case.id, created_at=datetime.now(UTC) - timedelta(days=20))
    client = signed_in(app, worker)
    client.set_cookie("lang", "en")
    body = make_partner("Demo Prosecutor's Office (fictional)", answer_days=5, name_ru="Демо прокуратура (вымысел)")
    return {
        "case": db.session.get(Case, filed.case.id),
        "worker": worker,
        "client": client,
        "body": body,
        "receipt": filed.receipt,
    }


def prepare(w, **form):
    data = {
        "partner": str(w["body"].id),
        "basis": "deidentified",
        "fields": ["category", "region", "narrative_redacted"],
        "letter_narrative": REDACTED,
        "language": "en",
        **form,
    }
    return w["client"].post(f"/staff/cases/{w['case'].id}/referrals/new", data=data)


def test_the_form_starts_with_the_narrative_to_redact(worked):
    response = worked["client"].get(f"/staff/cases/{worked['case'].id}/referrals/new")
    text = page(response)
    assert response.status_code == 200
    assert PLANTED["narrative"] in text and "Demo Prosecutor's Office (fictional)" in text


def test_a_refused_draft_comes_back_with_everything_typed(worked):
    response = prepare(worked, fields=["category", "place"], letter_narrative="My careful redaction [X]")
    text = page(response)
    assert response.status_code == 422
    assert "A de-identified referral cannot share “Where it happened”" in text
    assert "My careful redaction [X]" in text
    assert db.session.scalar(select(Referral.id)) is None


def _letter_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


def test_the_letter_holds_the_shared_items_and_none_of_the_others(worked, tmp_path):
    assert prepare(worked).status_code == 302
    referral = db.session.scalar(select(Referral))
    base = f"/staff/cases/{worked['case'].id}/referrals/{referral.id}"
    html_letter = page(worked["client"].get(base + "/letter"))
    shared = ("Torture and ill-treatment", "Karaganda", "[Vexillum]")
    withheld = ("Quixotrel", "Zebulonia", "Marzipanov", "plumbago", "2026")
    for word in shared:
        assert word in html_letter, word
    for word in withheld[:4]:
        assert word not in html_letter, word
    if not printing.available() or shutil.which("pdftotext") is None:
        pytest.skip("PDF needs Pango and poppler-utils")
    response = worked["client"].get(base + "/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(_letter_text(response.data, tmp_path).split())
    for word in (*shared, "Demo Prosecutor's Office (fictional)", "DRAFT"):
        assert word in text, word
    for word in withheld[:4]:
        assert word not in text, word
    assert "November 2, 2026" not in text  # the dates were not shared


def test_a_letter_in_russian_with_every_item_on_a_legal_duty(worked, tmp_path):
    assert (
        prepare(
            worked,
            basis="legal_duty",
            legal_duty="Article 184 of the Code",
            language="ru",
            fields=["dates", "place", "narrative_original", "reporter_contact"],
        ).status_code
        == 302
    )
    referral = db.session.scalar(select(Referral))
    text = page(worked["client"].get(f"/staff/cases/{worked['case'].id}/referrals/{referral.id}/letter"))
    assert 'lang="ru"' in text and "Демо прокуратура (вымысел)" in text
    for word in ("Quixotrel", "Marzipanov", "plumbago", "Article 184 of the Code", "2026"):
        assert word in text, word
    assert "[Vexillum]" not in text and "Karaganda" not in text and "Караганда" not in text


def test_send_then_answer(worked):
    client, case = worked["client"], worked["case"]
    assert prepare(worked, tell_reporter="y").status_code == 302
    referral = db.session.scalar(select(Referral))
    base = f"/staff/cases/{case.id}/referrals/{referral.id}"
    bad = client.post(base + "/send", data={"letter_number": "no digits", "sent_on": today().isoformat()})
    assert bad.status_code == 422
    assert "A letter number is 1 to 40" in page(bad) and 'value="no digits"' in page(bad)
    garbled = client.post(base + "/send", data={"letter_number": "04-12/345", "sent_on": "31.02.2026"})
    assert garbled.status_code == 422 and "Give the date" in page(garbled)
    good = client.post(base + "/send", data={"letter_number": "04-12/345", "sent_on": today().isoformat()})
    assert good.status_code == 302
    db.session.expire_all()
    referral = db.session.get(Referral, referral.id)
    case = db.session.get(Case, case.id)
    assert case.status == "referred" and referral.state == "sent"
    sent = next(e for e in chain(case.id) if e.action == Action.REFERRAL_SENT)
    digest = json.loads(sent.details)["sha256"]
    with current_app.test_request_context():
        assert hashlib.sha256(letter_document(referral, case).encode()).hexdigest() == digest
    detail = page(client.get(base))
    assert digest in detail and "the letter below is the one sent" in detail
    assert "Outgoing letter No. 04-12/345" in page(client.get(base + "/letter"))
    answer = client.post(
        base + "/answer",
        data={"answered_on": today().isoformat(), "number": "", "summary": "", "outcome": "investigation"},
    )
    assert answer.status_code == 422 and "Summarise what the body answered." in page(answer)
    answer = client.post(
        base + "/answer",
        data={
            "answered_on": today().isoformat(),
            "number": "П-1",
            "summary": "Inspection ordered",
            "outcome": "investigation",
        },
    )
    assert answer.status_code == 302
    shown = page(client.get(base))
    assert "Inspection ordered" in shown and "An investigation or inspection was opened" in shown
    assert "Demo Prosecutor's Office (fictional)" in page(client.get(f"/staff/cases/{case.id}"))


def test_late_answers_are_on_the_holders_start_page_only(worked, make_user, app):
    prepare(worked)
    referral = db.session.scalar(select(Referral))
    commands.send_referral(
        worked["case"].id,
        referral.id,
        worked["worker"],
        "8/8",
        today() - timedelta(days=15),
        lambda r, c: "letter",
    )
    home = page(worked["client"].get("/staff/"))
    assert "Referral answers that are late" in home and "8/8" in home
    colleague = signed_in(app, make_user("caseworker", [worked["case"].queue.slug]))
    colleague.set_cookie("lang", "en")
    assert "8/8" not in page(colleague.get("/staff/"))
    commands.record_referral_answer(
        worked["case"].id, referral.id, worked["worker"], commands.Answered(today(), "", "Came late", "other")
    )
    assert "Referral answers that are late" not in page(worked["client"].get("/staff/"))


def test_the_late_answers_query_uses_its_index(worked):
    """No table scan: the start page's query is a range of ix_referrals_waiting (SQLite's plan)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL chooses by its statistics")
    compiled = referral_queries.late_statement(worked["worker"].id, today()).compile(
        db.engine, compile_kwargs={"literal_binds": True}
    )
    plan = " ".join(str(r) for r in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_referrals_waiting" in plan and "SCAN referrals" not in plan


def test_another_queue_sees_no_referral(worked, make_user, app):
    prepare(worked)
    referral = db.session.scalar(select(Referral))
    outsider = signed_in(app, make_user("caseworker", ["women"]))
    base = f"/staff/cases/{worked['case'].id}/referrals/{referral.id}"
    for path in ("", "/letter", "/letter.pdf"):
        assert outsider.get(base + path).status_code == 404
    assert (
        outsider.post(base + "/send", data={"letter_number": "1/1", "sent_on": today().isoformat()}).status_code == 404
    )
    assert db.session.get(Referral, referral.id).state == "draft"
