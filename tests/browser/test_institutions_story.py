"""The register of institutions in a real browser: an administrator adds a fictional holding
facility; a case worker opens a case whose place names it, links the suggested institution with
one button; the supervisor finds it on the list of institutions by cases, and its page lists the case."""

from __future__ import annotations

from sqlalchemy import select

from cases import commands
from cases.models import CaseInstitution, Event, Institution
from storage import db
from tests.browser.support import sign_in
from tests.helpers import report

NAME = "Шымкент қаласы ПД уақытша ұстау изоляторы (демо)"
PLACE = "Шымкент қаласы полиция департаментінің уақытша ұстау изоляторында, екінші қабатта"


def test_a_case_is_linked_to_a_suggested_institution_and_the_supervisor_sees_it(open_tab, live):
    # 1. The administrator adds the institution through the register's form.
    admin = open_tab("en")
    sign_in(admin.page, live, live.account("admin"))
    admin.page.goto("/staff/admin/institutions")
    admin.page.fill("#name", NAME)
    admin.page.fill("#name_en", "Shymkent police IVS (demo)")
    admin.page.select_option("#kind", "ivs")
    admin.page.select_option("#region", "shymkent")
    admin.page.get_by_role("button", name="Add to the register").click()
    admin.page.wait_for_url("**/staff/admin/institutions")
    assert NAME in admin.page.inner_text("main")
    with live.app.app_context():
        institution_id = db.session.scalar(select(Institution.id).where(Institution.name == NAME))
        assert institution_id is not None
        # A report whose place names the facility (in Kazakh, with its endings).
        filed = commands.file_report(
            report(category="torture", region="shymkent", place_description=PLACE, in_custody="yes"),
            live.app.extensions["shagym_receipt_key"],
        )
        case_id, reference = filed.case.id, filed.case.reference
        db.session.remove()

    # 2. The case worker sees it suggested from the place and links it.
    worker = open_tab("en")
    sign_in(worker.page, live, live.account("caseworker"))
    worker.page.goto(f"/staff/cases/{case_id}")
    suggested = worker.page.locator("ul.suggestions li", has_text="Shymkent police IVS (demo)")
    suggested.get_by_role("button", name="Link").click()
    worker.page.wait_for_url(f"**/staff/cases/{case_id}*")
    assert "Institution linked." in worker.page.inner_text("main")
    panel = worker.page.locator("section[aria-labelledby=institutions-title]")
    assert panel.get_by_role("link", name="Shymkent police IVS (demo)").count() == 1
    with live.app.app_context():
        assert db.session.scalars(
            select(CaseInstitution.institution_id).where(CaseInstitution.case_id == case_id)
        ).all() == [institution_id]
        last = db.session.scalars(select(Event).where(Event.chain_id == case_id).order_by(Event.seq.desc())).first()
        assert (last.action, last.actor_id, last.new_value) == (
            "institution_linked",
            live.account("caseworker").id,
            NAME,
        )
        db.session.remove()

    # 3. The supervisor finds it on the list of institutions by cases, then its page lists the case.
    boss = open_tab("en")
    sign_in(boss.page, live, live.account("supervisor"))
    boss.page.goto("/staff/supervise/institutions")
    boss.page.select_option("#kind", "ivs")
    boss.page.select_option("#region", "shymkent")
    boss.page.get_by_role("button", name="Show").click()
    boss.page.wait_for_url("**/staff/supervise/institutions?*")
    row = boss.page.locator("table.table tbody tr", has_text="Shymkent police IVS (demo)")
    assert row.count() == 1
    assert "Torture and ill-treatment: 1" in row.inner_text()
    row.get_by_role("link", name="Shymkent police IVS (demo)").click()
    boss.page.wait_for_url(f"**/staff/institutions/{institution_id}")
    assert boss.page.get_by_role("link", name=reference).count() == 1
    for tab in (admin, worker, boss):
        assert tab.foreign == [] and tab.problems == []
