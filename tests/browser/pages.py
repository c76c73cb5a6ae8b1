"""The pages the browser tests visit, each reached the way a person reaches it.

A scenario opens its page in a tab and checks it really got there (not a
sign-in redirect or an error), so a check that runs on it checks that page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from cases import audit, commands, queries, related
from cases.models import Case, CaseInstitution, Institution, PartnerBody, Queue, Referral, RoutingRule, Tag, User
from storage import db
from tests.helpers import report

VALID_NARRATIVE = "A teacher at our school hits the children in my son's class and locks them in a cupboard."
NEUTRAL_TITLE = "Weather"


@dataclass(frozen=True)
class Scenario:
    name: str
    go: Callable  # (page, live, busy_case) -> None
    role: str | None = None  # the staff session the page needs
    public: bool = True


def fill_valid_report(page, narrative: str = VALID_NARRATIVE) -> None:
    """Answer every required question of the report form (any language: by value, not by label)."""
    page.check("input[name=category][value=other]")
    page.fill("#narrative", narrative)
    page.select_option("#region", "astana")
    for name, value in (
        ("immediate_danger", "no"),
        ("child_affected", "no"),
        ("in_custody", "no"),
        ("reporter_role", "witness"),
    ):
        page.check(f"input[name={name}][value={value}]")
    page.check("#consent")


def submit_report(page) -> None:
    page.locator("form.report-form button[type=submit]").click()


def _get(path: str, status: int = 200, heading: str = "h1") -> Callable:
    def go(page, live, case) -> None:
        response = page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        assert page.url == live.url + path, f"{path} ended at {page.url}"
        page.locator(heading).first.wait_for()

    return go


def _report_errors(page, live, case) -> None:
    page.goto("/report")
    submit_report(page)
    page.locator("#error-summary").wait_for()


def _receipt(page, live, case) -> None:
    page.goto("/report")
    fill_valid_report(page)
    submit_report(page)
    page.locator("#receipt-code").wait_for()


def _track_error(page, live, case) -> None:
    page.goto("/track")
    page.fill("#receipt", "AAAA-BBBB-CCCC-DDDD-EEEE")
    page.locator("main form button[type=submit]").click()
    page.locator("#error-summary").wait_for()


def _track_case(page, live, case) -> None:
    page.goto("/track")
    page.fill("#receipt", case.receipt)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/track/case")
    page.get_by_text(case.reference).first.wait_for()


def _case(page, live, case) -> None:
    _get(f"/staff/cases/{case.id}")(page, live, case)


def _queue(page, live, case) -> None:
    _get(f"/staff/queues/{case.queue_slug}")(page, live, case)


def _bulk_result(page, live, case) -> None:
    """A queue page's bulk form used as a person would: tick a case, choose, apply."""
    _get(f"/staff/queues/{case.queue_slug}")(page, live, case)
    page.locator('input[name="case"]').first.check()
    page.select_option("#bulk-action", "status")
    page.select_option("#bulk-target", "triage")
    page.locator("#bulk button[type=submit]").click()
    page.locator("h1").filter(has_text="").first.wait_for()
    page.wait_for_url(f"**/staff/queues/{case.queue_slug}/bulk")


def _staff_receipt(page, live, case) -> None:
    """A report taken by phone, filed through the staff form, and its receipt page."""
    _get("/staff/reports/new")(page, live, case)
    page.select_option("#channel", "phone")
    page.select_option("#reporter_language", "ru")
    page.check("input[name=contact][value=anonymous]")
    fill_valid_report(page)
    submit_report(page)
    page.locator(".printable-receipt code").wait_for()


def _second_factor(page, live, case) -> None:
    account = live.account("supervisor")
    page.goto("/staff/login")
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/staff/2fa")


def _admin_user(page, live, case) -> None:
    _get(f"/staff/admin/users/{live.account('caseworker').id}")(page, live, case)


def _approvals(page, live, case) -> None:
    """The supervisor's approvals page with one request on it (an admin asked for queues)."""
    admin_id = live.account("admin").id  # before this context: it signs up in a session of its own
    with live.app.app_context():
        if not queries.pending_access():
            admin = db.session.get(User, admin_id)
            commands.create_user(
                "new.colleague@example.org",
                "New Colleague",
                "caseworker",
                "a sturdy long passphrase",
                ["women"],
                by=admin,
            )
        db.session.remove()
    _get("/staff/supervise/approvals")(page, live, case)


