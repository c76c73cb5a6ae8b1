"""A referral in a real browser: the case worker prepares it on the reporter's consent, the
reporter agrees on the tracking page, the case worker reads the letter, records it as sent (the
case moves to "referred") and then the body's answer, which the reporter sees came."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cases import commands
from cases.models import Case, Event, Referral, User
from cases.vocabulary import Action
from storage import db
from tests.browser.support import sign_in
from tests.helpers import report

NARRATIVE = "Police officers in the district station kept my brother overnight and beat him with a baton."
BODY = "Story Prosecutor's Office (fictional)"


def seed(live):
    """A reachable reporter's case, in "investigating", held by the case worker; a partner body."""
    key = live.app.extensions["shagym_receipt_key"]
    worker_id, admin_id = live.account("caseworker").id, live.account("admin").id
    with live.app.app_context():
        filed = commands.file_report(
            report(category="other", region="jambyl", narrative=NARRATIVE, contact_email="brother@example.org"), key
        )
        worker = db.session.get(User, worker_id)
        commands.claim(filed.case.id, worker)
        commands.change_status(filed.case.id, worker, "triage")
        commands.change_status(filed.case.id, worker, "investigating")
        names = {"kk": "Оқиға прокуратурасы (ойдан)", "ru": "Прокуратура истории (вымышленная)", "en": BODY}
        body = commands.create_partner(
            commands.PartnerValues(names, "state_body", None, "Story street 1 (fictional)", [], 10),
            by=db.session.get(User, admin_id),
        )
        ids = filed.case.id, filed.receipt, body.id
        db.session.remove()
    return ids


def test_a_referral_with_consent_a_letter_and_an_answer(open_tab, live):
    case_id, receipt, body_id = seed(live)
    worker = open_tab("en")
    page = worker.page
    sign_in(page, live, live.account("caseworker"))

    # 1. Prepare the referral on the reporter's consent, telling them which body.
    page.goto(f"/staff/cases/{case_id}")
    page.get_by_role("link", name="Prepare a referral").click()
    page.wait_for_url(f"**/staff/cases/{case_id}/referrals/new")
    page.select_option("#partner", str(body_id))
    page.check("input[name=basis][value=consent]")
    page.check("input[name=fields][value=category]")
    page.check("input[name=fields][value=narrative_original]")
    page.check("#tell_reporter")
    assert page.input_value("#language") == "kk"  # the reporter's language at filing, until changed
    page.select_option("#language", "en")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/staff/cases/{case_id}/referrals/*")
    referral_url = page.url
    assert "Not answered yet (asked on the tracking page)" in page.content()

    # 2. The reporter, on the tracking page in Russian, agrees.
    reporter = open_tab("ru").page
    reporter.goto("/track")
    reporter.fill("#receipt", receipt)
    reporter.locator("main form button[type=submit]").click()
    reporter.wait_for_url("**/track/case")
    reporter.get_by_text("Прокуратура истории (вымышленная)").first.wait_for()
    reporter.locator("#referrals input[value=yes]").check()
    reporter.locator("#referrals button[type=submit]").click()
    reporter.wait_for_url("**/track/case*")
    reporter.get_by_text("Ваш ответ: да, вы согласны.").wait_for()

    # 3. The case worker sees the answer, reads the letter and records it as sent.
    page.goto(referral_url)
    page.get_by_text("Yes, they agree").wait_for()
    page.get_by_role("link", name="Open the letter to print").click()
    page.wait_for_url("**/letter")
    letter = page.content()
    assert NARRATIVE in letter and BODY in letter and "brother@example.org" not in letter
    page.go_back()
    page.fill("#letter_number", "no number")
    page.locator('form[action$="/send"] button[type=submit]').click()
    page.get_by_text("A letter number is 1 to 40").first.wait_for()
    assert page.input_value("#letter_number") == "no number"  # what was typed is still there
    page.fill("#letter_number", "07-15/2026")
    page.locator('form[action$="/send"] button[type=submit]').click()
    page.get_by_text("Referral recorded as sent.").wait_for()
    with live.app.app_context():
        referral = db.session.scalar(select(Referral).where(Referral.case_id == case_id))
        assert referral.state == "sent" and db.session.get(Case, case_id).status == "referred"
        sent = db.session.scalar(select(Event).where(Event.chain_id == case_id, Event.action == Action.REFERRAL_SENT))
        assert json.loads(sent.details)["sha256"] == referral.letter_sha256
        db.session.remove()
    assert referral.letter_sha256 in page.content()

    # 4. The body answers; the case worker records it.
    today = datetime.now(ZoneInfo(live.app.config["OFFICE_TIMEZONE"])).date().isoformat()
    page.fill("#answered_on", today)
    page.fill("#summary", "An inspection of the district station was ordered.")
    page.select_option("#outcome", "investigation")
    page.locator('form[action$="/answer"] button[type=submit]').click()
    page.get_by_text("The body's answer is recorded.").wait_for()

    # 5. The reporter sees that the case was passed on and that an answer came, not what it says.
    reporter.goto("/track/case")
    text = reporter.content()
    assert "Прокуратура истории (вымышленная)" in text and "Они ответили" in text
    assert "inspection of the district station" not in text
