"""Privacy of reporters and accountability of staff.

No client address, user agent or referrer of the public side is stored or
logged anywhere (database, application log, gunicorn logs); every case view
and file download by staff is an audit event; a server error shows a generic
page with an error id and logs no form value or exception message; production
configuration refuses debug mode.
"""

from __future__ import annotations

import io
import logging
import re
import runpy
import socket
import types
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cases import audit
from cases.models import Case, Event, Evidence
from extensions import limiter
from storage import db
from tests.helpers import REFERENCE_RE, ROOT, boom, file_with_evidence, found_in_database, receipt_of, report_form
from tests.samples import ACCEPTED

ADDRESS = "203.0.113.199"
AGENT = "ProbeBrowser/7.3 (tracking-canary-agent; rv:99)"
REFERER = "https://referrer-canary.example/came-from-here?utm=probe"
REPORT = report_form(
    narrative="The akimat evicted our family without any court decision.",
    region="almaty",
    child_affected="yes",
    reporter_role="affected",
    contact="contact",
    email="family@example.org",
)


@pytest.fixture
def every_log(caplog, monkeypatch):
    """Capture every log record at every level, from every logger (even ones a library disabled)."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
    caplog.set_level(logging.DEBUG)
    return caplog


def log_text(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(repr(getattr(record, "exc_text", "")))
    return "\n".join(parts)


# --- no tracking of reporters -----------------------------------------------------------------


def _probe_needles() -> dict[str, bytes]:
    return {
        "address": ADDRESS.encode(),
        "packed address": socket.inet_aton(ADDRESS),
        "user agent": AGENT.encode(),
        "agent fragment": b"tracking-canary-agent",
        "referrer": REFERER.encode(),
        "referrer host": b"referrer-canary.example",
    }


def test_a_reporters_address_agent_and_referrer_are_stored_and_logged_nowhere(make_app, every_log):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT, HTTP_REFERER=REFERER)
        assert client.get("/").status_code == 200
        assert client.get("/report").status_code == 200
        data = {**REPORT, "evidence": [(io.BytesIO(ACCEPTED["photo.jpg"]()), "photo.jpg")]}
        response = client.post("/report", data=data, content_type="multipart/form-data")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        receipt = receipt_of(html)
        reference = REFERENCE_RE.search(html).group(0)
        assert client.post("/report/receipt.txt", data={"reference": reference, "receipt": receipt}).status_code == 200
        assert client.post("/track", data={"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE"}).status_code == 404
        assert client.post("/track", data={"receipt": receipt}).status_code == 303
        assert client.get("/track/case").status_code == 200
        assert client.post("/track/reply", data={"body": "One more detail about the eviction."}).status_code == 303
        assert client.get("/no/such/page").status_code == 404
        app.view_functions["intake.safety"] = boom
        assert client.get("/safety").status_code == 500

        assert db.session.scalar(select(func.count(Case.id))) == 1  # the probe really went through
        assert any("error_id=" in r.getMessage() for r in every_log.records)  # and the log was captured
        assert found_in_database(app, _probe_needles()) == set()
        text = log_text(every_log)
        for needle in (ADDRESS, AGENT, "tracking-canary-agent", REFERER, "referrer-canary.example"):
            assert needle not in text
        keys = list(limiter.storage.storage.keys())
        assert keys and not any(ADDRESS in k for k in keys)


def test_the_database_scan_would_find_a_stored_address(app, make_case):
    """Control: had the address been stored (here in an audit reason), the scan finds it."""
    filed = make_case()
    audit.append(db.session, case=filed.case, actor_type="system", action="note", reason=f"from {ADDRESS}")
    db.session.commit()
    assert found_in_database(app, _probe_needles()) == {"address"}


def _gunicorn():
    import gunicorn.config

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = gunicorn.config.Config()
    for name, value in settings.items():
        if name in cfg.settings:
            cfg.set(name, value)
    return settings, cfg


def test_gunicorn_access_log_format_names_no_client_detail():
    settings, _cfg = _gunicorn()
    fmt = settings["access_log_format"]
    for atom in ("%(h)s", "%(a)s", "%(f)s", "%(u)s", "%(r)s", "%(q)s"):
        assert atom not in fmt
    assert not re.search(r"%\(\{[^}]*\}[ie]\)s", fmt), "request header or environ atoms"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_gunicorn_logs_hold_no_address_agent_or_referrer():
    """Run gunicorn's own logger with our settings on a request full of identifying details."""
    _settings, cfg = _gunicorn()
    logger = cfg.logger_class(cfg)
    access, error = _Capture(), _Capture()
    logger.access_log.addHandler(access)
    logger.error_log.addHandler(error)
    request = types.SimpleNamespace(headers=[("USER-AGENT", AGENT), ("REFERER", REFERER), ("X-FORWARDED-FOR", ADDRESS)])
    response = types.SimpleNamespace(status="200 OK", sent=512, headers=[("Content-Type", "text/html")])
    environ = {
        "REMOTE_ADDR": ADDRESS,
        "REMOTE_PORT": "55555",
        "HTTP_USER_AGENT": AGENT,
        "HTTP_REFERER": REFERER,
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/report?from=" + ADDRESS,
        "PATH_INFO": "/report",
        "QUERY_STRING": "from=" + ADDRESS,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    logger.access(response, request, environ, timedelta(milliseconds=12))
    # What gunicorn's worker logs for a malformed request (workers/base.py handle_error).
    logger.warning(f"Invalid request from ip={ADDRESS}: Invalid HTTP Version 'HTTP/9'")
    logger.warning("Invalid request from ip=2001:db8::beef: Invalid HTTP Version 'HTTP/9'")
    assert len(access.lines) == 1 and "POST /report" in access.lines[0] and "200" in access.lines[0]
    assert len(error.lines) == 2 and "Invalid HTTP Version" in error.lines[0]
    everything = "\n".join(access.lines + error.lines)
    for needle in (ADDRESS, AGENT, REFERER, "2001:db8::beef", "db8"):
        assert needle not in everything


# --- read access is audited ---------------------------------------------------------------------


def _case_with_file(app) -> tuple[Case, Evidence]:
    filed = file_with_evidence(app, "scan.pdf", ACCEPTED["letter.pdf"]())
    return filed.case, db.session.scalar(select(Evidence).where(Evidence.case_id == filed.case.id))


def _events(case_id: int, action: str) -> list[Event]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Event).where(Event.case_id == case_id, Event.action == action).order_by(Event.seq))
    )


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_every_case_view_is_an_audit_event_with_the_viewer(app, login_as, role):
    case, _item = _case_with_file(app)
    client, user = login_as(role, ["general"] if role == "caseworker" else None)
    for n in range(1, 4):
        assert client.get(f"/staff/cases/{case.id}").status_code == 200
        views = _events(case.id, "viewed")
        assert len(views) == n  # exactly one per request
        assert views[-1].actor_id == user.id and views[-1].actor_type == "staff"
    assert audit.verify_chain(db.session, case.id) is None


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_every_file_download_is_an_audit_event_with_the_file(app, login_as, role):
    case, item = _case_with_file(app)
    client, user = login_as(role, ["general"] if role == "caseworker" else None)
    for n in (1, 2):
        response = client.get(f"/staff/cases/{case.id}/evidence/{item.id}")
        assert response.status_code == 200 and response.data == ACCEPTED["letter.pdf"]()
        downloads = _events(case.id, "evidence_downloaded")
        assert len(downloads) == n
        assert (downloads[-1].actor_id, downloads[-1].new_value) == (user.id, str(item.id))
    assert _events(case.id, "viewed") == []  # a download is its own event, not a view
    assert audit.verify_chain(db.session, case.id) is None