def _template_id(live) -> int:
    """A reply template on the live server (written once, by its supervisor)."""
    supervisor_id = live.account("supervisor").id
    with live.app.app_context():
        found = queries.reply_templates()
        template_id = (
            found[0].id
            if found
            else commands.create_template(
                "Подтверждение получения",
                "ru",
                "Ваше обращение {reference} получено. Меня зовут {case_worker}; ответим до {due_date}.",
                db.session.get(User, supervisor_id),
            ).id
        )
        db.session.remove()
    return template_id


def _templates(page, live, case) -> None:
    _template_id(live)
    _get("/staff/supervise/templates")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _template_edit(page, live, case) -> None:
    _get(f"/staff/supervise/templates/{_template_id(live)}")(page, live, case)


_spare = itertools.count(1)


def _spare_account(live) -> tuple[int, str]:
    """A case worker of its own (a reset must not touch the accounts other scenarios sign in with)."""
    with live.app.app_context():
        user = commands.create_user(f"spare{next(_spare)}@shagym.test", "Spare Colleague", "caseworker", PASSWORD_SPARE)
        found = user.id, user.email
        db.session.remove()
    return found


PASSWORD_SPARE = "a sturdy long passphrase"


def _first_id(live, model) -> int:
    with live.app.app_context():
        found = db.session.scalar(select(model.id).order_by(model.id).limit(1))
        db.session.remove()
    return found


def _rule_edit(page, live, case) -> None:
    _get(f"/staff/admin/routing/{_first_id(live, RoutingRule)}")(page, live, case)


def _queue_edit(page, live, case) -> None:
    _get(f"/staff/admin/queues/{_first_id(live, Queue)}")(page, live, case)


def _rule_test(page, live, case) -> None:
    """The facts form filled in and sent, as an admin would: the deciding rule is shown."""
    _get("/staff/admin/routing/test")(page, live, case)
    page.select_option("#category", "torture")
    page.select_option("#region", "astana")
    page.select_option("#in_custody", "yes")
    page.locator("main form button[type=submit]").click()
    page.locator("#routing-decision").wait_for()


def _reset_code(page, live, case) -> None:
    """The admin resets a colleague's password and is shown the one-time code."""
    user_id, _email = _spare_account(live)
    _get(f"/staff/admin/users/{user_id}")(page, live, case)
    page.locator(f"form[action='/staff/admin/users/{user_id}/reset-password'] button").click()
    page.locator("#reset-code").wait_for()


