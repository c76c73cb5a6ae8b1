"""Filing a report from the public form: a valid report becomes exactly one routed case with
its first audit events and a receipt that finds it again; the receipt is stored and logged
nowhere in clear; a form sent twice or two forms racing; the receipt as a text file.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text, update

from cases import audit, queries
from cases.categories import CATEGORIES
from cases.models import Case, Event, RoutingRule
from storage import db
from tests.helpers import RECEIPT_RE, REFERENCE_RE, HtmlPage, count, receipt_of
from tests.public.reporting import TYPED, form

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


# --- a valid report ----------------------------------------------------------------------------------------------


def test_seeded_route_table_covers_every_category():
    assert set(SEEDED_ROUTE) == {c.slug for c in CATEGORIES}


@pytest.mark.parametrize("category", [c.slug for c in CATEGORIES])
def test_valid_report_in_every_category_is_filed_routed_and_found_by_its_receipt(app, en, category):
    queue_slug, priority = SEEDED_ROUTE[category]
    r = en.post("/report", data=form(category=category, child_affected="no"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:2000]

    assert count(Case) == 1
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
    """Typed details with "anonymous" chosen are asked about, never stored; anonymous is stored bare."""
    assert en.post("/report", data=form(contact="anonymous")).status_code == 422
    assert db.session.scalar(select(Case)) is None
    assert en.post("/report", data=form(contact="anonymous", email="", phone="")).status_code == 200
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
    page = HtmlPage(html)
    assert page.urls, "the page has links"
    assert not [u for u in page.urls if code in u or plain in u]
    assert all(code not in v and plain not in v for v in r.headers.getlist("Set-Cookie"))
    assert code not in caplog.text and plain not in caplog.text
    assert TYPED["narrative"] not in caplog.text


def test_receipt_code_and_reporter_metadata_are_stored_nowhere_in_clear(app, en, caplog):
    caplog.set_level(logging.DEBUG)
    agent, address = "ShagymTestBrowser/7.3 (reporter's phone)", "203.0.113.77"
    r = en.post("/report", data=form(), headers={"User-Agent": agent}, environ_base={"REMOTE_ADDR": address})
    assert r.status_code == 200 and count(Case) == 1
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
        # The second sending gets a fresh receipt for the one stored report; only one code works.
        assert statuses == [200, 200]
        assert len(cases) == 1
        codes = [receipt_of(r.get_data(as_text=True)) for r in results]
        found = [queries.find_by_receipt(app.extensions["shagym_receipt_key"], c) for c in codes]
        assert sorted(f is not None for f in found) == [False, True]
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
        ] + (["receipt_reissued"] if same_token else [])


def test_same_form_sent_twice_is_stored_once_and_the_second_answer_carries_a_fresh_receipt(app, en):
    """The first answer may never have arrived (a dropped connection): the reporter must still get a code."""
    data = form()
    first = en.post("/report", data=data)
    second = en.post("/report", data=data)
    assert first.status_code == 200 and second.status_code == 200
    old, new = receipt_of(first.get_data(as_text=True)), receipt_of(second.get_data(as_text=True))
    assert old != new
    assert count(Case) == 1 and count(Event) == 3
    case = db.session.scalar(select(Case))
    assert [e.action for e in db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.seq))][
        -1
    ] == "receipt_reissued"
    assert audit.verify_chain(db.session, case.id) is None
    # The first code stops working; the new one opens the case.
    assert en.post("/track", data={"receipt": old}).status_code == 404
    assert en.post("/track", data={"receipt": new}).status_code == 303


def test_the_same_form_after_the_reissue_window_is_refused_without_a_code(app, en):
    data = form()
    first = en.post("/report", data=data)
    assert first.status_code == 200
    window = app.config["RECEIPT_REISSUE_MINUTES"]
    db.session.execute(update(Case).values(created_at=datetime.now(UTC) - timedelta(minutes=window, seconds=1)))
    db.session.commit()
    second = en.post("/report", data=data)
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "This report was already received" in html
    assert not RECEIPT_RE.search(html) and receipt_of(first.get_data(as_text=True)) not in html
    assert count(Case) == 1 and count(Event) == 2


# --- receipt as a text file --------------------------------------------------------------------------------------


def test_receipt_text_file_holds_reference_and_code(app, en):
    html = en.post("/report", data=form()).get_data(as_text=True)
    code, reference = receipt_of(html), REFERENCE_RE.search(html).group(0)
    page = HtmlPage(html)
    assert "/report/receipt.txt" in page.urls
    r = en.post("/report/receipt.txt", data={"reference": reference, "receipt": code})
    assert r.status_code == 200
    assert r.mimetype == "text/plain" and r.mimetype_params.get("charset") == "utf-8"
    # A neutral name: a shared phone's downloads do not tell anyone what it is.
    assert r.headers["Content-Disposition"] == 'attachment; filename="note.txt"'
    assert (
        "shagym" not in r.headers["Content-Disposition"].lower() and reference not in r.headers["Content-Disposition"]
    )
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
        for path in ("/report/receipt.txt", "/report/receipt"):
            r = en.post(path, data={**data, "language": "ru"})
            assert r.status_code == 404 and "Page not found" in r.get_data(as_text=True)
            assert code1 not in r.get_data(as_text=True)
    assert en.get("/report/receipt.txt").status_code == 405
    assert en.get("/report/receipt").status_code == 405
