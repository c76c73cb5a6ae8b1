"""JSON-lines logs (LOG_FORMAT=json): one line per request with its request id (also sent back in
``X-Request-Id``), endpoint, status and duration, and still no client address, user agent,
referrer, form value, receipt or case content in any line (the privacy probe of
test_privacy.py, read through the JSON formatter)."""

from __future__ import annotations

import io
import json
import logging

import pytest

import config
from tests.helpers import REFERENCE_RE, boom, receipt_of
from tests.samples import ACCEPTED
from tests.security.test_privacy import ADDRESS, AGENT, REFERER, REPORT
from web import logs

SECRET = "Nurlan-Secret-Witness-4471"


@pytest.fixture
def json_lines(monkeypatch):
    """Every record of every logger, formatted as the JSON formatter writes it."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_json_request_lines_name_no_client_and_no_content(make_app, json_lines):
    app = make_app(LOG_FORMAT="json", RATELIMIT_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT, HTTP_REFERER=REFERER)
        answers = [client.get("/report")]
        data = {**REPORT, "narrative": f"{REPORT['narrative']} {SECRET}"}
        data["evidence"] = [(io.BytesIO(ACCEPTED["photo.jpg"]()), "photo.jpg")]
        answers.append(client.post("/report", data=data, content_type="multipart/form-data"))
        html = answers[-1].get_data(as_text=True)
        receipt, reference = receipt_of(html), REFERENCE_RE.search(html).group(0)
        answers.append(client.post("/track", data={"receipt": receipt}))
        answers.append(client.get("/track/case?from=" + ADDRESS))
        answers.append(client.post("/track/reply", data={"body": f"More: {SECRET}"}))
        answers.append(client.get("/no/such/page"))
        app.view_functions["intake.safety"] = boom
        answers.append(client.get("/safety"))

    lines = json_lines()
    requests = [line for line in lines if line["logger"] == "shagym.request"]
    assert [(r["method"], r["endpoint"], r["status"]) for r in requests] == [
        ("GET", "intake.report", 200),
        ("POST", "intake.report", 200),
        ("POST", "track.track", 303),
        ("GET", "track.track_case", 200),
        ("POST", "track.track_reply", 303),
        ("GET", "none", 404),
        ("GET", "intake.safety", 500),
    ]
    ids = [a.headers["X-Request-Id"] for a in answers]
    assert [r["request_id"] for r in requests] == ids and len(set(ids)) == len(ids)
    assert all(
        set(r) == {"ts", "level", "logger", "msg", "request_id", "method", "endpoint", "status", "duration_ms"}
        for r in requests
    )
    assert all(isinstance(r["duration_ms"], float | int) and r["duration_ms"] >= 0 for r in requests)
    error = next(line for line in lines if line["logger"] == "shagym.errors")
    assert error["request_id"] == ids[-1] and "error_id=" in error["msg"]  # the 500 and its request line meet

    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    for needle in (
        ADDRESS,
        AGENT,
        "tracking-canary-agent",
        REFERER,
        "referrer-canary.example",
        SECRET,
        receipt,
        reference,
        REPORT["email"],
        "evicted",
        "photo.jpg",
        "/track/case",
        "from=",
    ):
        assert needle not in text, needle


def test_an_exception_is_logged_by_its_type_never_its_text(json_lines):
    try:
        raise ValueError(f"could not store narrative={SECRET!r}")
    except ValueError:
        logging.getLogger("shagym.test").exception("store_failed")
    (line,) = [line for line in json_lines() if line["logger"] == "shagym.test"]
    assert line["msg"] == "store_failed" and line["exc"] == "ValueError" and line["level"] == "error"
    assert SECRET not in json.dumps(line) and "Traceback" not in json.dumps(line)


def test_without_json_logs_no_request_id_is_added(client):
    assert "X-Request-Id" not in client.get("/report").headers


def test_the_log_format_is_text_or_json():
    assert config.load_settings({"LOG_FORMAT": " JSON "})["LOG_FORMAT"] == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        config.load_settings({"LOG_FORMAT": "yaml"})
