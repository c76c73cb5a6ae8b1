"""A case worker's day at volume, in a real browser: finding a case by a Kazakh word of its
(encrypted) narrative, answering from a reply template, closing a duplicate, claiming five cases
at once; and a supervisor finding a late case on the list of late cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from cases import commands
from cases.models import Case, Event, Message, User
from storage import db
from tests.browser.support import sign_in
from tests.helpers import report

KAZAKH = "Түнде полиция бөлімшесінде ұлымды соққыға жықты, таңертең ғана босатты."
SEARCH_WORD = "бөлімшесінде"
TEMPLATE = "Сіздің {reference} өтінішіңіз алынды. Мен — {case_worker}, сізге хабарласамын."


def seed(live):
    """The cases of the story, filed through the command layer; returns their ids."""
    key = live.app.extensions["shagym_receipt_key"]
    supervisor_id = live.account("supervisor").id
    with live.app.app_context():
        kept = commands.file_report(report(category="other", region="jambyl", narrative=KAZAKH), key).case
        duplicate = commands.file_report(report(category="other", region="jambyl", narrative=KAZAKH + " Қайта."), key)
        five = [
            commands.file_report(
                report(category="disability", region="ulytau", narrative=f"Пандус жоқ, мектепке кіре алмаймыз ({n})."),
                key,
            ).case.id
            for n in range(5)
        ]
        commands.create_template("Алынды", "kk", TEMPLATE, db.session.get(User, supervisor_id))
        ids = kept.id, kept.reference, duplicate.case.id, five
        db.session.remove()
    return ids


def test_a_case_workers_day_and_the_supervisors_late_list(open_tab, live):
    kept_id, kept_reference, duplicate_id, five = seed(live)
    worker = open_tab("en")
    page = worker.page
    sign_in(page, live, live.account("caseworker"))

    # 1. Find the case by a Kazakh word of its narrative (the blind index; the text stays sealed).
    page.goto("/staff/")
    page.fill("#q", SEARCH_WORD)
    page.locator("form[role=search] button[type=submit]").first.click()
    page.wait_for_url("**/staff/search?q=*")
    page.get_by_role("link", name=kept_reference).click()
    page.wait_for_url(f"**/staff/cases/{kept_id}")

    # 2. Answer from a template: insert it, check the filled-in text, send it to the reporter.
    page.select_option("#template", label="Алынды (Қазақша)")
    page.get_by_role("button", name="Insert template").click()
    page.wait_for_url(f"**/staff/cases/{kept_id}/messages/template")
    body = page.input_value("#body")
    assert kept_reference in body and "{reference}" not in body
    page.check("#kind-msg")
    page.locator('form[action$="/messages"] button.button:not(.visually-hidden)').last.click()
    page.wait_for_url(f"**/staff/cases/{kept_id}")
    with live.app.app_context():
        sent = db.session.scalars(
            select(Message).where(Message.case_id == kept_id, Message.kind == "to_reporter")
        ).all()
        assert [m.body for m in sent] == [body]
        db.session.remove()

    # 3. The second report is the same events: close it as a duplicate of the first.
    page.goto(f"/staff/cases/{duplicate_id}")
    page.fill("#link-reference", kept_reference)
    page.select_option("#link-kind", "duplicate_of")
    page.fill("#link-reason", "The same night at the same station, reported twice.")
    page.locator('form[action$="/links"] button[type=submit]').click()
    page.wait_for_url(f"**/staff/cases/{duplicate_id}")
    with live.app.app_context():
        closed = db.session.get(Case, duplicate_id)
        assert closed.status == "closed" and not closed.is_open
        actions = db.session.scalars(select(Event.action).where(Event.chain_id == duplicate_id)).all()
        assert "marked_duplicate" in actions
        db.session.remove()

    # 4. Claim five cases at once from the queue page (checkboxes and one submit, no script needed).
    page.goto("/staff/queues/disability?region=ulytau&who=unassigned")
    for case_id in five:
        page.check(f"#select-{case_id}")
    page.select_option("#bulk-action", "claim")
    page.get_by_role("button", name="Apply to the ticked cases").click()
    page.wait_for_url("**/staff/queues/disability/bulk")
    assert "5 done, 0 refused." in page.inner_text("main")
    with live.app.app_context():
        holders = db.session.scalars(select(Case.assignee_id).where(Case.id.in_(five))).all()
        assert holders == [live.account("caseworker").id] * 5
        db.session.remove()

    # 5. A case goes unanswered past its first-response target: the supervisor sees it listed.
    with live.app.app_context():
        late = datetime.now(UTC) - timedelta(hours=5)
        db.session.execute(update(Case).where(Case.id == five[0]).values(due_at=late))
        db.session.commit()
        late_reference = db.session.get(Case, five[0]).reference
        db.session.remove()
    boss = open_tab("en")
    sign_in(boss.page, live, live.account("supervisor"))
    boss.page.goto("/staff/supervise/escalations")
    first_response = boss.page.locator("h2", has_text="Late for a first response").locator(
        "xpath=following-sibling::table[1]"
    )
    assert late_reference in first_response.inner_text()
    assert "late by 5 hours" in first_response.inner_text()
    for tab in (worker, boss):
        assert tab.foreign == [] and tab.problems == []
