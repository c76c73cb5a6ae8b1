"""The public report form, as a citizen uses it and as an attacker abuses it: every bad input
comes back with a clear message, a linked error summary and everything that was typed, and
stores nothing; text in any language or markup is stored exactly and shown escaped.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from typing import NamedTuple

import pytest
from markupsafe import escape
from sqlalchemy import select

from cases.categories import CATEGORIES, REGIONS
from cases.models import Case, Event, Queue
from storage import db
from tests.helpers import HtmlPage, count, page, report_form
from tests.public.reporting import TYPED, assert_typed_values_back, form

# --- the form itself ---------------------------------------------------------------------------------------------


def test_landing_page_offers_reporting_and_says_you_may_stay_anonymous(en):
    r = en.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert any(href == "/report" and label.startswith("Report a problem") for href, label in HtmlPage(html).links)
    assert "You can stay anonymous" in html
    assert "You do not have to give your name or contact details." in html


def test_report_form_lists_every_category_with_its_explanation_and_every_region(en):
    r = en.get("/report")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    for i, c in enumerate(CATEGORIES):
        assert f'id="category-{i}" name="category" value="{c.slug}"' in html
        assert c.name in unescape(html) and c.explanation in unescape(html)
    radios = re.findall(r'<input type="radio" id="category-\d+" name="category" value="([a-z]+)"', html)
    assert radios == [c.slug for c in CATEGORIES]
    options = re.findall(r'<option(?: selected)? value="([^"]*)">([^<]*)</option>', html)
    expected_regions = {
        "abai",
        "akmola",
        "aktobe",
        "almaty",
        "atyrau",
        "east-kazakhstan",
        "jambyl",
        "jetisu",
        "karaganda",
        "kostanay",
        "kyzylorda",
        "mangystau",
        "north-kazakhstan",
        "pavlodar",
        "turkistan",
        "ulytau",
        "west-kazakhstan",
        "astana",
        "almaty-city",
        "shymkent",
        "none",
    }
    assert [value for value, _label in options[1:]] == [slug for slug, _label in REGIONS]
    assert {value for value, _label in options} == expected_regions | {""}
    assert len(options) == 22
    assert ("none", "Outside Kazakhstan / prefer not to say") in options
    assert "Stay anonymous" in html and "only with the receipt code" in html


@pytest.mark.parametrize("data", [None, {"narrative": "short"}], ids=["empty form", "refused form"])
def test_form_has_no_placeholder_attribute_values(app, en, data):
    html = (en.get("/report") if data is None else en.post("/report", data=data)).get_data(as_text=True)
    assert '="None"' not in html
    assert ('aria-invalid="true"' in html) == bool(data)


def test_each_form_view_gets_its_own_submission_token(en):
    tokens = {HtmlPage(en.get("/report").get_data(as_text=True)).value("submission_token") for _ in range(3)}
    assert len(tokens) == 3 and all(t and len(t) >= 24 for t in tokens)


def test_unknown_page_gets_a_friendly_404_in_the_site_layout(en):
    r = en.get("/no/such/page")
    html = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "Page not found" in html and 'class="site-header"' in html and "Leave this site quickly" in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()


# --- every bad input ---------------------------------------------------------------------------------------------


class Required(NamedTuple):
    """A required answer left out, and what the refusal says and links to."""

    id: str  # the field
    message: str
    anchor: str


REQUIRED = [
    Required("category", "Choose what your report is about.", "category-0"),
    Required("narrative", "Tell us what happened.", "narrative"),
    Required("region", "Choose a region, or “Outside Kazakhstan / prefer not to say”.", "region"),
    Required("immediate_danger", "Tell us whether someone is in immediate danger.", "immediate_danger-0"),
    Required("child_affected", "Tell us whether a child is affected.", "child_affected-0"),
    Required("in_custody", "Tell us whether the person is in custody or an institution.", "in_custody-0"),
    Required("reporter_role", "Tell us who you are in this report.", "reporter_role-0"),
    Required("contact", "Choose whether you want to stay anonymous.", "contact-0"),
    Required("consent", "Tick the box to agree, or we cannot accept the report.", "consent"),
]

LENGTH = "Write between 20 and 20000 characters."
REAL_DATE = "Enter a real date, for example 2026-03-27."
TWICE = "This answer was sent more than once. Please choose one answer."
UNREADABLE = "This text contains characters we cannot read. Please retype it."


@dataclass(frozen=True)
class BadInput:
    """A bad answer, what the refusal says, the field its summary links to, and the fields
    that cannot come back as typed (the server drops what it cannot accept)."""

    id: str
    overrides: dict
    message: str
    anchor: str
    not_typed_back: tuple[str, ...] = ()


BAD = [
    BadInput("narrative 19 characters", {"narrative": "x" * 19}, LENGTH, "narrative"),
    BadInput("narrative 20001 characters", {"narrative": "y" * 20_001}, LENGTH, "narrative"),
    BadInput("narrative only spaces", {"narrative": " " * 40}, "Tell us what happened.", "narrative", ("narrative",)),
    BadInput(
        "date in the future",
        {"occurred_on": (date.today() + timedelta(days=3)).isoformat()},
        "The date cannot be in the future.",
        "occurred_on",
    ),
    BadInput("date that does not exist", {"occurred_on": "2025-02-30"}, REAL_DATE, "occurred_on"),
    BadInput("date that is not a date", {"occurred_on": "last tuesday"}, REAL_DATE, "occurred_on"),
    BadInput(
        "unknown category",
        {"category": "politics"},
        "Choose one of the listed topics for your report.",
        "category-0",
        ("category",),
    ),
    BadInput("unknown region", {"region": "mars"}, "Choose a region or city from the list", "region", ("region",)),
    BadInput(
        "unknown answer to danger",
        {"immediate_danger": "maybe"},
        "Choose one of the answers in the list.",
        "immediate_danger-0",
        ("immediate_danger",),
    ),
    BadInput("bad email", {"email": "reporter@"}, "Enter an email address like name@example.com.", "email"),
    BadInput("bad phone", {"phone": "12345"}, "Enter a phone number like +7 701 234 5678.", "phone"),
    BadInput(
        "contact without email or phone",
        {"email": "", "phone": ""},
        "Give an email or a phone number, or choose to stay anonymous.",
        "contact-0",
    ),
    BadInput("place too long", {"place_description": "p" * 501}, "Write at most 500 characters.", "place_description"),
    BadInput("category posted twice", {"category": ["torture", "other"]}, TWICE, "category-0"),
    BadInput(
        "narrative posted twice",
        {"narrative": [TYPED["narrative"], "A different story, told a second time."]},
        TWICE,
        "narrative",
    ),
    BadInput("consent posted twice", {"consent": ["y", "y"]}, TWICE, "consent"),
    BadInput(
        "NUL byte in narrative",
        {"narrative": "Before the NUL\x00after the NUL byte"},
        UNREADABLE,
        "narrative",
        ("narrative",),
    ),
    BadInput(
        "control character in place",
        {"place_description": "bell\x07here"},
        UNREADABLE,
        "place_description",
        ("place_description",),
    ),
]


def _check_refused(r, message: str, anchor: str, status: int = 422) -> HtmlPage:
    html = r.get_data(as_text=True)
    assert r.status_code == status, html[:1500]
    assert str(escape(message)) in html
    summary = html[html.index('class="error-summary"') : html.index("</div>", html.index('class="error-summary"'))]
    assert f'href="#{anchor}"' in summary and str(escape(message)) in summary
    page = HtmlPage(html)
    assert anchor in page.ids, f"the summary links to #{anchor}, which is not on the page"
    assert count(Case) == 0 and count(Event) == 0
    return page


@pytest.mark.parametrize("required", REQUIRED, ids=lambda r: r.id)
def test_missing_required_answer_is_refused_and_everything_typed_comes_back(app, en, required):
    typed = form(**{required.id: None})
    page = _check_refused(en.post("/report", data=typed), required.message, required.anchor)
    assert_typed_values_back(page, typed)
    assert page.value("submission_token") == typed["submission_token"]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.id)
def test_bad_input_is_refused_with_a_clear_message_and_everything_typed_comes_back(app, en, bad):
    typed = form(**bad.overrides)
    page = _check_refused(en.post("/report", data=typed), bad.message, bad.anchor)
    assert_typed_values_back(page, typed, bad.not_typed_back)


@pytest.mark.parametrize("narrative", ["x" * 20, "é" * 20_000, "  " + "z" * 20 + "  "])
def test_narrative_length_limits_are_inclusive(app, en, narrative):
    assert en.post("/report", data=form(narrative=narrative)).status_code == 200
    assert db.session.scalar(select(Case)).narrative == narrative.strip()


def test_today_is_not_in_the_future(app, en):
    assert en.post("/report", data=form(occurred_on=date.today().isoformat())).status_code == 200


def test_today_in_almaty_is_not_in_the_future_while_utc_is_still_yesterday(app, en, monkeypatch):
    from datetime import UTC, datetime

    from intake import forms

    instant = datetime(2026, 3, 9, 20, 30, tzinfo=UTC)  # 01:30 on 10 March in Almaty

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)

    monkeypatch.setattr(forms, "datetime", Clock)
    assert en.post("/report", data=form(occurred_on="2026-03-11")).status_code == 422
    assert en.post("/report", data=form(occurred_on="2026-03-10")).status_code == 200
    assert db.session.scalar(select(Case)).occurred_on == date(2026, 3, 10)


def _urlencoded(narrative_raw: str, **fields) -> bytes:
    from urllib.parse import urlencode

    return (urlencode(form(**fields, narrative=None), doseq=True) + "&narrative=" + narrative_raw).encode("ascii")


def test_non_utf8_bytes_in_a_urlencoded_body_are_refused(app, en):
    typed = form(narrative=None)
    body = _urlencoded("%FF%FEbroken+bytes+then+readable+words", submission_token=typed["submission_token"])
    page = _check_refused(
        en.post("/report", data=body, content_type="application/x-www-form-urlencoded"), UNREADABLE, "narrative"
    )
    assert "broken bytes then readable words" in page.value("narrative")
    assert_typed_values_back(page, typed)


def test_percent_signs_typed_in_a_urlencoded_body_are_text(app, en):
    body = _urlencoded("Prices+rose+100%25+and+%D0%B0+%E2%80%94+fine,+valid+UTF-8")
    r = en.post("/report", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200
    assert db.session.scalar(select(Case)).narrative == "Prices rose 100% and а — fine, valid UTF-8"


def test_non_utf8_bytes_in_a_multipart_body_are_refused(app, en):
    boundary = "----shagymtest"
    typed = form(narrative=None)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in typed.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="narrative"\r\n\r\n'.encode()
        + b"\xff\xfe broken bytes then readable words\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    r = en.post("/report", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    page = _check_refused(r, UNREADABLE, "narrative")
    assert "broken bytes then readable words" in page.value("narrative")
    assert_typed_values_back(page, typed)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_10_mb_body_is_refused_with_a_friendly_413(app, en, content_type):
    r = en.post("/report", data=form(narrative="x" * 10 * 1024 * 1024), content_type=content_type)
    html = r.get_data(as_text=True)
    assert r.status_code == 413
    assert "Too much data" in html and 'class="site-header"' in html and "Traceback" not in html
    assert count(Case) == 0


def test_missing_csrf_token_gets_the_form_back_with_what_was_typed(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    client.set_cookie("lang", "en")
    with app.app_context():
        assert HtmlPage(client.get("/report").get_data(as_text=True)).value("csrf_token")
        typed = form(narrative="They took my brother's phone and passport at the station.")
        for token in (None, "forged-token"):
            r = client.post("/report", data={**typed, "csrf_token": token} if token else typed)
            html = r.get_data(as_text=True)
            assert r.status_code == 400
            assert "Your form expired." in html and "Everything you typed is still here" in html
            page = HtmlPage(html)
            assert_typed_values_back(page, typed)
            assert count(Case) == 0
        # The page carries a fresh token: sending it again as it is files the report.
        again = {name: values[0] for name, values in page.values.items()}
        assert again["csrf_token"]
        r = client.post("/report", data=again)
        assert r.status_code == 200, r.get_data(as_text=True)[:1500]
        assert count(Case) == 1 and db.session.scalar(select(Case)).narrative == typed["narrative"]


# --- languages and hostile text ----------------------------------------------------------------------------------

TEXTS = {
    "kazakh": "Полиция бөлімшесінде ұрып-соқты, қорқытты. Әкемді үш күн ұстады.",
    "russian": "Сотрудники полиции избили задержанного в изоляторе временного содержания.",
    "emoji": "Please help 🙏🏽 my son is held in the detention centre 👮‍♂️ since Monday.",
    "markup": "<script>alert(1)</script> & \"quotes\" and 'apostrophes' <b>bold</b>",
    "textarea breakout": "</textarea><script>alert(document.cookie)</script><textarea>",
}


def test_text_in_any_language_is_stored_exactly_and_shown_escaped_to_staff(app, en, login_as):
    place = "Қарағанды облысы, тергеу изоляторы 🏢"
    for narrative in TEXTS.values():
        assert en.post("/report", data=form(narrative=narrative, place_description=place)).status_code == 200
    db.session.expire_all()
    cases = db.session.scalars(select(Case).order_by(Case.id)).all()
    assert [c.narrative for c in cases] == list(TEXTS.values())
    assert {c.place_description for c in cases} == {place}

    staff, _user = login_as("caseworker", [cases[0].queue.slug])
    for case in cases:
        r = staff.get(f"/staff/cases/{case.id}")
        html = r.get_data(as_text=True)
        assert r.status_code == 200
        assert str(escape(case.narrative)) in html and str(escape(place)) in html
        assert "<script>alert" not in html and "<b>bold" not in html


@pytest.mark.parametrize("name", list(TEXTS))
def test_text_in_any_language_comes_back_escaped_in_a_refused_form(app, en, name):
    typed = form(narrative=TEXTS[name], consent=None)
    r = en.post("/report", data=typed)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<script>alert" not in html
    assert HtmlPage(html).value("narrative") == TEXTS[name]


def test_queue_names_from_the_admin_are_shown_as_text_on_the_receipt(app, en):
    # Queues are data an administrator edits: markup and per-cent signs in them are text, not HTML or formats.
    queue = db.session.scalar(select(Queue).where(Queue.slug == "general"))
    queue.name = '<img src=x> Unit for 100% of "other" cases'
    queue.description = "Handles %(everything)s & <i>more</i>"
    db.session.commit()
    r = en.post("/report", data=form(category="other"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:1500]
    assert str(escape(queue.name)) in html and str(escape(queue.description)) in html
    assert "<img src=x>" not in html and "<i>more" not in html


# --- contact details and the anonymous choice ------------------------------------------------------------------------

ANONYMOUS_WITH_DETAILS = {
    "kk": "Сіз анонимді болуды таңдадыңыз",
    "ru": "Вы выбрали остаться анонимным",
    "en": "You chose to stay anonymous but also gave contact details.",
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("typed", [{"email": "me@example.org"}, {"phone": "+7 701 234 5678"}])
def test_contact_details_typed_while_anonymous_are_asked_about_not_dropped(client, lang, typed):
    client.set_cookie("lang", lang)
    response = client.post("/report", data={**report_form(contact="anonymous"), **typed})
    assert response.status_code == 422
    body = page(response)
    assert body.count(ANONYMOUS_WITH_DETAILS[lang]) == 2  # next to the question and in the summary
    assert 'href="#contact-0"' in body
    shown = HtmlPage(response.get_data(as_text=True))
    for name, value in typed.items():
        assert shown.value(name) == value  # still there to keep or delete
    assert count(Case) == 0


def test_contact_details_are_sent_only_when_contact_is_chosen(client):
    body = page(client.get("/report"))
    assert 'id="contact-details"' in body  # the script hides this while "Stay anonymous" is chosen
    client.post("/report", data=report_form(contact="contact", email="me@example.org"))
    assert db.session.scalar(select(Case)).contact_email == "me@example.org"


# --- every error in the summary -------------------------------------------------------------------------------------


def _summary_links(html_text: str) -> list[str]:
    summary = html_text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">', summary)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_refused_file_is_in_the_error_summary_with_the_other_errors(client, lang):
    client.set_cookie("lang", lang)
    data = {**report_form(narrative=None, consent=None), "evidence": [(io.BytesIO(b"<html>x</html>"), "x.html")]}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    markup = response.get_data(as_text=True)
    links = _summary_links(markup)
    assert links == ["narrative", "consent", "evidence"]
    assert markup.count('class="field-error"') == len(links)  # every error on the page, once in the summary
    assert all(f'id="{anchor}"' in markup for anchor in links)


def test_a_refused_file_alone_is_summarised_too(client):
    data = {**report_form(), "evidence": [(io.BytesIO(b"<html>x</html>"), "x.html")]}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert _summary_links(response.get_data(as_text=True)) == ["evidence"]
    assert "<title>Error:" in page(response)


def test_a_refused_file_on_the_tracking_page_is_summarised_and_linked_to_the_file_field(client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    data = {"body": "and this", "evidence": [(io.BytesIO(b"<html>x</html>"), "x.html")]}
    response = client.post("/track/reply", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    markup = response.get_data(as_text=True)
    assert _summary_links(markup) == ["evidence"]
    assert 'id="evidence-error"' in markup


@pytest.mark.parametrize("path", ["/report", "/track"])
def test_enter_in_a_field_sends_the_form_not_a_language_switch(app, en, path):
    """Implicit submission clicks the form's first submit button in document order; the header's
    language buttons belong to the form too, so the form's own action must come before them."""
    body = en.get(path).get_data(as_text=True)
    buttons = re.findall(r"<button[^>]*type=\"submit\"[^>]*>", body)
    assert buttons and 'name="language"' not in buttons[0]
    assert any('name="language"' in b for b in buttons)  # the switch is there, after it
