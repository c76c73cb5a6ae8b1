"""The public report form, as a citizen uses it and as an attacker abuses it.

A valid report becomes exactly one routed case with its first audit events and
a receipt that finds it again; every bad input comes back with a clear message,
a linked error summary and everything that was typed, and stores nothing.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections import defaultdict
from datetime import date, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, inspect, select, text

from cases import audit, queries
from cases.categories import CATEGORIES, REGIONS
from cases.models import Case, Event, Queue, RoutingRule
from storage import db

RECEIPT_RE = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")
REFERENCE_RE = re.compile(r"SHG-\d{4}-\d{6}")

# The queue and priority the seeded rules give a report with no danger, no child and nobody in custody.
SEEDED_ROUTE = {
    "torture": ("torture-prevention", "high"),
    "trafficking": ("trafficking", "high"),
    "women": ("women", "normal"),
    "cyberbullying": ("online", "normal"),
    "disability": ("disability", "normal"),
    "association": ("civic-freedoms", "normal"),
    "expression": ("civic-freedoms", "normal"),
    "life": ("policing", "high"),
    "justice": ("justice", "normal"),
    "other": ("general", "normal"),
}

# Contact details are typed in a shape the server normalises: they must still come back as typed.
TYPED = {
    "category": "women",
    "narrative": "My neighbour is beaten by her husband and the police do nothing.",
    "occurred_on": "2025-11-03",
    "region": "karaganda",
    "place_description": "A private flat in Temirtau",
    "immediate_danger": "no",
    "child_affected": "unknown",
    "in_custody": "no",
    "reporter_role": "relative",
    "contact": "contact",
    "email": "Reporter@Example.org",
    "phone": "+7 701 234 5678",
    "consent": "y",
}


def form(**overrides) -> dict:
    data = {**TYPED, "submission_token": secrets.token_urlsafe(12)}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def en(client):
    """The test client reading the English pages (the default language is Kazakh)."""
    client.set_cookie("lang", "en")
    return client


class Page(HTMLParser):
    """What a browser would send back if the page's form were submitted unchanged, plus every URL and id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = defaultdict(list)
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._link: list | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        self.urls += [a[k] for k in ("href", "action", "src", "formaction") if a.get(k) is not None]
        name = a.get("name")
        if tag == "a":
            self._link = [a.get("href"), ""]
        elif tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[name].append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                self.values[name].append(a.get("value") or "")
        elif tag == "textarea":
            self._textarea = name
            self.values[name].append("")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select].append(a.get("value") or "")

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][-1] += data
        if self._link is not None:
            self._link[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            value = self.values[self._textarea][-1]
            # The HTML parser drops one newline right after <textarea>, as browsers do.
            self.values[self._textarea][-1] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None

    def value(self, name: str) -> str | None:
        found = self.values.get(name) or []
        return found[0] if len(found) == 1 else None


def count(model=Case) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def receipt_of(html: str) -> str:
    match = RECEIPT_RE.search(html)
    assert match, "no receipt code on the page"
    return match.group(1)


def assert_typed_values_back(page: Page, typed: dict, skip: tuple[str, ...] = ()) -> None:
    for name, value in typed.items():
        if name in skip or name == "submission_token":
            continue
        first = value[0] if isinstance(value, list) else value
        assert page.values.get(name) == [first], f"{name}: typed {first!r}, form shows {page.values.get(name)!r}"


# --- a valid report ----------------------------------------------------------------------------------------------


def test_seeded_route_table_covers_every_category():
    assert set(SEEDED_ROUTE) == {c.slug for c in CATEGORIES}


@pytest.mark.parametrize("category", [c.slug for c in CATEGORIES])
def test_valid_report_in_every_category_is_filed_routed_and_found_by_its_receipt(app, en, category):
    queue_slug, priority = SEEDED_ROUTE[category]
    r = en.post("/report", data=form(category=category, child_affected="no"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:2000]

    assert count() == 1
    case = db.session.scalar(select(Case))
    assert case.category == category
    assert (case.queue.slug, case.priority_name, case.status, case.is_open) == (queue_slug, priority, "new", True)
    assert case.reference in html and REFERENCE_RE.fullmatch(case.reference)
    assert case.queue.name in html
    rule = db.session.get(RoutingRule, case.routing_rule_id)
    assert rule.category == category and case.routing_rule_name == rule.name == f"{category} → {queue_slug}"

    events = db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.seq)).all()
    assert [(e.seq, e.action, e.actor_type, e.actor_id) for e in events] == [
        (1, "created", "public", None),
        (2, "routed", "system", None),
    ]
    assert events[0].new_value == case.reference
    assert json.loads(events[0].details) == {"category": category}
    routed = json.loads(events[1].details)
    assert events[1].new_value == queue_slug
    assert (routed["rule"], routed["rule_id"], routed["priority"]) == (rule.name, rule.id, priority)
    assert audit.verify_chain(db.session, case.id) is None

    code = receipt_of(html)
    key = app.extensions["shagym_receipt_key"]
    plain = code.replace("-", "")
    lookalike = code.replace("0", "O").replace("1", "I")
    for typed in (code, code.lower(), plain, plain.lower(), f"  {code}  ", lookalike, code.replace("1", "l")):
        found = queries.find_by_receipt(key, typed)
        assert found is not None and found.id == case.id, typed


