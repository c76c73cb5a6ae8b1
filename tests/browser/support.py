"""What the browser tests share: where things are, the live server's handle, a browser tab
that refuses the outside world, signing staff in, and the check for a browser at all.

Fixtures live in conftest.py; the pages the tests visit in pages.py.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import text

from cases import commands, seed
from storage import db
from tests.helpers import PASSWORD

CHROMIUM = os.environ.get("SHAGYM_CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AXE = HERE / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LANGS = ("kk", "ru", "en")
ALL_QUEUES = [slug for slug, _name, _description in seed.QUEUES]
STUB_PAGE = "<!doctype html><html lang='en'><title>Weather</title><h1>Weather forecast</h1></html>"
# How long a step may wait for the page (an upper bound, never a pause): generous, for a busy machine.
WAIT_MS = 30_000

missing: list[str] = []  # why the browser tests did not run (shown in the summary)


def require_browser() -> None:
    """Skip loudly without Chromium or Playwright; fail instead when ``CI`` is set."""
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
    if not missing:
        sys.__stderr__.write(f"\n{'!' * 78}\nWARNING: {message}\n{'!' * 78}\n")
    missing.append(message)
    pytest.skip(f"!!! {message}")


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
                user = commands.create_user(
                    f"{role}@shagym.test",
                    f"Test {role.title()}",
                    role,
                    PASSWORD,
                    ALL_QUEUES if role == "caseworker" else [],
                )
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


@dataclass(frozen=True)
class FiledCase:
    id: int
    reference: str
    receipt: str
    queue_slug: str


class Tab:
    """A page in its own browser context, and what it did besides showing our pages.

    ``foreign``: requests to any host but 127.0.0.1 (refused; the quick-exit site gets a stub
    page); ``problems``: uncaught script errors and CSP violations; ``requests``: every URL asked for.
    """

    def __init__(
        self,
        browser,
        live,
        *,
        js: bool = True,
        width: int = 1280,
        height: int = 900,
        scale: float = 1,
        axe: bool = False,
        locale: str = "en-GB",
    ) -> None:
        self.live = live
        self.foreign: list[str] = []
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.context = browser.new_context(
            base_url=live.url,
            java_script_enabled=js,
            locale=locale,
            viewport={"width": width, "height": height},
            device_scale_factor=scale,
            # The site's own rule for readers who ask for less motion switches off every transition
            # and animation, so what a test measures is the final state, never a frame in between.
            reduced_motion="reduce",
        )
        self.context.set_default_timeout(WAIT_MS)
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
        self.page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )

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


def settle(page) -> None:
    """Wait until the page shown is complete: its style sheet and scripts loaded (the ``load`` event)
    and its fonts ready. A scenario that submits a form waits only for an element of the next page,
    which can be there before the style sheet is applied; layout read then is not the page's layout."""
    page.wait_for_load_state("load")
    page.evaluate("async () => { await document.fonts.ready; }")


def staff_state(browser, live, role: str) -> dict:
    """Cookies of a signed-in session for ``role`` (second factor done), made once per server."""
    if role not in live.staff_states:
        context = browser.new_context(base_url=live.url)
        context.set_default_timeout(WAIT_MS)
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
