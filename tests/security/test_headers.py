"""Security headers on every response: each route in the URL map, error pages, downloads.

A strict CSP (no inline script or style, no framing, forms only to us),
nosniff, no referrer, no camera/microphone/geolocation, ``no-store`` on every
page (pages show case data), HSTS only over HTTPS. The templates hold no
inline script or style, so the CSP costs nothing.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest

from cases import commands
from cases.models import Evidence, PartnerBody, Queue
from storage import db
from tests.helpers import REFERENCE_RE, ROOT, Auth, boom, file_with_evidence, receipt_of, report_form, signed_in
from tests.samples import ACCEPTED

SITE_CSP = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
DOWNLOAD_CSP = {
    "default-src": {"'none'"},
    "sandbox": set(),
    "frame-ancestors": {"'none'"},
    "form-action": {"'none'"},
    "base-uri": {"'none'"},
}


def _all_rules() -> list[tuple[str, str, tuple[str, ...]]]:
    """Every route of the app as (endpoint, rule, methods), read from a throwaway app."""
    from wsgi import create_app

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "collect",
                "INSTANCE_PATH": instance,
                "RATELIMIT_ENABLED": False,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/collect.sqlite3",
            }
        )
        rules = [(r.endpoint, r.rule, tuple(sorted(r.methods - {"HEAD", "OPTIONS"}))) for r in app.url_map.iter_rules()]
        with app.app_context():
            db.engine.dispose()
    return sorted(rules)


RULES = _all_rules()

# GET answers other than 200 for a client with the right role.
# A saved view is its owner's alone: the new supervisor here has none, so the headers of the 404.
# The new-password page is only for a session opened with a reset code: others go to the usual one.
# The public statistics are off unless the office turns them on: not found (test_public_statistics.py
# checks the headers of the page when on). So are the metrics without the monitoring's token.
GET_STATUS = {
    "intake.language": 302,
    "intake.leave": 303,
    "staff.open_view": 404,
    "staff_auth.new_password": 302,
    "intake.statistics": 404,
    "metrics.metrics": 404,  # without the monitoring's token (tests/security/test_metrics.py)
}
REPORTER_ENDPOINTS = {"track.track_case", "track.track_reply", "track.track_leave", "track.track_consent"}


def role_for(endpoint: str, rule: str) -> str:
    if endpoint in REPORTER_ENDPOINTS:
        return "reporter"
    if endpoint == "staff_auth.login" or not rule.startswith("/staff"):
        return "public"
    if rule.startswith("/staff/admin"):
        return "admin"
    return "supervisor"


@pytest.fixture
def route_world(app, make_user):
    """One case with a file, a user of each role, a client per role and a value for every URL argument."""
    filed = file_with_evidence(app, "photo.png", ACCEPTED["photo.png"]())
    target = make_user("caseworker", ["general"])
    tag = commands.create_tag("land", {"kk": "Жер", "ru": "Земля", "en": "Land"}, by=make_user("supervisor"))
    partner = PartnerBody(
        name_kk="Д", name_ru="Д", name_en="Demo body (fictional)", kind="ngo", contact="-", answer_days=5
    )
    db.session.add(partner)
    db.session.commit()
    referral = commands.prepare_referral(
        filed.case.id, make_user("supervisor"), commands.Draft(partner.id, "deidentified", ["category"], "en", True)
    )
    params = {
        "partner_id": partner.id,
        "referral_id": referral.id,
        "case_id": filed.case.id,
        "evidence_id": db.session.scalar(db.select(Evidence.id)),
        "user_id": target.id,
        "rule_id": 1,
        "queue_id": filed.case.queue_id,
        "direction": "down",
        "slug": db.session.get(Queue, filed.case.queue_id).slug,
        "code": "en",
        "filename": "css/site.css",
        "request_id": 1,
        "template_id": commands.create_template(
            "Thanks", "en", "Thank you, {case_worker}.", make_user("supervisor")
        ).id,
        "decision": "refuse",
        "category": "women",
        "view_id": 1,
        "figure": "outcomes",
        "tag_id": tag.id,
        "link_id": 1,  # none exists: the refusal carries the headers too
        "institution_id": commands.create_institution("ИВС", {}, "ivs", "astana", by=make_user("admin")).id,
    }

    def client_for(role: str):
        client = app.test_client()
        if role == "reporter":
            assert client.post("/track", data={"receipt": filed.receipt}).status_code == 303
        elif role != "public":
            return signed_in(app, make_user(role))
        return client

    return client_for, params


def parse_csp(value: str) -> dict[str, set[str]]:
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"directive {words[0]} twice"
            out[words[0]] = set(words[1:])
    return out


def assert_security_headers(response, static: bool = False, https: bool = False) -> None:
    h = response.headers
    attachment = h.get("Content-Disposition", "").startswith("attachment")
    csp = parse_csp(h["Content-Security-Policy"])
    assert csp == (DOWNLOAD_CSP if attachment else SITE_CSP)
    assert "unsafe-inline" not in h["Content-Security-Policy"] and "unsafe-eval" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    permissions = {p.strip() for p in h["Permissions-Policy"].split(",")}
    assert {"camera=()", "microphone=()", "geolocation=()"} <= permissions
    assert h["X-Frame-Options"] == "DENY"
    assert "Access-Control-Allow-Origin" not in h  # no CORS: nothing is shared with other origins
    content_type = h["Content-Type"]
    if content_type.startswith("text/"):
        assert "charset=utf-8" in content_type.lower()
    if not static:
        assert "no-store" in h["Cache-Control"]
    assert ("Strict-Transport-Security" in h) is https


def assert_no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "inline <style>"
    assert not re.search(r"""\sstyle\s*=\s*["']""", html), "style= attribute"
    assert not re.search(r"""\son[a-z]+\s*=\s*["']""", html), "inline event handler"
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize(("endpoint", "rule", "methods"), RULES, ids=[r[0] for r in RULES])
def test_every_route_sends_the_security_headers(route_world, endpoint, rule, methods):
    client_for, params = route_world
    names = re.findall(r"<(?:\w+:)?(\w+)>", rule)
    missing = [n for n in names if n not in params]
    assert not missing, f"add a value for {missing} to the route_world fixture so {rule} is checked"
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(params[m.group(1)]), rule)
    client = client_for(role_for(endpoint, rule))
    method = "GET" if "GET" in methods else "POST"
    response = client.open(path, method=method)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if method == "GET":
        assert response.status_code == GET_STATUS.get(endpoint, 200), path
    assert_security_headers(response, static=endpoint == "static")
    if response.mimetype == "text/html":
        assert_no_inline_code(response.get_data(as_text=True))


