"""While the database cannot be reached, every page that needs it answers a friendly 503 with
``Retry-After`` — the report form comes back with what was typed and no receipt — never a 500
or a traceback; pages that need no database still answer. (The drills in tests/project show
the same with a real crash and restart.)"""

from __future__ import annotations

import logging

import pytest

from tests.helpers import BASE_CONFIG, report_form
from wsgi import create_app

TYPED = "[TEST — fictional] The district police took the phone of my neighbour and did not return it."
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1


@pytest.fixture
def down(tmp_path):
    return create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": NOWHERE})


@pytest.mark.parametrize(
    ("method", "path", "data", "text"),
    [
        ("POST", "/report", report_form(narrative=TYPED), "Your report was not saved."),
        ("POST", "/track", {"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE"}, "Please try again in a minute"),
        ("POST", "/staff/login", {"email": "worker@example.org", "password": "x"}, "Please try again in a minute"),
    ],
)
def test_pages_that_need_the_database_answer_503_and_store_nothing(down, caplog, method, path, data, text):
    caplog.set_level(logging.INFO)
    response = down.test_client().open(path, method=method, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert text in body and "Traceback" not in body and "psycopg" not in body and "127.0.0.1" not in body
    lines = [r.getMessage() for r in caplog.records if "storage_unavailable" in r.getMessage()]
    assert len(lines) == 1 and lines[0].endswith(f"method={method} error=OperationalError")  # no message text
    if path == "/report":
        assert TYPED in body and "<code>" not in body  # what was typed is back; no receipt


def test_pages_without_the_database_still_answer(down):
    client = down.test_client()
    assert client.get("/report").status_code == 200
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "database" in ready.get_json()["failing"]
