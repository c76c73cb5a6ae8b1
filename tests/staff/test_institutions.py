"""The register of institutions: administrators keep it (audited, never deleted while cases
link to it); staff link the cases they may see, helped by suggestions from the place text; the
supervisors' ranking by cases per period and category; an institution's page shows only the
cases its viewer may see, and counts over all queues are protected for anyone but a supervisor."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases import commands, institutions
from cases.models import Case, CaseInstitution, Institution, InstitutionTerm, SearchTerm
from storage import db
from tests.helpers import chain, count, page, set_case, system_events

IVS = "ИВС Управления полиции г. Караганды"
PLACE = "Меня держали в ИВС полиции Караганды, на улице Ленина"
TZ = ZoneInfo("Asia/Almaty")


@pytest.fixture
def keeper(make_user):
    return make_user("admin")


@pytest.fixture
def register(app, keeper):
    """Three fictional institutions: an IVS in Karaganda, a police department in Astana, a school."""
    return {
        "ivs": commands.create_institution(IVS, {"en": "Karaganda police IVS"}, "ivs", "karaganda", by=keeper),
        "police": commands.create_institution("Отдел полиции района Байконыр", {}, "police", "astana", by=keeper),
        "school": commands.create_institution("Школа-гимназия № 12", {}, "school", "astana", by=keeper),
    }


def linked_ids(case_id: int) -> set[int]:
    return set(db.session.scalars(select(CaseInstitution.institution_id).where(CaseInstitution.case_id == case_id)))


# --- the register (administrators) -------------------------------------------------------------


def test_an_administrator_adds_edits_and_switches_off_an_institution(app, staff):
    client, admin = staff("admin")
    response = client.post(
        "/staff/admin/institutions",
        data={"name": "  СИЗО  №1 ", "name_en": "Pre-trial centre No. 1", "kind": "sizo", "region": "pavlodar"},
    )
    assert response.status_code == 302
    row = db.session.scalar(select(Institution))
    assert (row.name, row.name_en, row.name_kk, row.kind, row.region, row.active) == (
        "СИЗО №1",
        "Pre-trial centre No. 1",
        None,
        "sizo",
        "pavlodar",
        True,
    )
    [created] = system_events("institution_created")
    assert (created.actor_id, created.new_value) == (admin.id, str(row.id))
    assert count(InstitutionTerm) > 0
    assert "СИЗО №1" in page(client.get("/staff/admin/institutions"))

    form = {"name": "СИЗО №1", "name_kk": "", "name_ru": "", "name_en": "", "kind": "sizo", "region": "astana"}
    client.post(f"/staff/admin/institutions/{row.id}", data=form)  # as a browser sends it: every field
    client.post(f"/staff/admin/institutions/{row.id}/toggle")
    db.session.expire_all()
    row = db.session.get(Institution, row.id)
    assert (row.region, row.name_en, row.active) == ("astana", None, False)
    changed = system_events("institution_changed")
    facts = json.loads(changed[0].details)
    assert (facts["old"]["region"], facts["new"]["region"]) == ("pavlodar", "astana")
    assert (changed[1].old_value, changed[1].new_value) == ("true", "false")
    assert count(InstitutionTerm) == 0  # switched off: never suggested


def test_a_bad_institution_form_says_why_and_keeps_what_was_typed(app, staff, register):
    client, _ = staff("admin")
    response = client.post("/staff/admin/institutions", data={"name": "Typed name", "kind": "", "region": "nowhere"})
    body = page(response)
    assert response.status_code == 422
    assert "Choose the type of institution." in body and 'value="Typed name"' in body
    response = client.post("/staff/admin/institutions", data={"name": IVS, "kind": "ivs", "region": "karaganda"})
    assert response.status_code == 422 and "This institution is in the register already." in page(response)
    assert count(Institution) == 3


def test_a_linked_institution_is_never_deleted_an_unlinked_one_is(app, staff, register, make_case, make_user):
    client, _ = staff("admin")
    case = make_case().case
    commands.link_institution(case.id, make_user("supervisor"), register["ivs"].id)
    response = client.post(f"/staff/admin/institutions/{register['ivs'].id}/delete", follow_redirects=True)
    assert "cannot be deleted; switch it off instead" in page(response)
    assert db.session.get(Institution, register["ivs"].id) is not None
    assert linked_ids(case.id) == {register["ivs"].id}

    client.post(f"/staff/admin/institutions/{register['school'].id}/delete")
    db.session.expire_all()
    assert db.session.get(Institution, register["school"].id) is None
    [deleted] = system_events("institution_deleted")
    assert json.loads(deleted.details)["name"] == "Школа-гимназия № 12"


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_only_administrators_keep_the_register(app, make_user, register, role):
    with pytest.raises(commands.Forbidden):
        commands.create_institution("Колония", {}, "colony", "astana", by=make_user(role))
    with pytest.raises(commands.Forbidden):
        commands.delete_institution(register["school"].id, by=make_user(role))
    assert count(Institution) == 3


# --- links from a case --------------------------------------------------------------------------


def test_a_case_worker_links_a_suggested_institution_and_unlinks_it(app, staff, register, make_case):
    client, worker = staff("caseworker", ["general"])
    case = make_case(place_description=PLACE).case
    body = page(client.get(f"/staff/cases/{case.id}"))
    suggested = body.split("Suggested from the place")[1].split("</ul>")[0]
    assert "Karaganda police IVS" in suggested  # the English page names it in English
    assert suggested.index("Karaganda police IVS") < suggested.index("Байконыр")  # more words in common first
    assert "Школа" not in suggested

    response = client.post(f"/staff/cases/{case.id}/institutions", data={"institution": register["ivs"].id})
    assert response.status_code == 302
    assert linked_ids(case.id) == {register["ivs"].id}
    event = chain(case.id)[-1]
    assert (event.action, event.actor_id, event.new_value) == ("institution_linked", worker.id, IVS)
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "Institution linked." in body
    assert "Karaganda police IVS" not in body.split("Suggested from the place")[1].split("</ul>")[0]

    again = client.post(f"/staff/cases/{case.id}/institutions", data={"institution": register["ivs"].id})
    assert "already linked to this institution" in page(client.get(again.headers["Location"]))
    client.post(f"/staff/cases/{case.id}/institutions/{register['ivs'].id}/remove")
    assert linked_ids(case.id) == set()
    assert chain(case.id)[-1].action == "institution_unlinked" and chain(case.id)[-1].old_value == IVS


def test_a_case_worker_of_another_queue_cannot_link_or_unlink(app, staff, register, make_case, make_user):
    case = make_case(place_description=PLACE).case  # general
    commands.link_institution(case.id, make_user("supervisor"), register["police"].id)
    client, _ = staff("caseworker", ["women"])
    before = len(chain(case.id))
    assert (
        client.post(f"/staff/cases/{case.id}/institutions", data={"institution": register["ivs"].id}).status_code == 404
    )
    assert client.post(f"/staff/cases/{case.id}/institutions/{register['police'].id}/remove").status_code == 404
    assert linked_ids(case.id) == {register["police"].id} and len(chain(case.id)) == before
    with pytest.raises(commands.NotFound):
        commands.link_institution(case.id, make_user("caseworker", ["women"]), register["ivs"].id)
    with pytest.raises(commands.NotFound):
        commands.link_institution(case.id, make_user("admin"), register["ivs"].id)


def test_a_switched_off_or_unknown_institution_cannot_be_linked(app, register, make_case, make_user, keeper):
    case = make_case().case
    worker = make_user("caseworker", ["general"])
    commands.set_institution_active(register["school"].id, False, by=keeper)
    for institution_id in (register["school"].id, 10_000, None):
        with pytest.raises(commands.CommandError, match="Choose an institution from the register."):
            commands.link_institution(case.id, worker, institution_id)
    assert linked_ids(case.id) == set()


def test_suggestions_read_only_this_case_and_never_match_search_terms(app, register, make_case, keeper):
    """The place text of the case on screen is read; the name terms are keyed apart from the
    search terms, so no case's stored terms equal an institution's."""
    case = make_case(place_description=PLACE, narrative="Полиция ИВС Караганды — the same words in the narrative.")
    key = app.extensions["shagym_search_keys"].current()[1]
    found = institutions.suggestions(case.case, key, set())
    assert [s.institution.id for s in found][:1] == [register["ivs"].id] and found[0].shared >= 3
    name_terms = set(db.session.scalars(select(InstitutionTerm.term)))
    assert name_terms.isdisjoint(set(db.session.scalars(select(SearchTerm.term))))
    other = make_case(place_description="").case  # no place: nothing suggested
    assert institutions.suggestions(other, key, set()) == []


def test_rebuilding_the_search_index_under_a_new_key_rekeys_the_names(app, register, make_case):
    case = make_case(place_description=PLACE).case
    old = set(db.session.scalars(select(InstitutionTerm.term)))
    commands.rebuild_index(new_key=True)
    new = set(db.session.scalars(select(InstitutionTerm.term)))
    assert new and new.isdisjoint(old)
    key = app.extensions["shagym_search_keys"].current()[1]
    assert institutions.suggestions(db.session.get(Case, case.id), key, set())[0].institution.id == register["ivs"].id


# --- an institution's page ----------------------------------------------------------------------


def link_cases(register, make_case, supervisor, n_general: int, n_women: int) -> list[Case]:
    made = [make_case().case for _ in range(n_general)] + [make_case(category="women").case for _ in range(n_women)]
    for c in made:
        commands.link_institution(c.id, supervisor, register["ivs"].id)
    return made


def test_an_institution_page_lists_only_the_cases_the_viewer_may_see(app, staff, register, make_case, make_user):
    general = link_cases(register, make_case, make_user("supervisor"), 2, 6)
    client, _ = staff("caseworker", ["general"])
    body = page(client.get(f"/staff/institutions/{register['ivs'].id}"))
    for c in general[:2]:
        assert c.reference in body
    for c in general[2:]:
        assert c.reference not in body
    # Two cases of "other" over all queues: hidden from a case worker (and the total with it,
    # which would reveal it next to the six of "women").
    counts = institutions.counts_of(register["ivs"].id, make_user("caseworker", ["general"]), 5)
    assert counts.value("cases", "other") is None and counts.value("cases", "women") is None
    assert counts.value("cases", "torture") == 0
    full = institutions.counts_of(register["ivs"].id, make_user("supervisor"), 5)
    assert (full.value("cases", "other"), full.value("cases", "women"), full.value("cases", "__total__")) == (2, 6, 8)


def test_a_supervisor_sees_every_case_and_count_of_an_institution(app, staff, register, make_case, make_user):
    made = link_cases(register, make_case, make_user("supervisor"), 1, 1)
    client, _ = staff("supervisor")
    body = page(client.get(f"/staff/institutions/{register['ivs'].id}"))
    assert all(c.reference in body for c in made)
    assert "hidden" not in body.split("Cases linked, all queues")[1].split("Cases you may see")[0]


def test_an_institution_page_pages_by_case_id(app, register, make_case, make_user):
    supervisor = make_user("supervisor")
    made = link_cases(register, make_case, supervisor, 3, 0)
    first, more = institutions.cases_of(register["ivs"].id, supervisor, None, limit=2)
    assert [c.id for c in first] == [made[2].id, made[1].id] and more == made[1].id
    rest, more = institutions.cases_of(register["ivs"].id, supervisor, more, limit=2)
    assert [c.id for c in rest] == [made[0].id] and more is None


# --- the supervisors' ranking -------------------------------------------------------------------


def received(case: Case, days_ago: int) -> None:
    set_case(case.id, created_at=datetime.now(UTC) - timedelta(days=days_ago))


def test_the_ranking_counts_cases_per_period_type_region_and_category(app, staff, register, make_case, make_user):
    supervisor = make_user("supervisor")
    for _ in range(3):
        commands.link_institution(make_case(category="torture").case.id, supervisor, register["ivs"].id)
    commands.link_institution(make_case(category="justice").case.id, supervisor, register["ivs"].id)
    commands.link_institution(make_case().case.id, supervisor, register["police"].id)
    old = make_case().case
    commands.link_institution(old.id, supervisor, register["school"].id)
    received(old, 400)  # outside the default period (the last 365 days)

    client, _ = staff("supervisor")
    body = page(client.get("/staff/supervise/institutions"))
    assert body.index("Karaganda police IVS") < body.index("Байконыр")
    assert "Torture and ill-treatment: 3" in " ".join(body.split())
    assert "Школа" not in body
    rows, _ = institutions.ranking(
        institutions.Filter(datetime.now(TZ).date() - timedelta(days=364), datetime.now(TZ).date()), TZ
    )
    assert [(r.institution.id, r.cases, r.by_category) for r in rows] == [
        (register["ivs"].id, 4, {"torture": 3, "justice": 1}),
        (register["police"].id, 1, {"other": 1}),
    ]
    assert "Байконыр" not in page(client.get("/staff/supervise/institutions?kind=ivs"))
    assert "Karaganda police IVS" not in page(client.get("/staff/supervise/institutions?region=astana"))
    only = page(client.get("/staff/supervise/institutions?category=justice"))
    assert "Karaganda police IVS" in only and "Байконыр" not in only
    since = (datetime.now(TZ).date() - timedelta(days=500)).isoformat()
    assert "Школа" in page(client.get(f"/staff/supervise/institutions?since={since}"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-05-01&until=2026-04-01", "The period ends before it starts."),
        ("since=1 May", "Write dates as YYYY-MM-DD."),
        ("since=2001-01-01&until=2026-01-01", "Choose a period of at most ten years."),
        ("kind=prison", "Choose the type of institution."),
        ("category=nonsense", "Choose a category from the list."),
    ],
)
def test_a_bad_period_or_filter_is_refused_with_a_clear_message(app, staff, query, message):
    client, _ = staff("supervisor")
    response = client.get(f"/staff/supervise/institutions?{query}")
    assert response.status_code == 400 and message in page(response)
    assert 'name="since"' in page(response)  # the filters are there to correct
    csv_response = client.get(f"/staff/supervise/institutions.csv?{query}")
    assert csv_response.status_code == 400 and message in csv_response.get_data(as_text=True)


def test_the_ranking_pages_by_count_and_id_without_repeating(app, register, make_case, make_user, keeper):
    supervisor = make_user("supervisor")
    extra = [commands.create_institution(f"Колония № {n}", {}, "colony", "astana", by=keeper) for n in range(3)]
    everyone = [register["ivs"], register["police"], register["school"], *extra]
    for n, inst in enumerate(everyone):
        for _ in range(1 + n % 2):
            commands.link_institution(make_case().case.id, supervisor, inst.id)
    today = datetime.now(TZ).date()
    f = institutions.Filter(today - timedelta(days=30), today)
    seen, after = [], None
    while True:
        rows, after = institutions.ranking(f, TZ, after, limit=2)
        seen.extend((r.cases, r.institution.id) for r in rows)
        if after is None:
            break
    assert seen == sorted(((1 + n % 2, i.id) for n, i in enumerate(everyone)), key=lambda t: (-t[0], t[1]))
    assert institutions.parse_cursor("2-17") == (2, 17) and institutions.parse_cursor("x-1") is None


def test_the_ranking_as_csv(app, staff, register, make_case, make_user, keeper):
    sneaky = commands.create_institution("=HYPERLINK(1)", {}, "other", "astana", by=keeper)
    commands.link_institution(make_case(category="torture").case.id, make_user("supervisor"), sneaky.id)
    client, _ = staff("supervisor")
    response = client.get("/staff/supervise/institutions.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["Institution", "Type", "Region", "Cases"]
    assert rows[1][:4] == ["'=HYPERLINK(1)", "Other institution", "Astana (city)", "1"]
    assert rows[1][rows[0].index("Torture and ill-treatment")] == "1"


def test_a_switched_off_institution_stays_on_its_cases_and_is_offered_no_more(
    app, staff, register, make_case, make_user, keeper
):
    case = make_case(place_description=PLACE).case
    commands.link_institution(case.id, make_user("supervisor"), register["ivs"].id)
    commands.set_institution_active(register["ivs"].id, False, by=keeper)
    commands.set_institution_active(register["police"].id, False, by=keeper)
    client, _ = staff("caseworker", ["general"])
    body = page(client.get(f"/staff/cases/{case.id}"))
    panel = body.split('id="institutions-title"')[1].split("</section>")[0]
    assert "Karaganda police IVS</a> (switched off)" in panel
    assert f'href="/staff/institutions/{register["ivs"].id}"' in panel
    assert "Suggested from the place" not in panel  # both institutions it names are off
    chooser = panel.split('id="institution-choice"')[1]
    assert "Школа-гимназия № 12" in chooser and "Байконыр" not in chooser and IVS not in chooser
    # Unlinking a switched-off institution still works; linking it again does not.
    commands.unlink_institution(case.id, make_user("supervisor"), register["ivs"].id)
    with pytest.raises(commands.CommandError):
        commands.link_institution(case.id, make_user("supervisor"), register["ivs"].id)


def test_the_ranking_page_links_to_the_next_page_with_its_filters(
    app, staff, register, make_case, make_user, monkeypatch
):
    monkeypatch.setattr(institutions, "PAGE", 1)
    supervisor = make_user("supervisor")
    for _ in range(2):
        commands.link_institution(make_case().case.id, supervisor, register["police"].id)
    commands.link_institution(make_case().case.id, supervisor, register["school"].id)
    commands.link_institution(make_case(category="women").case.id, supervisor, register["ivs"].id)
    client, _ = staff("supervisor")
    first = page(client.get("/staff/supervise/institutions?region=astana"))
    assert "Байконыр" in first and "Школа" not in first
    [href] = re.findall(r'href="([^"]*after=[^"]*)"', first)
    second = page(client.get(href))  # already unescaped (and "&reg" would be read as an entity)
    assert "Школа" in second and "Байконыр" not in second and "Karaganda police IVS" not in second
    assert "Next institutions" not in second