def test_the_route_list_is_not_empty_and_covers_both_sides():
    endpoints = {r[0] for r in RULES}
    assert {"intake.report", "track.track", "staff.case", "staff.evidence_download", "staff_admin.users"} <= endpoints
    assert len(RULES) >= 30


def test_case_pages_are_never_cached(route_world):
    client_for, params = route_world
    staff = client_for("supervisor")
    for path in (
        f"/staff/cases/{params['case_id']}",
        f"/staff/cases/{params['case_id']}/evidence/{params['evidence_id']}",
        f"/staff/queues/{params['slug']}",
        "/staff/",
    ):
        response = staff.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    reporter = client_for("reporter")
    assert reporter.get("/track/case").headers["Cache-Control"] == "no-store"


def test_a_download_is_sandboxed_even_if_opened_inline(route_world):
    client_for, params = route_world
    response = client_for("supervisor").get(f"/staff/cases/{params['case_id']}/evidence/{params['evidence_id']}")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert parse_csp(response.headers["Content-Security-Policy"]) == DOWNLOAD_CSP


# --- error pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("unknown page", 404),
        ("wrong method", 405),
        ("server error", 500),
        ("forbidden", 403),
        ("missing csrf", 400),
        ("throttled", 429),
        ("too large", 413),
    ],
)
def test_error_pages_are_generic_and_carry_the_headers(make_app, make_user, kind, status):
    config = {}
    if kind == "missing csrf":
        config["WTF_CSRF_ENABLED"] = True
    if kind == "throttled":
        config.update(RATELIMIT_ENABLED=True, TRACK_RATE_LIMIT="1 per minute")
    app = make_app(**config)
    with app.app_context():
        client = app.test_client()
        if kind == "unknown page":
            response = client.get("/no/such/page")
        elif kind == "wrong method":
            response = client.get("/staff/logout")
        elif kind == "server error":
            app.view_functions["intake.safety"] = boom
            response = client.get("/safety")
        elif kind == "forbidden":
            admin = make_user("admin")
            Auth(client).login(admin)
            response = client.get("/staff/supervise/activity")
        elif kind == "missing csrf":
            response = client.post("/staff/login", data={"email": "a@example.org", "password": "x"})
        elif kind == "throttled":
            client.post("/track", data={"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE"})
            response = client.post("/track", data={"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE"})
        else:
            response = client.post("/staff/login", data={"email": "x" * (3 * 1024 * 1024)})
        assert response.status_code == status
        body = response.get_data(as_text=True)
        assert_security_headers(response)
        assert response.mimetype == "text/html"
        assert "Traceback" not in body and "boom" not in body and "werkzeug" not in body.lower()
        assert '<link rel="stylesheet"' in body  # our own layout, not a bare framework page
        assert_no_inline_code(body)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_hsts_only_when_served_over_https(make_app, monkeypatch, https):
    if https:
        monkeypatch.setenv("SHAGYM_HTTPS", "1")
    app = make_app()
    with app.app_context():
        client = app.test_client()
        base = "https://localhost" if https else "http://localhost"
        for path in ("/", "/report", "/staff/login", "/no/such/page", "/static/css/site.css"):
            response = client.get(path, base_url=base)
            assert_security_headers(response, static=path.startswith("/static"), https=https)
            if https:
                hsts = response.headers["Strict-Transport-Security"]
                max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
                assert max_age >= 365 * 24 * 3600


# --- templates ----------------------------------------------------------------------------------


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=[str(p.relative_to(ROOT / "templates")) for p in TEMPLATES])
def test_no_template_has_inline_script_or_style(path: Path):
    assert_no_inline_code(path.read_text(encoding="utf-8"))


def test_template_scan_would_catch_inline_code():
    for bad in (
        "<script>alert(1)</script>",
        '<p style="color:red">',
        "<style>p{}</style>",
        '<a onclick="x()">',
        '<a href="javascript:x()">',
    ):
        with pytest.raises(AssertionError):
            assert_no_inline_code(bad)
    assert_no_inline_code('<script src="/static/js/public.js" defer></script>')


def test_uploads_are_attachments_for_the_reporter_receipt_too(client, make_case):
    """The receipt file is served as an attachment with the download policy as well."""
    response = client.post(
        "/report",
        data=report_form(evidence=[(io.BytesIO(ACCEPTED["photo.png"]()), "p.png")]),
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    receipt, reference = receipt_of(html), REFERENCE_RE.search(html).group(0)
    download = client.post("/report/receipt.txt", data={"reference": reference, "receipt": receipt})
    assert download.status_code == 200
    assert_security_headers(download)
    assert parse_csp(download.headers["Content-Security-Policy"]) == DOWNLOAD_CSP
