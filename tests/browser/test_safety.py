"""Safety for people at risk, in a real browser: the quick exit (with and without JavaScript),
the advice on deleting history, no request to any other site, and a report form that works
with JavaScript turned off.

The quick-exit site (config QUICK_EXIT_URL) is answered by a local stub page (see conftest).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from cases.models import Case
from storage import db
from tests.browser.pages import ALL, PUBLIC, VALID_NARRATIVE, fill_valid_report, submit_report
from tests.browser.support import LANGS

BROWSERS = ("Chrome", "Safari", "Firefox", "Samsung Internet")


def translated(live, lang: str, text: str) -> str:
    with live.app.test_request_context(), force_locale(lang):
        return _(text)


def wait_for_neutral(tab) -> None:
    tab.page.wait_for_url(tab.live.neutral_url)
    assert tab.page.title() == "Weather"


@pytest.mark.parametrize("name", [s.name for s in PUBLIC])
def test_every_public_page_has_the_quick_exit_at_the_top_and_safety_advice_below(visit, live, name):
    for lang in LANGS:
        page = visit(name, lang).page
        button = page.locator("header #quick-exit")
        assert button.is_visible()
        assert button.inner_text().strip() == translated(live, lang, "Leave this site quickly")
        assert button.get_attribute("href") == "/leave"
        assert button.get_attribute("data-neutral") == live.neutral_url
        advice = page.locator("footer a[href='/safety']")
        assert advice.inner_text().strip() == translated(
            live, lang, "How to stay safe and delete your browsing history"
        )
        # On the screen at once, without scrolling, even on a small phone.
        page.set_viewport_size({"width": 320, "height": 568})
        page.evaluate("() => window.scrollTo(0, 0)")
        box = button.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 568 and box["x"] + box["width"] <= 320
        page.set_viewport_size({"width": 1280, "height": 900})


def test_quick_exit_is_among_the_first_stops_of_the_keyboard(open_tab):
    page = open_tab("kk").page
    page.goto("/report")
    for _i in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "quick-exit":
            return
    pytest.fail("the quick exit is not within the first six Tab stops")


def test_quick_exit_with_javascript_replaces_the_page_in_history(open_tab, live):
    tab = open_tab("kk")
    page = tab.page
    page.goto("/track")
    page.click("#quick-exit")
    wait_for_neutral(tab)
    assert page.evaluate("() => history.length") == 2  # the tab's blank start page, then the neutral site
    page.go_back()
    assert not page.url.startswith(live.url), page.url  # the only page of ours was replaced
    assert live.url + "/leave" in tab.requests  # the server is told (keepalive), without waiting for it


def test_quick_exit_removes_the_current_page_though_not_earlier_ones(open_tab, live):
    """Browsers let a page replace only its own history entry: earlier pages stay (the safety page says so)."""
    tab = open_tab("en")
    page = tab.page
    page.goto("/")
    page.goto("/safety")
    page.click("#quick-exit")
    wait_for_neutral(tab)
    assert page.evaluate("() => history.length") == 3  # blank start, "/", the neutral site
    page.go_back()
    assert page.url == live.url + "/"  # /safety, the page the person was on, is gone


def test_pressing_escape_three_times_leaves(open_tab):
    tab = open_tab("ru")
    tab.page.goto("/report")
    tab.page.locator("#narrative").focus()
    for _i in range(3):
        tab.page.keyboard.press("Escape")
    wait_for_neutral(tab)


def test_quick_exit_without_javascript_goes_through_leave(open_tab, live):
    tab = open_tab("kk", js=False)
    page = tab.page
    page.goto("/report")
    with page.expect_response(lambda r: r.url == live.url + "/leave") as leaving:
        page.click("#quick-exit")
    wait_for_neutral(tab)
    headers = leaving.value.all_headers()
    assert leaving.value.status == 303 and headers["location"] == live.neutral_url
    assert '"cache"' in headers["clear-site-data"]
    assert tab.foreign == [live.neutral_url]


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_quick_exit_ends_the_tracking_session(open_tab, live, busy_case, js):
    tab = open_tab("en", js=js)
    page = tab.page
    page.goto("/track")
    page.fill("#receipt", busy_case.receipt)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/track/case")
    page.click("#quick-exit")
    wait_for_neutral(tab)
    for _i in range(20):  # with JavaScript the server is told in the background (keepalive)
        if live.app.config["SESSION_COOKIE_NAME"] not in {c["name"] for c in tab.context.cookies()}:
            break
        page.wait_for_timeout(100)
    page.goto("/track")  # someone else picks up the phone
    assert page.url == live.url + "/track"
    assert busy_case.reference not in page.inner_text("main")


@pytest.mark.parametrize("lang", LANGS)
def test_safety_page_explains_how_to_delete_browsing_history(visit, live, lang):
    page = visit("safety", lang).page
    text = page.inner_text("main")
    assert translated(live, lang, "Delete your browsing history") in text
    for browser in BROWSERS:
        assert browser in text
    assert (
        translated(
            live,
            lang,
            "Deleting all history can itself look suspicious. You can instead delete only the "
            "entries for this site, or use a private (incognito) window next time.",
        )
        in text
    )


SAME_ORIGIN_REFERENCES = """() => Array.from(document.querySelectorAll(
    'script[src], link[href], img[src], iframe[src], source[src], video[src], audio[src], embed[src], object[data], form[action]'))
  .map(el => el.src || el.href || el.data || el.action)
  .filter(url => !url.startsWith(location.origin + '/') && !url.startsWith('data:'))"""


def test_no_request_ever_leaves_the_server(visit, live):
    """Fonts, scripts, styles, images, analytics: everything comes from 127.0.0.1, on every page."""
    hosts, outside = set(), []
    for scenario in ALL:
        tab = visit(scenario.name, "kk")
        hosts |= {urlsplit(url).hostname for url in tab.requests if not url.startswith("data:")}
        outside += tab.foreign + tab.page.evaluate(SAME_ORIGIN_REFERENCES) + tab.problems
    assert hosts == {"127.0.0.1"}
    assert outside == []


def test_report_form_works_without_javascript(open_tab, live):
    tab = open_tab("kk", js=False)
    page = tab.page
    page.goto("/report")
    with page.expect_navigation() as sent:
        submit_report(page)
    assert sent.value.status == 422
    assert page.locator("#error-summary li").count() >= 6
    fill_valid_report(page)
    submit_report(page)
    receipt = page.inner_text("#receipt-code code").strip()
    reference = page.inner_text(".panel .reference").strip()
    with live.app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None and case.narrative == VALID_NARRATIVE
    # Following the case works without JavaScript too.
    page.goto("/track")
    page.fill("#receipt", receipt)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/track/case")
    assert reference in page.inner_text("h1")
    assert tab.problems == [] and tab.foreign == []