def test_refused_access_writes_no_access_event(app, login_as):
    case, item = _case_with_file(app)
    outsider, _ = login_as("caseworker", ["women"])
    admin, _ = login_as("admin")
    for client in (outsider, admin):
        assert client.get(f"/staff/cases/{case.id}").status_code in (403, 404)
        assert client.get(f"/staff/cases/{case.id}/evidence/{item.id}").status_code in (403, 404)
    assert _events(case.id, "viewed") == [] and _events(case.id, "evidence_downloaded") == []


def test_supervisors_see_who_read_which_case(app, login_as):
    case, item = _case_with_file(app)
    worker, user = login_as("caseworker", ["general"])
    worker.get(f"/staff/cases/{case.id}")
    worker.get(f"/staff/cases/{case.id}/evidence/{item.id}")
    supervisor, _ = login_as("supervisor")
    supervisor.set_cookie("lang", "en")
    for action in ("viewed", "evidence_downloaded"):
        page = supervisor.get("/staff/supervise/activity", query_string={"action": action}).get_data(as_text=True)
        rows = re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1], re.S)
        assert len(rows) == 1
        assert f"{case.reference}</a>" in rows[0] and f"<td>{user.name}</td>" in rows[0]


# --- errors ---------------------------------------------------------------------------------------


SECRET_FORM_VALUE = "Nurlan-Secret-Witness-4471"


def test_server_error_page_is_generic_and_its_log_line_holds_no_form_value(app, client, every_log):
    from flask import request

    def failing_view():
        # An exception whose message quotes what the user typed, as a database error would.
        raise ValueError(f"could not store narrative={request.form['narrative']!r}")

    app.view_functions["intake.report"] = failing_view
    response = client.post("/report", data={**REPORT, "narrative": SECRET_FORM_VALUE})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    error_id = re.search(r"<code>([0-9a-f]{12})</code>", body).group(1)
    assert SECRET_FORM_VALUE not in body and "could not store" not in body and "Traceback" not in body
    lines = [r.getMessage() for r in every_log.records if error_id in r.getMessage()]
    assert len(lines) == 1
    line = lines[0]
    assert "endpoint=intake.report" in line and "method=POST" in line and "ValueError" in line
    assert "could not store" not in line and SECRET_FORM_VALUE not in line
    assert SECRET_FORM_VALUE not in log_text(every_log)
    assert all(r.exc_info is None for r in every_log.records if error_id in r.getMessage())


def test_error_ids_differ_between_errors(app, client):
    app.view_functions["intake.safety"] = boom
    ids = {
        re.search(r"<code>([0-9a-f]{12})</code>", client.get("/safety").get_data(as_text=True)).group(1)
        for _ in range(3)
    }
    assert len(ids) == 3


@pytest.mark.parametrize("mode", [{"DEBUG": True}, {"TESTING": True}, "FLASK_DEBUG"])
def test_production_refuses_debug_and_testing(make_app, monkeypatch, mode):
    if mode == "FLASK_DEBUG":
        monkeypatch.setenv("FLASK_DEBUG", "1")
        overrides = {"TESTING": False}
    else:
        overrides = {"TESTING": False, **mode}
    with pytest.raises(RuntimeError, match="SHAGYM_PRODUCTION"):
        make_app(SHAGYM_PRODUCTION=True, **overrides)


def test_production_setting_comes_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("SHAGYM_PRODUCTION", "1")
    with pytest.raises(RuntimeError):
        make_app()  # the test configuration has TESTING on
    monkeypatch.setenv("FLASK_DEBUG", "0")
    app = make_app(TESTING=False)  # control: production without debug starts
    assert app.config["SHAGYM_PRODUCTION"] is True and not app.debug
