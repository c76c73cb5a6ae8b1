"""What a reporter sees of referrals on the tracking page: the consent question (in their
language) and their answer, a referral and its answer when the case worker chose to tell, and
nothing at all about a referral otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import select

from cases import commands
from cases.models import Case, Event, Referral
from cases.vocabulary import Action
from storage import db
from tests.helpers import page, set_case

QUESTION = {
    "en": "May we pass your case to",
    "ru": "Можем ли мы передать ваше дело",
    "kk": "Ісіңізді",
}


def _today():
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


@pytest.fixture
def tracked(app, make_case, make_user, make_partner):
    """A case with a reachable reporter, in "investigating", and a way to track it."""
    filed = make_case(contact_email="reporter@example.org")
    worker = make_user("caseworker", ["general"])
    commands.claim(filed.case.id, worker)
    commands.change_status(filed.case.id, worker, "triage")
    commands.change_status(filed.case.id, worker, "investigating")
    set_case(filed.case.id, created_at=datetime.now(UTC) - timedelta(days=10))
    receipt_case = db.session.get(Case, filed.case.id)
    body = make_partner(
        "Demo Ombudsman (fictional)", name_kk="Демо омбудсмен (ойдан)", name_ru="Демо омбудсмен (вымысел)"
    )

    def track(receipt, lang="en"):
        client = app.test_client()
        client.set_cookie("lang", lang)
        assert client.post("/track", data={"receipt": receipt}).status_code == 303
        return client

    return {"case": receipt_case, "worker": worker, "body": body, "track": track, "receipt": filed.receipt}


def _draft(body, basis, tell, fields=("category",)):
    return commands.Draft(body.id, basis, list(fields), "ru", tell)


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_the_consent_question_and_the_answer(tracked, lang):
    case, worker, body = tracked["case"], tracked["worker"], tracked["body"]
    referral = commands.prepare_referral(case.id, worker, _draft(body, "consent", True, ["category", "place"]))
    client = tracked["track"](tracked["receipt"], lang)
    text = page(client.get("/track/case"))
    assert QUESTION[lang] in text
    assert {"en": "Demo Ombudsman (fictional)", "ru": "Демо омбудсмен (вымысел)", "kk": "Демо омбудсмен (ойдан)"}[
        lang
    ] in text
    refused = client.post("/track/consent", data={"referral": str(referral.id), "answer": "maybe"})
    assert refused.status_code == 303 and db.session.get(Referral, referral.id).consent is None
    response = client.post("/track/consent", data={"referral": str(referral.id), "answer": "yes"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).consent == "yes"
    event = db.session.scalars(select(Event).where(Event.chain_id == case.id).order_by(Event.seq.desc())).first()
    assert (event.action, event.actor_type, event.new_value) == (Action.REFERRAL_CONSENT, "reporter", "yes")
    # The case worker sees the answer.
    assert "yes" in db.session.get(Referral, referral.id).consent


def test_a_referral_not_told_leaves_no_trace_on_the_tracking_page(tracked):
    case, worker, body = tracked["case"], tracked["worker"], tracked["body"]
    referral = commands.prepare_referral(case.id, worker, _draft(body, "deidentified", False))
    receipt = tracked["receipt"]
    client = tracked["track"](receipt)
    before = page(client.get("/track/case"))
    commands.send_referral(case.id, referral.id, worker, "12/1", _today(), lambda r, c: "letter")
    commands.record_referral_answer(case.id, referral.id, worker, commands.Answered(_today(), "", "ok", "other"))
    after = page(client.get("/track/case"))
    for words in ("Demo Ombudsman", "Passing your case on", "answered on", "12/1", "consent"):
        assert words not in after, words
    # The status says "referred" in its usual plain words, as for any referred case.
    assert "We have passed your case to an authority or organisation" in after
    assert "Passing your case on" not in before


def test_a_referral_told_shows_the_body_and_when_the_answer_came(tracked):
    case, worker, body = tracked["case"], tracked["worker"], tracked["body"]
    referral = commands.prepare_referral(case.id, worker, _draft(body, "deidentified", True))
    client = tracked["track"](tracked["receipt"])
    assert "Demo Ombudsman" not in page(client.get("/track/case"))  # a draft is not news
    commands.send_referral(case.id, referral.id, worker, "12/2", _today(), lambda r, c: "letter")
    text = page(client.get("/track/case"))
    assert "we passed your case to Demo Ombudsman (fictional)" in text and "waiting for their answer" in text
    assert "12/2" not in text  # the letter number is the office's
    commands.record_referral_answer(case.id, referral.id, worker, commands.Answered(_today(), "", "Summary", "other"))
    text = page(client.get("/track/case"))
    assert "They answered on" in text and "Summary" not in text


def test_a_reporter_cannot_answer_for_another_case_or_a_closed_question(tracked, make_case):
    case, worker, body = tracked["case"], tracked["worker"], tracked["body"]
    mine = commands.prepare_referral(case.id, worker, _draft(body, "consent", True))
    other_case, other_worker = case, worker
    stranger = make_case(contact_email="other@example.org")
    client = tracked["track"](stranger.receipt)
    response = client.post("/track/consent", data={"referral": str(mine.id), "answer": "no"})
    assert response.status_code == 303
    assert db.session.get(Referral, mine.id).consent is None
    assert other_case.id != stranger.case.id and other_worker is worker
    not_consent = commands.prepare_referral(case.id, worker, _draft(body, "deidentified", True))
    own = tracked["track"](tracked["receipt"])
    own.post("/track/consent", data={"referral": str(not_consent.id), "answer": "yes"})
    assert db.session.get(Referral, not_consent.id).consent is None
