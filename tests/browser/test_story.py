"""The whole story in a real browser, as the people involved would live it.

A citizen reports in Kazakh with the keyboard only (forgetting one answer and
following the error summary back to it) and keeps the receipt; a caseworker
signs in, claims the case and asks for information; the citizen tracks the case with
the receipt and replies; the caseworker resolves it (a reason is required); a supervisor
opens the case and sees its history intact. Staff use English (lang cookie) so the
assertions on their pages stay plain; the citizen's texts are checked in Kazakh through
the app's own catalogs.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from cases import audit
from cases.models import Case, Event, Message
from cases.workflow import PUBLIC_EXPLANATIONS, Status
from storage import db
from tests.browser.support import sign_in

NARRATIVE = "Көршім әйелін күн сайын ұрады. Ол үйден шығуға қорқады, балалары да қорқып жүр."
QUESTION = "Which district is the flat in, and is there a safe place she can go tonight?"
ANSWER = "Бостандық ауданы, базардың жанында. Апасының үйіне бара алады."
OUTCOME = "Referred to the Almaty crisis centre; she and the children are now in a shelter."

ACTIVE_MATCHES = "selector => document.activeElement && document.activeElement.matches(selector)"
ACTIVE = "() => { const e = document.activeElement; return e ? e.outerHTML.slice(0, 120) : 'none'; }"


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focus is on ``selector``: proves it is reachable by keyboard, in order."""
    seen = []
    for _i in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE_MATCHES, selector):
            return
        seen.append(page.evaluate(ACTIVE))
    raise AssertionError(f"Tab never reached {selector}; focus went through:\n" + "\n".join(seen[-30:]))


def choose_radio(page, name: str, value: str) -> None:
    """Tab into a radio group, then arrow keys (or Space on the first) to choose ``value``."""
    tab_to(page, f'input[type=radio][name="{name}"]')
    for _i in range(20):
        if page.evaluate("() => document.activeElement.value") == value:
            if not page.evaluate("() => document.activeElement.checked"):
                page.keyboard.press("Space")
            break
        page.keyboard.press("ArrowDown")
    assert page.locator(f'input[name="{name}"]:checked').get_attribute("value") == value


def choose_option(page, selector: str, value: str) -> None:
    tab_to(page, selector)
    for _i in range(40):
        if page.eval_on_selector(selector, "el => el.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"ArrowDown never chose {value} in {selector}")


def in_kazakh(live, text: str) -> str:
    with live.app.test_request_context(), force_locale("kk"):
        return _(text)


def change_status(page, target: str, reason: str = "", message: str = "") -> None:
    page.select_option("#target", target)
    if reason:
        page.fill("#status-reason", reason)
    if message:
        page.fill("#message", message)
    page.locator('form[action$="/status"] button[type=submit]').click()
    page.wait_for_load_state()


def case_row(live, reference: str) -> tuple[Case, list[Event], list[tuple[str, str]], audit.Break | None]:
    """The case row, its events, its messages as (kind, text) and what the supervisor's integrity
    check says, read in the app (the texts are decrypted, and the chain checked, with its keys)."""
    with live.app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        events = list(db.session.scalars(select(Event).where(Event.chain_id == case.id).order_by(Event.seq)))
        rows = list(db.session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id)))
        messages = [(m.kind, m.body) for m in rows]
        broken = audit.check_case(db.session, case, events, rows)
        db.session.expunge_all()
        return case, events, messages, broken


