"""Reporter email notifications go through a real SMTP server and carry no case content.

The command writes them to the outbox; the worker (``worker.run_once``) sends them."""

from __future__ import annotations

import pytest

from cases import commands, worker, workflow
from cases.models import PartnerBody
from storage import db
from tests.conftest import free_port

run_worker = worker.run_once

NARRATIVE = "Officer Bekov hit my son with a baton at the Zhetysu district station."


def test_message_to_reporter_sends_a_content_free_email(make_app, make_case, make_user, smtp):
    port, inbox = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="noreply@shagym.test")
    with app.app_context(), app.test_request_context():
        filed = make_case(narrative=NARRATIVE, contact_email="mother@example.org", category="torture", in_custody="yes")
        worker = make_user("caseworker", ["torture-prevention"])
        commands.send_message(filed.case.id, worker, "Secret reply: we contacted the prosecutor about Bekov.")
        reference = filed.case.reference
        assert inbox.messages == []  # not in the request: the worker sends it
        assert run_worker().sent == 1
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert sender == "noreply@shagym.test" and recipients == ["mother@example.org"]
    assert "/track" in content
    for secret in ("Bekov", "prosecutor", "baton", reference, filed.receipt, "torture"):
        assert secret not in content


def test_status_change_notifies_and_rollback_does_not(make_app, make_case, make_user, smtp):
    port, inbox = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context(), app.test_request_context():
        filed = make_case(contact_email="someone@example.org")
        worker = make_user("caseworker", ["general"])
        commands.change_status(filed.case.id, worker, "triage")
        assert run_worker().sent == 1 and len(inbox.messages) == 1
        with pytest.raises(workflow.TransitionRefused):
            commands.change_status(filed.case.id, worker, "closed")
        assert run_worker().sent == 0
    assert len(inbox.messages) == 1


def test_anonymous_reporters_and_reporters_own_replies_get_no_email(make_app, make_case, make_user, smtp):
    port, inbox = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context(), app.test_request_context():
        anonymous = make_case()
        worker = make_user("caseworker", ["general"])
        commands.send_message(anonymous.case.id, worker, "Hello")
        filed = make_case(contact_email="x@example.org")
        commands.reporter_reply(filed.case.id, "my own reply")
        assert run_worker().sent == 0
    assert inbox.messages == []


def test_without_mail_settings_nothing_is_sent_and_staff_are_told(make_case, login_as, smtp):
    port, inbox = smtp
    filed = make_case(contact_email="x@example.org")
    staff, worker = login_as("caseworker", ["general"])
    commands.send_message(filed.case.id, worker, "Hello")
    assert run_worker().sent == 0 and inbox.messages == []
    page = staff.get(f"/staff/cases/{filed.case.id}").get_data(as_text=True)
    assert "Email notifications are switched off" in page


def test_unreachable_mail_server_does_not_lose_the_message(make_app, make_case, make_user):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    with app.app_context(), app.test_request_context():
        filed = make_case(contact_email="x@example.org")
        worker = make_user("caseworker", ["general"])
        message = commands.send_message(filed.case.id, worker, "Still stored")
        assert message.id is not None
        assert run_worker().failed == 1  # and the notice waits in the outbox (tests/domain/test_outbox.py)


def test_a_consent_question_notifies_and_a_referral_not_asking_does_not(make_app, make_case, make_user, smtp):
    """A referral that waits for the reporter's consent sends the usual content-free notice; a
    de-identified one (the reporter is not asked) sends nothing; nor does the reporter's answer."""
    port, inbox = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context(), app.test_request_context():
        filed = make_case(contact_email="asked@example.org")
        staff = make_user("caseworker", ["general"])
        body = PartnerBody(
            name_kk="Д", name_ru="Д", name_en="Notice body (fictional)", kind="ngo", contact="-", answer_days=5
        )
        db.session.add(body)
        db.session.commit()
        commands.prepare_referral(filed.case.id, staff, commands.Draft(body.id, "deidentified", ["region"], "en", True))
        assert run_worker().sent == 0 and inbox.messages == []
        asked = commands.prepare_referral(
            filed.case.id, staff, commands.Draft(body.id, "consent", ["region"], "en", True)
        )
        assert run_worker().sent == 1
        assert len(inbox.messages) == 1 and inbox.messages[0][1] == ["asked@example.org"]
        assert "Notice body" not in inbox.messages[0][2]
        commands.answer_consent(filed.case.id, asked.id, True)
        assert run_worker().sent == 0
    assert len(inbox.messages) == 1