def _new_password(page, live, case) -> None:
    """A colleague signs in with the one-time code and lands on "Choose a new password"."""
    user_id, email = _spare_account(live)
    admin_id = live.account("admin").id
    with live.app.app_context():
        code = commands.reset_password(db.session.get(User, user_id), db.session.get(User, admin_id), 24)
        db.session.remove()
    page.goto("/staff/login")
    page.fill("#email", email)
    page.fill("#password", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/staff/password/new")


def _deleted_case(page, live, case) -> None:
    """What a supervisor sees at the address of a case deleted from the database behind the app's
    back: the witness holds its chain's head (planted here for a case id that never existed)."""
    with live.app.app_context():
        audit.current_witness().record_heads({DELETED_CASE_ID: (3, "ab" * 32)})
    _get(f"/staff/cases/{DELETED_CASE_ID}", status=404)(page, live, case)


DELETED_CASE_ID = 987654


def _escalations(page, live, case) -> None:
    """The supervisors' list of late cases with the busy case on it (two days late to resolve)."""
    with live.app.app_context():
        late = datetime.now(UTC) - timedelta(days=2)
        db.session.execute(update(Case).where(Case.id == case.id).values(due_at=late, resolution_due_at=late))
        db.session.commit()
        db.session.remove()
    _get("/staff/supervise/escalations")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _export_errors(page, live, case) -> None:
    """The export form sent back: the narrative ticked without a reason."""
    _get("/staff/supervise/export?queue=general&status=all")(page, live, case)
    page.check("#export-sensitive-0")
    page.locator("main form button[type=submit]").click()
    page.locator("#error-summary").wait_for()


def _search(page, live, case) -> None:
    _get(f"/staff/search?q={case.reference}")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _a_tag(live) -> int:
    """The id of a tag of the vocabulary (created once, by the supervisor)."""
    supervisor_id = live.account("supervisor").id
    with live.app.app_context():
        tag = db.session.scalar(db.select(Tag).where(Tag.slug == "land-dispute"))
        if tag is None:
            names = {"kk": "Жер дауы", "ru": "Земельный спор", "en": "Land dispute"}
            tag = commands.create_tag("land-dispute", names, by=db.session.get(User, supervisor_id))
        tag_id = tag.id
        db.session.remove()
    return tag_id


def _tag(page, live, case) -> None:
    _get(f"/staff/supervise/tags/{_a_tag(live)}")(page, live, case)


def _tags(page, live, case) -> None:
    _a_tag(live)
    _get("/staff/supervise/tags")(page, live, case)


def _case_tags_and_links(page, live, case) -> None:
    """A case page with a tag, a related case and a possible duplicate on it."""
    tag_id = _a_tag(live)
    supervisor_id = live.account("supervisor").id
    with live.app.app_context():
        supervisor = db.session.get(User, supervisor_id)
        busy = db.session.get(Case, case.id)
        if not queries.tags_for([case.id]):
            commands.add_tag(case.id, supervisor, tag_id)
        if not related.links_of(busy, supervisor):
            narrative = busy.narrative or VALID_NARRATIVE
            other = commands.file_report(
                report(category=busy.category, region=busy.region, narrative=narrative),
                live.app.extensions["shagym_receipt_key"],
            )
            commands.link_cases(case.id, supervisor, other.case.reference, "related")
        db.session.remove()
    _get(f"/staff/cases/{case.id}")(page, live, case)
    page.locator("#tags-links-title").wait_for()


INSTITUTION_PLACE = "Изолятор временного содержания полиции Алматы, ул. Вымышленная 1"


def _an_institution(live) -> tuple[int, int]:
    """(the id of a fictional IVS of the register, a case of the general queue linked to it that
    names it in its place), made once by the admin and the supervisor."""
    admin_id, supervisor_id = live.account("admin").id, live.account("supervisor").id
    with live.app.app_context():
        row = db.session.scalar(db.select(Institution).where(Institution.name == "ИВС ДП г. Алматы (демо)"))
        if row is None:
            admin = db.session.get(User, admin_id)
            row = commands.create_institution(
                "ИВС ДП г. Алматы (демо)", {"en": "Almaty police IVS (demo)"}, "ivs", "almaty-city", by=admin
            )
            commands.create_institution("Отдел полиции Медеуского района (демо)", {}, "police", "almaty-city", by=admin)
        institution_id = row.id
        case_id = db.session.scalar(
            db.select(CaseInstitution.case_id).where(CaseInstitution.institution_id == institution_id).limit(1)
        )
        if case_id is None:
            filed = commands.file_report(
                report(region="almaty-city", place_description=INSTITUTION_PLACE),
                live.app.extensions["shagym_receipt_key"],
            )
            case_id = filed.case.id
            commands.link_institution(case_id, db.session.get(User, supervisor_id), institution_id)
        db.session.remove()
    return institution_id, case_id


def _institutions_register(page, live, case) -> None:
    _an_institution(live)
    _get("/staff/admin/institutions")(page, live, case)


def _institutions_register_errors(page, live, case) -> None:
    """The new-institution form sent without a type or region: the error summary."""
    _an_institution(live)
    page.goto("/staff/admin/institutions")
    page.fill("#name", "Typed name")
    page.locator("form.narrow-form button[type=submit]").click()
    page.locator("#error-summary").wait_for()


def _institution_edit(page, live, case) -> None:
    institution_id, _case_id = _an_institution(live)
    _get(f"/staff/admin/institutions/{institution_id}")(page, live, case)


def _case_institutions(page, live, case) -> None:
    """A case page with a linked institution, another suggested from its place, and the chooser."""
    _institution_id, case_id = _an_institution(live)
    _get(f"/staff/cases/{case_id}")(page, live, case)
    page.locator("#institutions-title").wait_for()


def _institution(page, live, case) -> None:
    institution_id, _case_id = _an_institution(live)
    _get(f"/staff/institutions/{institution_id}")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _institutions_ranking(page, live, case) -> None:
    _an_institution(live)
    _get("/staff/supervise/institutions")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _public_statistics(page, live, case) -> None:
    """The public statistics, which the office turns on (off, the address is not found)."""
    live.app.config["PUBLIC_STATISTICS"] = True
    _get("/statistics")(page, live, case)
    page.locator("table.stats-table").first.wait_for()


def _access(page, live, case) -> None:
    """The supervisors' access analytics over the days the busy case was worked on."""
    _get("/staff/supervise/access")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _lang_of(page) -> str:
    """The language the tab reads (its ``lang`` cookie), for documents written in one language."""
    return next((c["value"] for c in page.context.cookies() if c["name"] == "lang"), "en")


def _a_partner(live) -> int:
    """The id of a fictional partner body (created once, by the admin)."""
    admin_id = live.account("admin").id
    with live.app.app_context():
        body = db.session.scalar(select(PartnerBody).where(PartnerBody.name_en == "Demo Ombudsman (fictional)"))
        if body is None:
            names = {
                "kk": "Демо омбудсмен (ойдан)",
                "ru": "Демо-омбудсмен (вымышленный)",
                "en": "Demo Ombudsman (fictional)",
            }
            values = commands.PartnerValues(names, "commissioner", None, "Demo street 5 (fictional)", ["women"], 10)
            body = commands.create_partner(values, by=db.session.get(User, admin_id))
        body_id = body.id
        db.session.remove()
    return body_id


def _a_referral(live, case, language: str) -> int:
    """A draft referral of the busy case with its letter in ``language`` (one per language)."""
    partner_id = _a_partner(live)
    supervisor_id = live.account("supervisor").id
    with live.app.app_context():
        found = db.session.scalar(select(Referral.id).where(Referral.case_id == case.id, Referral.language == language))
        if found is None:
            draft = commands.Draft(
                partner_id,
                "deidentified",
                ["category", "region", "dates", "circumstances", "narrative_redacted"],
                language,
                False,
                "",
                "My neighbour [name removed] is beaten every week.",
            )
            found = commands.prepare_referral(case.id, db.session.get(User, supervisor_id), draft).id
        db.session.remove()
    return found


def _partners(page, live, case) -> None:
    _a_partner(live)
    _get("/staff/admin/partners")(page, live, case)
    page.locator("table.table tbody tr").first.wait_for()


def _partner_edit(page, live, case) -> None:
    _get(f"/staff/admin/partners/{_a_partner(live)}")(page, live, case)


def _referral_new(page, live, case) -> None:
    _a_partner(live)
    _get(f"/staff/cases/{case.id}/referrals/new")(page, live, case)


def _referral_errors(page, live, case) -> None:
    """The referral form sent back: a de-identified referral that ticks the place."""
    _referral_new(page, live, case)
    page.select_option("#partner", str(_a_partner(live)))
    page.check("input[name=fields][value=place]")
    page.locator("main form button[type=submit]").click()
    page.locator(".flash, [role=alert]").first.wait_for()


def _referral(page, live, case) -> None:
    _get(f"/staff/cases/{case.id}/referrals/{_a_referral(live, case, _lang_of(page))}")(page, live, case)


def _referral_letter(page, live, case) -> None:
    """The letter to print, written in the tab's language."""
    referral_id = _a_referral(live, case, _lang_of(page))
    _get(f"/staff/cases/{case.id}/referrals/{referral_id}/letter")(page, live, case)


def _track_consent(page, live, case) -> None:
    """The tracking page of a reachable reporter whom a case worker asks for consent to a referral."""
    partner_id = _a_partner(live)
    worker_id = live.account("caseworker").id
    with live.app.app_context():
        filed = commands.file_report(
            report(category="women", region="astana", contact_email="reporter@example.org"),
            live.app.extensions["shagym_receipt_key"],
        )
        draft = commands.Draft(partner_id, "consent", ["category", "narrative_original"], "ru", True)
        commands.prepare_referral(filed.case.id, db.session.get(User, worker_id), draft)
        receipt = filed.receipt
        db.session.remove()
    page.goto("/track")
    page.fill("#receipt", receipt)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/track/case")
    page.locator("#referrals").wait_for()


PUBLIC = (
    Scenario("home", _get("/")),
    Scenario("report", _get("/report")),
    Scenario("report-errors", _report_errors),
    Scenario("receipt", _receipt),
    Scenario("track", _get("/track")),
    Scenario("track-error", _track_error),
    Scenario("track-case", _track_case),
    Scenario("track-consent", _track_consent),
    Scenario("safety", _get("/safety")),
    Scenario("not-found", _get("/no-such-page", status=404)),
    Scenario("statistics", _public_statistics),
)

STAFF = (
    Scenario("staff-login", _get("/staff/login"), public=False),
    Scenario("staff-home-caseworker", _get("/staff/"), "caseworker", False),
    Scenario("staff-home-supervisor", _get("/staff/"), "supervisor", False),
    Scenario("staff-queue-caseworker", _queue, "caseworker", False),
    Scenario("staff-queue-supervisor", _queue, "supervisor", False),
    Scenario("staff-case-caseworker", _case, "caseworker", False),
    Scenario("staff-case-supervisor", _case, "supervisor", False),
    Scenario("staff-activity", _get("/staff/supervise/activity"), "supervisor", False),
    Scenario("staff-accounts", _get("/staff/admin/users"), "admin", False),
    Scenario("staff-second-factor", _second_factor, None, False),
    Scenario("staff-audit", _get("/staff/supervise/audit"), "supervisor", False),
    Scenario("staff-approvals", _approvals, "supervisor", False),
    Scenario("staff-case-deleted", _deleted_case, "supervisor", False),
    Scenario("staff-search", _search, "caseworker", False),
    Scenario("staff-bulk-result", _bulk_result, "caseworker", False),
    Scenario("staff-report-form", _get("/staff/reports/new"), "caseworker", False),
    Scenario("staff-report-receipt", _staff_receipt, "caseworker", False),
    Scenario("staff-account", _admin_user, "admin", False),
    Scenario("staff-routing-rules", _get("/staff/admin/routing"), "admin", False),
    Scenario("staff-escalations", _escalations, "supervisor", False),
    Scenario("staff-dashboard", _get("/staff/supervise/dashboard"), "supervisor", False),
    Scenario("staff-export", _get("/staff/supervise/export?queue=general&region=almaty"), "supervisor", False),
    Scenario("staff-export-errors", _export_errors, "supervisor", False),
    Scenario("staff-statistics", _get("/staff/supervise/statistics?rows=region&cols=outcome"), "supervisor", False),
    Scenario(
        "staff-statistics-report",
        _get("/staff/supervise/statistics/report?rows=category&cols=outcome"),
        "supervisor",
        False,
    ),
    Scenario("staff-access", _access, "supervisor", False),
    Scenario("staff-service-levels", _get("/staff/admin/service-levels/"), "admin", False),
    Scenario("staff-treaties", _get("/staff/admin/treaties/"), "admin", False),
    Scenario("staff-service-level-edit", _get("/staff/admin/service-levels/torture"), "admin", False),
    Scenario("staff-tags", _tags, "supervisor", False),
    Scenario("staff-tag", _tag, "supervisor", False),
    Scenario("staff-case-tags-links", _case_tags_and_links, "caseworker", False),
    Scenario("staff-reply-templates", _templates, "supervisor", False),
    Scenario("staff-reply-template-edit", _template_edit, "supervisor", False),
    Scenario("staff-rule-edit", _rule_edit, "admin", False),
    Scenario("staff-rule-test", _rule_test, "admin", False),
    Scenario("staff-queues", _get("/staff/admin/queues"), "admin", False),
    Scenario("staff-queue-edit", _queue_edit, "admin", False),
    Scenario("staff-reset-code", _reset_code, "admin", False),
    Scenario("staff-new-password", _new_password, None, False),
    Scenario("staff-institutions-register", _institutions_register, "admin", False),
    Scenario("staff-institutions-register-errors", _institutions_register_errors, "admin", False),
    Scenario("staff-institution-edit", _institution_edit, "admin", False),
    Scenario("staff-case-institutions", _case_institutions, "caseworker", False),
    Scenario("staff-institution-caseworker", _institution, "caseworker", False),
    Scenario("staff-institution-supervisor", _institution, "supervisor", False),
    Scenario("staff-institutions-ranking", _institutions_ranking, "supervisor", False),
    Scenario("staff-partners", _partners, "admin", False),
    Scenario("staff-partner-edit", _partner_edit, "admin", False),
    Scenario("staff-referral-new", _referral_new, "caseworker", False),
    Scenario("staff-referral-errors", _referral_errors, "caseworker", False),
    Scenario("staff-referral", _referral, "caseworker", False),
    Scenario("staff-referral-letter", _referral_letter, "caseworker", False),
)

ALL = PUBLIC + STAFF
BY_NAME = {s.name: s for s in ALL}
