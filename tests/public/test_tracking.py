"""Reporters follow their case with the receipt: lookup, throttling, session, replies."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from cases import audit, commands, queries
from cases.models import Case, Event, Message, TrackingSession
from storage import db
from tests.helpers import cookie_session, count, redis_or_skip


def _spellings(code: str) -> list[str]:
    plain = code.replace("-", "")
    return [
        code,
        code.lower(),
        plain,
        " ".join(code.split("-")),
        f"  {code}  ",
        plain.replace("0", "O").replace("1", "I"),
        plain.replace("1", "l"),
    ]


def test_right_code_in_every_spelling_opens_the_case(client, make_case):
    filed = make_case(category="women")
    for typed in _spellings(filed.receipt):
        client.post("/track/leave")
        response = client.post("/track", data={"receipt": typed})
        assert response.status_code == 303, typed
        assert response.headers["Location"].endswith("/track/case")
        page = client.get("/track/case").get_data(as_text=True)
        assert filed.case.reference in page
        # The status is explained in plain words, never the internal name.
        assert "We have received your report" in page
        assert ">new<" not in page


@pytest.mark.parametrize("typed", ["", "K7QF-M2XD-9PLA-W3RT-6HNB", "X" * 5000, "'; DROP TABLE cases; --", "ÄÖÜ"])
def test_wrong_empty_or_long_code_gets_one_generic_message(client, make_case, typed):
    make_case()
    response = client.post("/track", data={"receipt": typed})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "We could not find a case with this receipt" in page
    assert "SHG-" not in page
    assert client.get("/track/case").status_code == 302  # no case in the session


def test_lookup_does_the_same_work_for_malformed_and_unknown_codes(app, monkeypatch):
    """No timing oracle: every lookup hashes a normalized value and runs one indexed query."""
    calls = []
    real = queries.receipts.digest
    monkeypatch.setattr(queries.receipts, "digest", lambda key, value: calls.append(value) or real(key, value))
    key = app.extensions["shagym_receipt_key"]
    for typed in ["", "nonsense", "0000-0000-0000-0000-0000", "x" * 1000]:
        assert queries.find_by_receipt(key, typed) is None
    assert len(calls) == 4


def test_nothing_about_the_case_is_in_any_url(client, make_case):
    filed = make_case()
    response = client.post("/track", data={"receipt": filed.receipt})
    assert filed.receipt not in response.headers["Location"]
    assert str(filed.case.id) not in response.headers["Location"]
    page = client.get("/track/case").get_data(as_text=True)
    assert filed.receipt not in page
    assert client.get("/track/case").headers["Cache-Control"] == "no-store"


def test_a_reporter_never_sees_internal_notes_or_staff_names(client, make_case, make_user):
    filed = make_case(category="other")
    worker = make_user("caseworker", ["general"], name="Aigerim Secretname")
    commands.add_note(filed.case.id, worker, "Internal: suspect is the cousin of the district chief")
    commands.send_message(filed.case.id, worker, "Could you tell us which police station it was?")
    client.post("/track", data={"receipt": filed.receipt})
    page = client.get("/track/case").get_data(as_text=True)
    assert "Could you tell us which police station it was?" in page
    assert "suspect is the cousin" not in page
    assert "Secretname" not in page


def test_reply_moves_awaiting_info_back_to_investigating(client, make_case, make_user):
    filed = make_case()
    worker = make_user("caseworker", ["general"])
    case_id = filed.case.id
    for target in ("triage", "investigating", "awaiting_info"):
        commands.change_status(case_id, worker, target)
    paused_due = db.session.get(Case, case_id).due_at
    client.post("/track", data={"receipt": filed.receipt})
    response = client.post("/track/reply", data={"body": "It was the station on Abai street, room 12."})
    assert response.status_code == 303
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.status == "investigating"
    assert case.reporter_news is True
    assert case.paused_at is None and case.due_at >= paused_due
    events = db.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)).all()
    assert [(e.actor_type, e.action) for e in events[-2:]] == [("reporter", "reporter_message"), ("system", "status")]
    assert events[-1].old_value == "awaiting_info" and events[-1].new_value == "investigating"
    message = db.session.scalar(select(Message).where(Message.kind == "from_reporter"))
    assert message.body == "It was the station on Abai street, room 12."
    assert audit.verify_chain(db.session, case_id) is None


def test_staff_pages_show_the_reply_as_new(make_case, login_as, client):
    filed = make_case()
    staff, _user = login_as("caseworker", ["general"])
    client.post("/track", data={"receipt": filed.receipt})
    client.post("/track/reply", data={"body": "More details about what happened."})
    queue_page = staff.get("/staff/queues/general").get_data(as_text=True)
    assert "new reply" in queue_page
    case_page = staff.get(f"/staff/cases/{filed.case.id}").get_data(as_text=True)
    assert "More details about what happened." in case_page


def test_closed_case_can_be_read_but_not_answered(client, make_case, make_user):
    filed = make_case()
    worker = make_user("caseworker", ["general"])
    for target, reason in (("triage", ""), ("rejected", "Outside our mandate")):
        commands.change_status(filed.case.id, worker, target, reason)
    client.post("/track", data={"receipt": filed.receipt})
    page = client.get("/track/case").get_data(as_text=True)
    assert "We cannot take up this case" in page
    assert 'action="/track/reply"' not in page
    response = client.post("/track/reply", data={"body": "Please reconsider."})
    assert response.status_code == 422
    assert "This case is closed" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id)).where(Message.kind == "from_reporter")) == 0


def test_reply_errors_keep_what_was_typed(client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    text = "Ол түнде полиция бөлімшесінде болды 🙏🏽" + "x" * 10_001
    response = client.post("/track/reply", data={"body": text})
    assert response.status_code == 422
    assert text in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_leave_ends_the_tracking_session(client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    assert client.get("/track/case").status_code == 200
    client.post("/track/leave")
    assert client.get("/track/case").status_code == 302


def _age_tracking(**ago: timedelta) -> None:
    now = datetime.now(UTC)
    db.session.execute(update(TrackingSession).values({column: now - delta for column, delta in ago.items()}))
    db.session.commit()


def test_tracking_session_expires_after_30_idle_minutes(app, client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    _age_tracking(last_seen_at=timedelta(minutes=app.config["TRACK_IDLE_MINUTES"], seconds=1))
    response = client.get("/track/case")
    assert response.status_code == 302 and response.headers["Location"].endswith("/track")
    assert count(TrackingSession) == 0  # the expired session was ended, not just ignored


def test_tracking_session_has_an_absolute_expiry_however_active(app, client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    _age_tracking(created_at=timedelta(hours=app.config["TRACK_SESSION_HOURS"], seconds=1))
    assert client.get("/track/case").status_code == 302


@pytest.mark.parametrize("ending", ["leave my case", "quick exit"])
def test_a_tracking_cookie_copied_before_leaving_no_longer_opens_the_case(app, client, make_case, ending):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    copy = app.test_client()
    copy.set_cookie("shagym", client.get_cookie("shagym").value)
    assert copy.get("/track/case").status_code == 200  # the copy works while the session lives...
    if ending == "leave my case":
        client.post("/track/leave")
    else:
        client.get("/leave")
    assert copy.get("/track/case").status_code == 302  # ...and not after it ended
    assert count(TrackingSession) == 0


def test_the_tracking_cookie_shows_neither_the_case_nor_the_receipt(client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    shown = cookie_session(client)
    text_ = json.dumps(shown)
    assert set(shown) - {"_permanent"} == {"track"} and isinstance(shown["track"], str) and len(shown["track"]) >= 40
    assert str(filed.case.id) not in text_.replace(shown["track"], "") and filed.receipt not in text_
    row = db.session.scalar(select(TrackingSession))
    assert row.id != shown["track"] and row.case_id == filed.case.id  # stored as a hash of the token


def test_throttle_engages_after_the_documented_number_of_failures(make_app, make_case):
    app = make_app(RATELIMIT_ENABLED=True, TRACK_RATE_LIMIT="3 per minute")
    with app.app_context():
        filed = make_case()
        client = app.test_client()
        statuses = [client.post("/track", data={"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE"}).status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        # Even the right code is refused while throttled: guessing gains nothing.
        assert client.post("/track", data={"receipt": filed.receipt}).status_code == 429


def test_throttle_is_shared_between_workers_through_redis(make_app):
    redis = redis_or_skip("redis://127.0.0.1:6379/0")
    redis.flushdb()
    config = {
        "RATELIMIT_ENABLED": True,
        "TRACK_RATE_LIMIT": "3 per minute",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    }
    worker_a, worker_b = make_app(**config), make_app(**config)  # two apps = two gunicorn workers
    bad = {"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE"}
    with worker_a.app_context():
        assert [worker_a.test_client().post("/track", data=bad).status_code for _ in range(3)] == [404] * 3
    with worker_b.app_context():
        assert worker_b.test_client().post("/track", data=bad).status_code == 429
    keys = [k.decode() for k in redis.keys("*")]
    assert keys and not any("127.0.0.1" in k for k in keys)  # the client address is never stored in clear


# --- why the case is not shown any more ------------------------------------------------------------------------------

LEFT = {
    "kk": "Сіз ісіңізден шықтыңыз. Оны қайта көру үшін түбіртек кодын енгізіңіз.",
    "ru": "Вы вышли из своего дела. Чтобы снова его увидеть, введите код квитанции.",
    "en": "You left your case. To see it again, enter your receipt code.",
}
TIMED_OUT = {
    "kk": "тексеру 7 минут әрекетсіздіктен кейін аяқталды",
    "ru": "проверка завершилась после 7 мин. бездействия",
    "en": "your check ended after 7 minutes without activity",
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_after_leaving_the_case_page_says_the_reporter_left_and_offers_the_receipt_form(client, make_case, lang):
    filed = make_case()
    client.set_cookie("lang", lang)
    client.post("/track", data={"receipt": filed.receipt})
    client.post("/track/leave")
    client.get("/track")  # the page "Leave my case" lands on
    response = client.get("/track/case")  # Back, or an old tab
    assert response.status_code == 302 and response.headers["Location"].endswith("/track")
    body = html.unescape(client.get("/track").get_data(as_text=True))
    assert LEFT[lang] in body
    assert "without activity" not in body and "бездействия" not in body and "әрекетсіздіктен кейін аяқталды" not in body
    assert 'name="receipt"' in body and filed.case.reference not in body


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_timed_out_check_names_the_configured_idle_minutes(make_app, make_case, lang):
    app = make_app(TRACK_IDLE_MINUTES=7)
    with app.app_context():
        client = app.test_client()
        client.set_cookie("lang", lang)
        filed = make_case()
        client.post("/track", data={"receipt": filed.receipt})
        assert "7" in html.unescape(client.get("/track/case").get_data(as_text=True))
        idle = datetime.now(UTC) - timedelta(minutes=8)
        db.session.execute(update(TrackingSession).values(last_seen_at=idle, created_at=idle))
        db.session.commit()
        client.get("/track/case")
        body = html.unescape(client.get("/track").get_data(as_text=True))
        assert TIMED_OUT[lang] in body.lower() or TIMED_OUT[lang] in body
        assert "30" not in body.split("<main", 1)[1].split("</main>", 1)[0]


FILES_YOU_SENT = {"kk": "Сіз жіберген файлдар", "ru": "Файлы, которые вы отправили", "en": "Files you sent"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_reporters_own_files_are_listed_on_their_case_page(app, client, lang):
    from tests.helpers import file_with_evidence
    from tests.samples import image

    filed = file_with_evidence(app, "bruises.png", image("PNG"))
    client.set_cookie("lang", lang)
    client.post("/track", data={"receipt": filed.receipt})
    body = html.unescape(client.get("/track/case").get_data(as_text=True))
    assert FILES_YOU_SENT[lang] in body and "bruises.png" in body