def test_report_answers_are_stored_as_given(app, en):
    typed = form(occurred_on="2025-11-03", ongoing="y", immediate_danger="no")
    assert en.post("/report", data=typed).status_code == 200
    case = db.session.scalar(select(Case))
    assert (case.category, case.narrative, case.occurred_on, case.ongoing, case.region, case.place_description) == (
        typed["category"],
        typed["narrative"],
        date(2025, 11, 3),
        True,
        "karaganda",
        typed["place_description"],
    )
    assert (case.immediate_danger, case.child_affected, case.in_custody, case.reporter_role) == (
        False,
        "unknown",
        "no",
        "relative",
    )
    assert (case.contact_email, case.contact_phone) == ("Reporter@example.org", "+77012345678")


def test_anonymous_reporter_leaves_no_contact_details_even_if_typed(app, en):
    assert en.post("/report", data=form(contact="anonymous")).status_code == 200
    case = db.session.scalar(select(Case))
    assert case.contact_email is None and case.contact_phone is None


def test_receipt_page_is_not_cached_and_the_code_is_in_no_url_cookie_or_log(app, en, caplog):
    caplog.set_level(logging.DEBUG)
    r = en.post("/report", data=form())
    html = r.get_data(as_text=True)
    code = receipt_of(html)
    plain = code.replace("-", "")
    assert r.status_code == 200
    assert "no-store" in r.headers["Cache-Control"]
    assert "Location" not in r.headers
    page = Page(html)
    assert page.urls, "the page has links"
    assert not [u for u in page.urls if code in u or plain in u]
    assert all(code not in v and plain not in v for v in r.headers.getlist("Set-Cookie"))
    assert code not in caplog.text and plain not in caplog.text
    assert TYPED["narrative"] not in caplog.text


def test_receipt_code_and_reporter_metadata_are_stored_nowhere_in_clear(app, en, caplog):
    caplog.set_level(logging.DEBUG)
    agent, address = "ShagymTestBrowser/7.3 (reporter's phone)", "203.0.113.77"
    r = en.post("/report", data=form(), headers={"User-Agent": agent}, environ_base={"REMOTE_ADDR": address})
    assert r.status_code == 200 and count() == 1
    code = receipt_of(r.get_data(as_text=True))
    needles = [code, code.replace("-", ""), code.lower(), code.replace("-", "").lower(), agent, address]
    assert not any(n in caplog.text for n in needles)
    db.session.commit()
    scanned = 0
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the schema
                for value in row:
                    scanned += 1
                    if isinstance(value, bytes | memoryview):
                        blob = bytes(value)
                        assert not any(n.encode() in blob for n in needles), table
                    elif value is not None:
                        assert not any(n in str(value) for n in needles), table
    assert scanned > 50
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        db.session.remove()
        files = [Path(url.database), Path(url.database + "-wal")]
        raw = b"".join(p.read_bytes() for p in files if p.exists())
        assert len(raw) > 10_000
        assert not any(n.encode() in raw for n in needles)
        assert not any(n.encode("utf-16-le") in raw for n in needles)


# --- the form itself ---------------------------------------------------------------------------------------------


def test_landing_page_offers_reporting_and_says_you_may_stay_anonymous(en):
    r = en.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert any(href == "/report" and label.startswith("Report a problem") for href, label in Page(html).links)
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
    tokens = {Page(en.get("/report").get_data(as_text=True)).value("submission_token") for _ in range(3)}
    assert len(tokens) == 3 and all(t and len(t) >= 24 for t in tokens)


def test_unknown_page_gets_a_friendly_404_in_the_site_layout(en):
    r = en.get("/no/such/page")
    html = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "Page not found" in html and 'class="site-header"' in html and "Leave this site quickly" in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()


# --- every bad input ---------------------------------------------------------------------------------------------

