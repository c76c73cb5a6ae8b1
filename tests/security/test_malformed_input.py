"""Bad input never gives a 500 and never stores half a report.

A seeded loop posts thousands of malformed requests — wrong content types,
JSON bodies, fields posted twice, control characters, huge and odd values,
unknown fields — to the report form, the receipt look-up and the staff forms.
Every answer must be a 4xx or a normal page, and every case stored must be
complete (its ``created`` and ``routed`` events are there).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from cases.models import Case, Event
from storage import db
from tests.helpers import report_form

SEED = 2021
ROUNDS = 2000
REPORT_FIELDS = list(report_form()) + [
    "email",
    "phone",
    "occurred_on",
    "ongoing",
    "place_description",
    "submission_token",
]
ODD_VALUES = [
    "",
    " ",
    "\x00",
    "\x01\x02\x7f",
    "\ufffd",
    "%FF%FE",
    "😀" * 50,
    "ә ғ қ ң ө ұ ү һ і",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "0001-01-01",
    "9999-12-31",
    "-1",
    "2" * 40,
    "1e309",
    "NaN",
    "yes",
    "torture",
    "contact",
    "x" * 25_000,
    "a@b",
    "+7 701 000 00 00",
]


@dataclass(frozen=True)
class Target:
    path: str
    fields: tuple[str, ...]


def _value(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(ODD_VALUES)
    return "".join(
        chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x400, 0x4FF), rng.randrange(0, 32)]))
        for _ in range(rng.randrange(0, 60))
    )


def _post(client, rng: random.Random, target: Target):
    fields = {
        name: [_value(rng) for _ in range(rng.choice([1, 1, 1, 2]))] for name in target.fields if rng.random() < 0.7
    }
    if rng.random() < 0.2:
        fields[_value(rng)[:20] or "junk"] = [_value(rng)]
    kind = rng.choice(["form", "form", "multipart", "json", "json-list", "text", "garbage"])
    if kind == "form":
        return client.post(target.path, data=MultiDict([(k, v) for k, vs in fields.items() for v in vs]))
    if kind == "multipart":
        return client.post(
            target.path,
            data=MultiDict([(k, v) for k, vs in fields.items() for v in vs]),
            content_type="multipart/form-data",
        )
    if kind == "json":
        return client.post(
            target.path, data=json.dumps({k: vs[0] for k, vs in fields.items()}), content_type="application/json"
        )
    if kind == "json-list":
        return client.post(target.path, data=json.dumps([1, 2, {"a": [None]}]), content_type="application/json")
    if kind == "text":
        return client.post(target.path, data=_value(rng).encode("utf-8", "surrogatepass"), content_type="text/plain")
    return client.post(
        target.path,
        data=bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
        content_type=rng.choice(
            ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json"]
        ),
    )


def test_thousands_of_malformed_posts_get_no_server_error_and_leave_no_partial_report(app, make_case, login_as):
    rng = random.Random(SEED)
    case_id = make_case().case.id
    staff_client, _worker = login_as("caseworker", ["general"])
    public = app.test_client()
    targets = [
        (public, Target("/report", tuple(REPORT_FIELDS))),
        (public, Target("/track", ("receipt",))),
        (public, Target("/report/receipt.txt", ("reference", "receipt"))),
        (staff_client, Target(f"/staff/cases/{case_id}/status", ("target", "reason", "message", "version"))),
        (staff_client, Target(f"/staff/cases/{case_id}/priority", ("priority", "reason", "version"))),
        (staff_client, Target(f"/staff/cases/{case_id}/messages", ("kind", "body"))),
        (staff_client, Target(f"/staff/cases/{case_id}/claim", ("version",))),
        (staff_client, Target("/staff/password", ("current", "new", "confirm"))),
    ]
    statuses = []
    for _ in range(ROUNDS):
        client, target = rng.choice(targets)
        response = _post(client, rng, target)
        assert response.status_code < 500, (target.path, response.status_code)
        statuses.append(response.status_code)
    assert len(statuses) == ROUNDS and set(statuses) - {200, 302, 303}, "the loop never reached a refusal"
    cases = db.session.scalar(select(func.count(Case.id)))
    complete = db.session.scalar(
        select(func.count(func.distinct(Event.case_id))).where(Event.action.in_(("created", "routed")))
    )
    assert complete == cases
    for case in db.session.scalars(select(Case)):
        actions = set(db.session.scalars(select(Event.action).where(Event.chain_id == case.id)))
        assert {"created", "routed"} <= actions, case.id


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01",
        "until=0001-01-01",
        "since=9999-12-31",
        "since=0001-01-01T00:00",
        "since=" + "9" * 50,
        "since=2026-13-40",
    ],
)
def test_out_of_range_dates_on_the_activity_page_are_ignored(app, login_as, query):
    client, _ = login_as("supervisor")
    response = client.get(f"/staff/supervise/activity?{query}")
    assert response.status_code == 200
    assert "Activity" in response.get_data(as_text=True)


@pytest.mark.parametrize("body", ["[1,2]", "null", '{"category": ["torture"]}', "{not json"])
def test_a_json_body_to_the_report_form_is_answered_with_the_form(app, client, body):
    response = client.post("/report", data=body, content_type="application/json")
    assert response.status_code == 422
    assert "There is a problem" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Case.id))) == 0