def test_report_in_kazakh_by_keyboard_is_worked_to_resolution_with_history_intact(open_tab, live):
    # 1. The citizen: a Kazakh browser, no mouse.
    citizen = open_tab(None, locale="kk-KZ")
    page = citizen.page
    from playwright.sync_api import expect  # here, not at the top: without Playwright the module still loads and skips

    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "kk"
    tab_to(page, 'main a[href="/report"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/report")
    choose_radio(page, "category", "women")
    tab_to(page, "#narrative")
    page.keyboard.type(NARRATIVE)
    choose_option(page, "#region", "almaty-city")
    choose_radio(page, "immediate_danger", "no")
    choose_radio(page, "child_affected", "yes")
    choose_radio(page, "in_custody", "no")
    choose_radio(page, "reporter_role", "relative")
    tab_to(page, "form.report-form button[type=submit]")  # forgot to tick the consent box
    page.keyboard.press("Enter")
    # The summary is focused by script once the page has loaded: wait for that, not for luck.
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    assert page.title().startswith(in_kazakh(live, "Error:"))
    tab_to(page, '#error-summary a[href="#consent"]')
    page.keyboard.press("Enter")
    expect(page.locator("#consent")).to_be_focused()
    assert page.evaluate("() => document.activeElement.id") == "consent"
    page.keyboard.press("Space")
    assert page.input_value("#narrative") == NARRATIVE  # nothing typed was lost
    tab_to(page, "form.report-form button[type=submit]")
    page.keyboard.press("Enter")
    page.locator("#receipt-code").wait_for()
    assert page.locator("html").get_attribute("lang") == "kk"
    receipt = page.inner_text("#receipt-code code").strip()
    reference = page.inner_text(".panel .reference").strip()
    assert len(receipt.replace("-", "")) >= 20 and reference.startswith("SHG-")
    case, _events, _messages, _broken = case_row(live, reference)
    assert (case.status, case.narrative, case.region, case.child_affected) == ("new", NARRATIVE, "almaty-city", "yes")

    # 2. The caseworker signs in, finds the case in the queue, claims it and asks a question.
    worker = open_tab("en")
    staff = worker.page
    sign_in(staff, live, live.account("caseworker"))
    staff.get_by_role("link", name="Women's rights unit").click()
    staff.get_by_role("link", name=reference).click()
    staff.get_by_role("button", name="Claim this case").click()
    staff.get_by_text("You now hold this case.").wait_for()
    change_status(staff, "triage")
    change_status(staff, "investigating")
    change_status(staff, "awaiting_info", message=QUESTION)
    staff.get_by_text("Status changed to “Awaiting information”.").wait_for()

    # 3. The citizen checks the case with the receipt and answers, still by keyboard.
    page.goto("/track")
    tab_to(page, "#receipt")
    page.keyboard.type(receipt.lower())  # case and dashes do not matter
    page.keyboard.press("Enter")
    page.wait_for_url("**/track/case")
    page.get_by_text(QUESTION).wait_for()
    assert in_kazakh(live, PUBLIC_EXPLANATIONS[Status.AWAITING_INFO]) in page.inner_text("main")
    tab_to(page, "#body")
    page.keyboard.type(ANSWER)
    tab_to(page, 'form[action$="/track/reply"] button[type=submit]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/track/case")
    page.locator(".message-from_reporter").get_by_text(ANSWER).wait_for()
    case, _events, _messages, _broken = case_row(live, reference)
    assert case.status == "investigating"  # the reply resumed the work

    # 4. The caseworker reads the answer and resolves the case: not without an outcome.
    staff.reload()
    staff.get_by_text(ANSWER).wait_for()
    change_status(staff, "resolved")
    assert staff.locator(".notice-error").count() == 1
    assert case_row(live, reference)[0].status == "investigating"
    change_status(staff, "resolved", reason=OUTCOME)
    staff.get_by_text("Status changed to “Resolved”.").wait_for()

    page.reload()
    assert in_kazakh(live, PUBLIC_EXPLANATIONS[Status.RESOLVED]) in page.inner_text("main")

    # 5. A supervisor (second factor) opens the case and sees the history intact.
    boss = open_tab("en")
    sign_in(boss.page, live, live.account("supervisor"))
    boss.page.goto(f"/staff/cases/{case.id}")
    assert "History intact." in boss.page.inner_text(".notice-success")
    timeline = boss.page.inner_text(".timeline")
    assert OUTCOME in timeline

    case, events, messages, broken = case_row(live, reference)
    assert case.status == "resolved" and case.assignee_id == live.account("caseworker").id
    assert [(e.action, e.new_value) for e in events if e.action == "status"] == [
        ("status", "triage"),
        ("status", "investigating"),
        ("status", "awaiting_info"),
        ("status", "investigating"),
        ("status", "resolved"),
    ]
    assert [e.reason for e in events if e.new_value == "resolved"] == [OUTCOME]
    assert messages == [("to_reporter", QUESTION), ("from_reporter", ANSWER)]
    assert broken is None
    for tab in (citizen, worker, boss):
        assert tab.foreign == [] and tab.problems == []