REQUIRED = {
    "category": ("Choose what your report is about.", "category-0"),
    "narrative": ("Tell us what happened.", "narrative"),
    "region": ("Choose a region, or “Outside Kazakhstan / prefer not to say”.", "region"),
    "immediate_danger": ("Tell us whether someone is in immediate danger.", "immediate_danger-0"),
    "child_affected": ("Tell us whether a child is affected.", "child_affected-0"),
    "in_custody": ("Tell us whether the person is in custody or an institution.", "in_custody-0"),
    "reporter_role": ("Tell us who you are in this report.", "reporter_role-0"),
    "contact": ("Choose whether you want to stay anonymous.", "contact-0"),
    "consent": ("Tick the box to agree, or we cannot accept the report.", "consent"),
}

LENGTH = "Write between 20 and 20000 characters."
REAL_DATE = "Enter a real date, for example 2026-03-27."
TWICE = "This answer was sent more than once. Please choose one answer."
UNREADABLE = "This text contains characters we cannot read. Please retype it."

BAD = {
    # name: (overrides, message, anchor, fields that cannot come back as typed)
    "narrative 19 characters": ({"narrative": "x" * 19}, LENGTH, "narrative", ()),
    "narrative 20001 characters": ({"narrative": "y" * 20_001}, LENGTH, "narrative", ()),
    "narrative only spaces": ({"narrative": " " * 40}, "Tell us what happened.", "narrative", ("narrative",)),
    "date in the future": (
        {"occurred_on": (date.today() + timedelta(days=3)).isoformat()},
        "The date cannot be in the future.",
        "occurred_on",
        (),
    ),
    "date that does not exist": ({"occurred_on": "2025-02-30"}, REAL_DATE, "occurred_on", ()),
    "date that is not a date": ({"occurred_on": "last tuesday"}, REAL_DATE, "occurred_on", ()),
    "unknown category": (
        {"category": "politics"},
        "Choose one of the listed topics for your report.",
        "category-0",
        ("category",),
    ),
    "unknown region": ({"region": "mars"}, "Choose a region or city from the list", "region", ("region",)),
    "unknown answer to danger": (
        {"immediate_danger": "maybe"},
        "Choose one of the answers in the list.",
        "immediate_danger-0",
        ("immediate_danger",),
    ),
    "bad email": ({"email": "reporter@"}, "Enter an email address like name@example.com.", "email", ()),
    "bad phone": ({"phone": "12345"}, "Enter a phone number like +7 701 234 5678.", "phone", ()),
    "contact without email or phone": (
        {"email": "", "phone": ""},
        "Give an email or a phone number, or choose to stay anonymous.",
        "contact-0",
        (),
    ),
    "place too long": ({"place_description": "p" * 501}, "Write at most 500 characters.", "place_description", ()),
    "category posted twice": ({"category": ["torture", "other"]}, TWICE, "category-0", ()),
    "narrative posted twice": (
        {"narrative": [TYPED["narrative"], "A different story, told a second time."]},
        TWICE,
        "narrative",
        (),
    ),
    "consent posted twice": ({"consent": ["y", "y"]}, TWICE, "consent", ()),
    "NUL byte in narrative": (
        {"narrative": "Before the NUL\x00after the NUL byte"},
        UNREADABLE,
        "narrative",
        ("narrative",),
    ),
    "control character in place": (
        {"place_description": "bell\x07here"},
        UNREADABLE,
        "place_description",
        ("place_description",),
    ),
}


def _check_refused(r, message: str, anchor: str, status: int = 422) -> Page:
    html = r.get_data(as_text=True)
    assert r.status_code == status, html[:1500]
    assert str(escape(message)) in html
    summary = html[html.index('class="error-summary"') : html.index("</div>", html.index('class="error-summary"'))]
    assert f'href="#{anchor}"' in summary and str(escape(message)) in summary
    page = Page(html)
    assert anchor in page.ids, f"the summary links to #{anchor}, which is not on the page"
    assert count() == 0 and count(Event) == 0
    return page


@pytest.mark.parametrize("missing", list(REQUIRED))
def test_missing_required_answer_is_refused_and_everything_typed_comes_back(app, en, missing):
    message, anchor = REQUIRED[missing]
    typed = form(**{missing: None})
    page = _check_refused(en.post("/report", data=typed), message, anchor)
    assert_typed_values_back(page, typed)
    assert page.value("submission_token") == typed["submission_token"]


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_with_a_clear_message_and_everything_typed_comes_back(app, en, case):
    overrides, message, anchor, skip = BAD[case]
    typed = form(**overrides)
    page = _check_refused(en.post("/report", data=typed), message, anchor)
    assert_typed_values_back(page, typed, skip)


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
    assert count() == 0


