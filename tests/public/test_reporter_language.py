"""The reporter's language is stored with the case when it is filed, and the e-mail notices go
out in it: a reporter who wrote in Russian is not sent Kazakh, whoever on the staff acts."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from cases import commands
from cases.models import Case
from cases.worker import run_once as worker_round
from i18n import DEFAULT_LOCALE, LANGUAGES
from storage import db
from tests.helpers import report
from tests.public.reporting import form

NOTICE_WORDS = {
    "kk": "Сәлеметсіз бе",
    "ru": "Здравствуйте",
    "en": "Hello! There is news",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_public_form_stores_the_language_it_was_read_in(client, language):
    client.set_cookie("lang", language)
    response = client.post("/report", data=form(contact="anonymous", email=None, phone=None))
    assert response.status_code == 200, response.status_code
    assert db.session.scalar(select(Case.language)) == language


def test_a_browser_language_counts_when_no_language_was_chosen(client):
    response = client.post(
        "/report", data=form(contact="anonymous", email=None, phone=None), headers={"Accept-Language": "ru-RU,ru;q=0.9"}
    )
    assert response.status_code == 200
    assert db.session.scalar(select(Case.language)) == "ru"


def test_an_unknown_language_is_refused_by_the_command(app):
    with pytest.raises(commands.CommandError):
        commands.file_report(report(language="de"), app.extensions["shagym_receipt_key"])
    assert db.session.scalar(select(Case.id)) is None


def test_the_database_refuses_a_language_outside_the_list(app, make_case):
    case = make_case().case
    with pytest.raises(Exception, match="(?i)check|constraint"):
        db.session.execute(text("UPDATE cases SET language = 'xx' WHERE id = :id"), {"id": case.id})
        db.session.flush()
    db.session.rollback()


def test_a_case_filed_without_a_language_gets_the_office_default(app, make_case):
    assert make_case().case.language == DEFAULT_LOCALE


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notice_goes_out_in_the_cases_language(make_app, make_case, make_user, smtp, language):
    port, inbox = smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        filed = make_case(contact_email="reporter@example.org", language=language)
        worker = make_user("caseworker", ["general"])
        commands.send_message(filed.case.id, worker, "We have news for you.")
        commands.change_status(filed.case.id, worker, "triage")
        assert worker_round().sent == 2
    assert len(inbox.messages) == 2
    for _sender, _to, content in inbox.messages:
        assert NOTICE_WORDS[language] in content
        for other, words in NOTICE_WORDS.items():
            if other != language:
                assert words not in content, (language, other)
        assert "/track" in content
