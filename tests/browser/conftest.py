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
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from cases import commands, evidence, seed
from storage import db
from tests.browser import support
from tests.browser.support import FiledCase, Live, Tab, require_browser, settle, staff_state
from tests.helpers import BASE_CONFIG, report, reset_pg
from tests.samples import image
from wsgi import create_app


def pytest_terminal_summary(terminalreporter):
    if support.missing:
        terminalreporter.section("BROWSER TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"WARNING: {support.missing[0]}", red=True, bold=True)
        terminalreporter.write_line("Accessibility, safety and end-to-end checks were not made.", red=True)


@pytest.fixture(autouse=True)
def _fast():
    """Not here: the live server's accounts outlive a test, so they keep the real password hashing."""


# --- the live server -------------------------------------------------------------------


@pytest.fixture(scope="session")
def live(_template, tmp_path_factory):
    """The real app on a free port of 127.0.0.1, in a thread, on a database fresh for the browser tests.

    One for the session: signing staff in (argon2, TOTP) is the slow part, and its cookies
    outlive the browser, which closes after each module (see ``browser``).
    """
    instance = tmp_path_factory.mktemp("live")
    if _template["kind"] == "pg":
        reset_pg(_template["url"])
        url = _template["url"]
    else:
        target = instance / "shagym.sqlite3"
        shutil.copy(_template["path"], target)
        url = f"sqlite:///{target}"
    # As in production: CSRF protection on, Kazakh by default. Rate limits stay off (one address, many reports).
    app = create_app(
        {
            **BASE_CONFIG,
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": True,
            "BABEL_DEFAULT_LOCALE": "kk",
        }
    )
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


@pytest.fixture(scope="session")
def busy_case(live) -> FiledCase:
    """A case with something of everything: a photo with GPS, a message each way, a note, several events."""
    worker = live.account("caseworker")
    with live.app.app_context():
        from cases.models import User

        limits = evidence.Limits(10 * 1024 * 1024, 50 * 1024 * 1024, 10)
        photo = evidence.check("photo.jpg", image("JPEG", gps=True), limits)
        filed = commands.file_report(
            report(
                category="women",
                region="almaty-city",
                place_description="A flat in Almaty",
                ongoing=True,
                narrative="My neighbour is beaten by her husband every week and she is afraid to go out.",
            ),
            live.app.extensions["shagym_receipt_key"],
            files=[photo],
        )
        case_id, reference, receipt, queue_slug = filed.case.id, filed.case.reference, filed.receipt, filed.queue.slug
        user = db.session.get(User, worker.id)
        commands.claim(case_id, user)
        commands.change_status(case_id, user, "triage")
        commands.change_status(case_id, user, "investigating")
        commands.change_status(
            case_id, user, "awaiting_info", message_to_reporter="Could you tell us which district the flat is in?"
        )
        commands.reporter_reply(case_id, "It is in the Bostandyk district, near the market.")
        commands.add_note(case_id, user, "Call the local crisis centre tomorrow.")
        db.session.remove()
    return FiledCase(case_id, reference, receipt, queue_slug)


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Closed after each module: while Playwright's sync API is running, asyncio.run() elsewhere fails."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=support.CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


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


@pytest.fixture
def visit(shared_tabs, live, request):
    """``visit("report-errors", lang="kk", **tab_options)`` -> a (shared) Tab showing that scenario's page,
    loaded and settled (see ``support.settle``)."""
    from tests.browser.pages import BY_NAME

    def factory(name: str, lang: str = "en", **options) -> Tab:
        scenario = BY_NAME[name]
        tab = shared_tabs(lang, role=scenario.role, **options)
        scenario.go(tab.page, live, request.getfixturevalue("busy_case"))
        settle(tab.page)
        return tab

    return factory
