"""Switching language never loses what a page holds: the receipt shown once, a half-filled
report, a message being written. On those pages the switch is a submit button of the page's
form; the page comes back in the chosen language with everything in it, nothing stored."""

from __future__ import annotations

import pytest

from cases.models import Case, Event, Message
from tests.helpers import HtmlPage, count, page, receipt_of
from tests.public.reporting import form as typed_report

LANGUAGES = ("kk", "ru", "en")
RECEIVED = {"kk": "Өтінішіңіз қабылданды", "ru": "Ваше обращение получено", "en": "Your report was received"}
TELL_US = {"kk": "Не болғанын айтып беріңіз", "ru": "Расскажите, что произошло", "en": "Tell us what happened"}
CHECK = {"kk": "Ісімді тексеру", "ru": "Проверить моё дело", "en": "Check my case"}
YOUR_CASE = {"kk": "Сіздің ісіңіз", "ru": "Ваше дело", "en": "Your case"}


def _other(lang: str) -> str:
    """A language to start in that is not ``lang``."""
    return "en" if lang != "en" else "ru"


def _switches(html: str, form_id: str) -> dict[str, str]:
    """The language buttons of the header that send ``form_id``: {language: button markup}."""
    nav = html.split('class="lang-switch"', 1)[1].split("</nav>", 1)[0]
    assert "/language/" not in nav, "no plain link away from a page that holds something"
    return {
        code: part
        for part in nav.split("<button")[1:]
        for code in ("kk", "ru", "en")
        if f'value="{code}"' in part and f'form="{form_id}"' in part and 'name="language"' in part
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_switching_language_on_the_receipt_page_shows_the_same_receipt(client, lang):
    client.set_cookie("lang", _other(lang))
    first = client.post("/report", data=typed_report())
    html = first.get_data(as_text=True)
    code, reference = receipt_of(html), Case.query.one().reference
    assert lang in _switches(html, "receipt-language")
    sent = HtmlPage(html)
    assert "/report/receipt" in sent.urls
    assert sent.values["receipt"] == [code, code]  # the switch's form and the download both carry the code
    again = client.post(
        "/report/receipt", data={"reference": reference, "receipt": code, "files_not_kept": "0", "language": lang}
    )
    assert again.status_code == 200
    body = page(again)
    assert f'<html lang="{lang}">' in body and RECEIVED[lang] in body
    assert code in body and reference in body
    assert again.headers.getlist("Set-Cookie")[0].startswith(f"lang={lang};")
    assert "no-store" in again.headers["Cache-Control"]
    assert count(Case) == 1 and count(Event) == 2  # nothing filed or recorded again
    # And again from there: every control on the page keeps the code.
    assert _switches(again.get_data(as_text=True), "receipt-language")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_switching_language_in_the_report_form_keeps_what_was_typed(client, lang):
    client.set_cookie("lang", _other(lang))
    assert lang in _switches(client.get("/report").get_data(as_text=True), "report-form")
    typed = typed_report(consent=None, narrative="Only the start of what happened")
    response = client.post("/report", data={**typed, "language": lang})
    assert response.status_code == 200
    body = page(response)
    assert f'<html lang="{lang}">' in body and TELL_US[lang] in body
    assert 'id="error-summary"' not in body  # nothing was checked
    shown = HtmlPage(response.get_data(as_text=True))
    for name in ("category", "narrative", "region", "place_description", "email", "phone", "contact"):
        assert shown.value(name) == typed[name], name
    assert shown.value("submission_token") == typed["submission_token"]
    assert count(Case) == 0 and count(Event) == 0
    assert response.headers.getlist("Set-Cookie")[0].startswith(f"lang={lang};")


def test_files_chosen_before_a_switch_are_asked_for_again(client):
    from io import BytesIO

    data = {**typed_report(), "language": "ru", "evidence": (BytesIO(b"%PDF-1.4 x"), "a.pdf")}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert "Выберите файлы ещё раз" in page(response)
    assert count(Case) == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_switching_language_while_writing_a_reply_keeps_the_message(client, make_case, lang):
    filed = make_case()
    client.set_cookie("lang", _other(lang))
    client.post("/track", data={"receipt": filed.receipt})
    assert lang in _switches(client.get("/track/case").get_data(as_text=True), "reply-form")
    response = client.post("/track/reply", data={"body": "Half of my answer", "language": lang})
    assert response.status_code == 200
    body = page(response)
    assert f'<html lang="{lang}">' in body and YOUR_CASE[lang] in body
    assert HtmlPage(response.get_data(as_text=True)).value("body") == "Half of my answer"
    assert count(Message) == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_switching_language_while_typing_the_receipt_keeps_it(client, lang):
    client.set_cookie("lang", _other(lang))
    assert lang in _switches(client.get("/track").get_data(as_text=True), "track-form")
    response = client.post("/track", data={"receipt": "K7QF-M2XD", "language": lang})
    assert response.status_code == 200
    body = page(response)
    assert f'<html lang="{lang}">' in body and CHECK[lang] in body
    assert HtmlPage(response.get_data(as_text=True)).value("receipt") == "K7QF-M2XD"


def test_an_unknown_language_is_an_ordinary_submission(client):
    response = client.post("/report", data={**typed_report(), "language": "fr"})
    assert response.status_code == 200 and count(Case) == 1


def test_the_receipt_gives_the_due_time_to_the_minute(client):
    import re

    body = page(client.post("/report", data=typed_report()))
    sentence = body.split("A case worker will read your report by", 1)[1].split("</li>", 1)[0]
    assert re.search(r"\d{1,2}:\d{2}", sentence) and not re.search(r"\d{1,2}:\d{2}:\d{2}", sentence)