def test_missing_csrf_token_gets_the_form_back_with_what_was_typed(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    client.set_cookie("lang", "en")
    with app.app_context():
        assert Page(client.get("/report").get_data(as_text=True)).value("csrf_token")
        typed = form(narrative="They took my brother's phone and passport at the station.")
        for token in (None, "forged-token"):
            r = client.post("/report", data={**typed, "csrf_token": token} if token else typed)
            html = r.get_data(as_text=True)
            assert r.status_code == 400
            assert "Your form expired." in html and "Everything you typed is still here" in html
            page = Page(html)
            assert_typed_values_back(page, typed)
            assert count() == 0
        # The page carries a fresh token: sending it again as it is files the report.
        again = {name: values[0] for name, values in page.values.items()}
        assert again["csrf_token"]
        r = client.post("/report", data=again)
        assert r.status_code == 200, r.get_data(as_text=True)[:1500]
        assert count() == 1 and db.session.scalar(select(Case)).narrative == typed["narrative"]


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
    assert Page(html).value("narrative") == TEXTS[name]


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


# --- concurrency and resubmission --------------------------------------------------------------------------------


@pytest.mark.parametrize("same_token", [False, True], ids=["two reports", "one report sent twice"])
def test_two_submissions_racing_in_threads(app, same_token):
    db.session.remove()  # this test's own session must hold no lock while the threads write
    barrier = threading.Barrier(2, timeout=30)
    results: list = [None, None]

    def submit(i: int) -> None:
        try:
            client = app.test_client()
            data = form(submission_token="same-form" if same_token else f"form-{i}")
            barrier.wait()
            results[i] = client.post("/report", data=data)
        except Exception as exc:  # reported below, on the test's thread
            results[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(isinstance(r, Exception) for r in results), results
    statuses = sorted(r.status_code for r in results)
    cases = db.session.scalars(select(Case).order_by(Case.id)).all()
    if same_token:
        assert statuses == [200, 409]
        assert len(cases) == 1
    else:
        assert statuses == [200, 200]
        assert len(cases) == 2 and cases[0].reference != cases[1].reference
        receipts = {receipt_of(r.get_data(as_text=True)) for r in results}
        assert len(receipts) == 2
    for case in cases:
        assert audit.verify_chain(db.session, case.id) is None
        assert [e.action for e in db.session.scalars(select(Event).where(Event.case_id == case.id))] == [
            "created",
            "routed",
        ]


def test_same_form_sent_twice_is_stored_once(app, en):
    data = form()
    first = en.post("/report", data=data)
    second = en.post("/report", data=data)
    assert first.status_code == 200
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "This report was already received" in html
    assert not RECEIPT_RE.search(html) and receipt_of(first.get_data(as_text=True)) not in html
    assert count() == 1 and count(Event) == 2


# --- receipt as a text file --------------------------------------------------------------------------------------


def test_receipt_text_file_holds_reference_and_code(app, en):
    html = en.post("/report", data=form()).get_data(as_text=True)
    code, reference = receipt_of(html), REFERENCE_RE.search(html).group(0)
    page = Page(html)
    assert "/report/receipt.txt" in page.urls
    r = en.post("/report/receipt.txt", data={"reference": reference, "receipt": code})
    assert r.status_code == 200
    assert r.mimetype == "text/plain" and r.mimetype_params.get("charset") == "utf-8"
    assert r.headers["Content-Disposition"] == f'attachment; filename="shagym-{reference}.txt"'
    assert "no-store" in r.headers["Cache-Control"]
    body = r.get_data(as_text=True)
    assert reference in body and code in body and "\r\n" in body


def test_receipt_text_file_refuses_a_wrong_code_or_reference(app, en):
    first = en.post("/report", data=form()).get_data(as_text=True)
    second = en.post("/report", data=form()).get_data(as_text=True)
    code1, ref1 = receipt_of(first), REFERENCE_RE.search(first).group(0)
    code2 = receipt_of(second)
    wrong = ("0" if code1[0] != "0" else "1") + code1[1:]
    for data in (
        {"reference": ref1, "receipt": wrong},
        {"reference": ref1, "receipt": code2},
        {"reference": ref1, "receipt": ""},
        {"reference": "", "receipt": code1},
    ):
        r = en.post("/report/receipt.txt", data=data)
        assert r.status_code == 404 and "Page not found" in r.get_data(as_text=True)
    assert en.get("/report/receipt.txt").status_code == 405
