"""Real-browser fixtures: the real app served on 127.0.0.1, Debian's Chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``; ``SHAGYM_CHROMIUM`` overrides);
Playwright's own browser download is never used. When it is missing these tests
are skipped with a loud message, except when ``CI`` is set: there a missing
browser is a failure.

One live server serves all browser tests, on a fresh, migrated database (a copy
of the session's template, or the emptied PostgreSQL test database), with CSRF
protection on, as in production. Every browser context refuses requests to any
host but 127.0.0.1 and records them; the quick-exit site is answered by a local
stub, so no test ever touches the network.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from cases import accounts, evidence, reporter, seed, services
from extensions import db
from tests.conftest import BASE_CONFIG, PASSWORD, _reset_pg, report
from tests.samples import image
from wsgi import create_app

CHROMIUM = os.environ.get("SHAGYM_CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AXE = HERE / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LANGS = ("kk", "ru", "en")
ALL_QUEUES = [slug for slug, _name, _description in seed.QUEUES]
STUB_PAGE = "<!doctype html><html lang='en'><title>Weather</title><h1>Weather forecast</h1></html>"

_missing: list[str] = []


def _require_browser() -> None:
    problem = None
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problem = f"no Chromium at {CHROMIUM} (install it: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if problem is None:
        return
    message = f"real-browser tests in tests/browser did NOT run: {problem}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}. CI is set, so a missing browser is a failure.", pytrace=False)
    if not _missing:
        sys.__stderr__.write(f"\n{'!' * 78}\nWARNING: {message}\n{'!' * 78}\n")
    _missing.append(message)
    pytest.skip(f"!!! {message}")


def pytest_terminal_summary(terminalreporter):
    if _missing:
        terminalreporter.section("BROWSER TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"WARNING: {_missing[0]}", red=True, bold=True)
        terminalreporter.write_line("Accessibility, safety and end-to-end checks were not made.", red=True)


# --- the live server -------------------------------------------------------------------


@dataclass
class Account:
    id: int
    email: str
    role: str
    name: str
    totp_secret: str | None = None
    password: str = PASSWORD


@dataclass
class Live:
    app: object
    url: str
    _accounts: dict[str, Account] = field(default_factory=dict)
    staff_states: dict[str, dict] = field(default_factory=dict)

    @property
    def neutral_url(self) -> str:
        return self.app.config["QUICK_EXIT_URL"]

    def account(self, role: str) -> Account:
        """One account per role and server: caseworkers work every queue; supervisors and admins have TOTP."""
        if role not in self._accounts:
            with self.app.app_context():
                user = accounts.create_user(f"{role}@shagym.test", f"Test {role.title()}", role, PASSWORD,
                                            ALL_QUEUES if role == "caseworker" else [])
                secret = None
                if role in ("supervisor", "admin"):
                    secret = pyotp.random_base32()
                    user.totp_secret, user.totp_enabled = secret, True
                    db.session.commit()
                self._accounts[role] = Account(user.id, user.email, role, user.name, secret)
        return self._accounts[role]

    def totp_code(self, account: Account) -> str:
        """A current code, usable again: sign-ins within one 30-second step would otherwise be refused."""
        with self.app.app_context():
            db.session.execute(text("UPDATE users SET totp_last_step = NULL WHERE id = :id"), {"id": account.id})
            db.session.commit()
        return pyotp.TOTP(account.totp_secret).now()


@pytest.fixture(scope="session")
def live(_template, tmp_path_factory):
    """The real app on a free port of 127.0.0.1, in a thread, on a database fresh for the browser tests.

    One for the session: signing staff in (argon2, TOTP) is the slow part, and its cookies
    outlive the browser, which closes after each module (see ``browser``).
    """
    instance = tmp_path_factory.mktemp("live")
    if _template["kind"] == "pg":
        _reset_pg(_template["url"])
        url = _template["url"]
    else:
        target = instance / "shagym.sqlite3"
        shutil.copy(_template["path"], target)
        url = f"sqlite:///{target}"
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": url,
                      "WTF_CSRF_ENABLED": True})
    with app.app_context():
        seed.seed_reference_data()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns failure reports
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@dataclass(frozen=True)
class FiledCase:
    id: int
    reference: str
    receipt: str
    queue_slug: str


@pytest.fixture(scope="session")
def busy_case(live) -> FiledCase:
    """A case with something of everything: a photo with GPS, a message each way, a note, several events."""
    worker = live.account("caseworker")
    with live.app.app_context():
        from cases.models import User

        limits = evidence.Limits(10 * 1024 * 1024, 50 * 1024 * 1024, 10)
        photo = evidence.check("photo.jpg", image("JPEG", gps=True), limits)
        filed = services.file_report(
            report(category="women", region="almaty-city", place_description="A flat in Almaty", ongoing=True,
                   narrative="My neighbour is beaten by her husband every week and she is afraid to go out."),
            live.app.extensions["shagym_receipt_key"], files=[photo])
        case_id, reference, receipt, queue_slug = filed.case.id, filed.case.reference, filed.receipt, filed.queue.slug
        user = db.session.get(User, worker.id)
        services.claim(case_id, user)
        services.change_status(case_id, user, "triage")
        services.change_status(case_id, user, "investigating")
        services.change_status(case_id, user, "awaiting_info",
                               message_to_reporter="Could you tell us which district the flat is in?")
        reporter.reply(case_id, "It is in the Bostandyk district, near the market.")
        services.add_note(case_id, user, "Call the local crisis centre tomorrow.")
        db.session.remove()
    return FiledCase(case_id, reference, receipt, queue_slug)


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Closed after each module: while Playwright's sync API is running, asyncio.run() elsewhere fails."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


class Tab:
    """A page in its own browser context, and what it did besides showing our pages.

    ``foreign``: requests to any host but 127.0.0.1 (refused; the quick-exit site gets a stub
    page); ``problems``: uncaught script errors and CSP violations; ``requests``: every URL asked for.
    """

    def __init__(self, browser, live, *, js: bool = True, width: int = 1280, height: int = 900, scale: float = 1,
                 axe: bool = False, locale: str = "en-GB") -> None:
        self.live = live
        self.foreign: list[str] = []
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.context = browser.new_context(base_url=live.url, java_script_enabled=js, locale=locale,
                                           viewport={"width": width, "height": height}, device_scale_factor=scale)
        self.context.set_default_timeout(10_000)
        if axe:
            # Injected by the browser itself before the page's own scripts, so the app's CSP
            # (script-src 'self') stays on and nothing is added to the page's markup.
            self.context.add_init_script(path=str(AXE))
        neutral_host = urlsplit(live.neutral_url).hostname

        def elsewhere(route):
            self.foreign.append(route.request.url)
            if urlsplit(route.request.url).hostname == neutral_host:
                route.fulfill(status=200, content_type="text/html", body=STUB_PAGE)
            else:
                route.abort()

        self.context.route(lambda url: urlsplit(url).hostname != "127.0.0.1", elsewhere)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        self.page.on("console", lambda msg: self.problems.append(f"console: {msg.text}")
                     if msg.type == "error" and "Content Security Policy" in msg.text else None)

    def start(self, lang: str | None, cookies: list[dict] = ()) -> Tab:
        """Forget everything (cookies, records) but the page: ready for the next person."""
        self.context.clear_cookies()
        cookies = list(cookies)
        if lang:
            cookies.append({"name": "lang", "value": lang, "url": self.live.url})
        if cookies:
            self.context.add_cookies(cookies)
        self.foreign.clear()
        self.problems.clear()
        self.requests.clear()
        return self

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_tab(browser, live):
    """``open_tab(lang="kk", js=True, width=1280, role=None, ...)`` -> a fresh Tab, closed after the test."""
    opened: list[Tab] = []

    def factory(lang: str | None = "en", *, role: str | None = None, **options) -> Tab:
        tab = Tab(browser, live, **options)
        opened.append(tab)
        return tab.start(lang, staff_state(browser, live, role)["cookies"] if role else [])

    yield factory
    for tab in opened:
        tab.close()


@pytest.fixture(scope="module")
def shared_tabs(browser, live):
    """Tabs reused by the tests of a module (a new context costs more than the check on it):
    ``shared_tabs(lang, role=None, **options)`` -> Tab with fresh cookies."""
    pool: dict[tuple, Tab] = {}

    def get(lang: str | None = "en", *, role: str | None = None, **options) -> Tab:
        key = tuple(sorted(options.items()))
        if key not in pool:
            pool[key] = Tab(browser, live, **options)
        return pool[key].start(lang, staff_state(browser, live, role)["cookies"] if role else [])

    yield get
    for tab in pool.values():
        tab.close()


def staff_state(browser, live, role: str) -> dict:
    """Cookies of a signed-in session for ``role`` (second factor done), made once per server."""
    if role not in live.staff_states:
        context = browser.new_context(base_url=live.url)
        context.set_default_timeout(10_000)
        try:
            page = context.new_page()
            sign_in(page, live, live.account(role))
            live.staff_states[role] = context.storage_state()
        finally:
            context.close()
    return live.staff_states[role]


def sign_in(page, live, account: Account) -> None:
    """Through the sign-in form (and the second factor when the account has one)."""
    page.goto("/staff/login")
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    page.locator("main form button[type=submit]").click()
    if account.totp_secret:
        page.wait_for_url("**/staff/2fa")
        page.fill("#totp-code", live.totp_code(account))
        page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: urlsplit(url).path not in ("/staff/login", "/staff/2fa"))
    assert urlsplit(page.url).path.startswith("/staff/"), page.url


@pytest.fixture
def visit(shared_tabs, live, request):
    """``visit("report-errors", lang="kk", **tab_options)`` -> a (shared) Tab showing that scenario's page."""
    from tests.browser.pages import BY_NAME

    def factory(name: str, lang: str = "en", **options) -> Tab:
        scenario = BY_NAME[name]
        tab = shared_tabs(lang, role=scenario.role, **options)
        scenario.go(tab.page, live, request.getfixturevalue("busy_case"))
        return tab

    return factory
