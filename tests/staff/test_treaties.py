"""Treaty provisions for statistics: seeded for review, kept by administrators (audited), and
counted in the de-identified tables — a report under each provision of its category."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases import stats
from cases.disclosure import TOTAL
from cases.models import CategoryProvision, Event, TreatyProvision
from storage import db
from tests.helpers import page, set_case, signed_in


def provision(code: str) -> TreatyProvision:
    treaty, _, article = code.partition(" art. ")
    return db.session.scalar(
        select(TreatyProvision).where(TreatyProvision.treaty == treaty, TreatyProvision.article == article)
    )


def codes_of(category: str) -> set[str]:
    rows = db.session.scalars(
        select(TreatyProvision)
        .join(CategoryProvision, CategoryProvision.provision_id == TreatyProvision.id)
        .where(CategoryProvision.category == category)
    )
    return {p.code for p in rows}


def test_the_starting_mapping_is_seeded(app):
    assert codes_of("torture") == {"CAT art. 2", "CAT art. 16", "ICCPR art. 7"}
    assert codes_of("trafficking") == {"ICCPR art. 8", "CEDAW art. 6", "CRC art. 35"}
    assert codes_of("association") == {"ICCPR art. 21-22"}
    assert codes_of("other") == set()


@pytest.fixture
def admin_client(app, make_user):
    admin = make_user("admin")
    client = signed_in(app, admin)
    client.set_cookie("lang", "en")
    return client, admin


def test_an_admin_adds_a_provision_and_maps_a_category(admin_client):
    client, admin = admin_client
    response = client.post("/staff/admin/treaties/", data={"treaty": "ICESCR", "article": "12", "title": "Health"})
    assert response.status_code == 302
    added = provision("ICESCR art. 12")
    assert added.title == "Health"
    ids = [str(added.id), str(provision("CRPD art. 5").id)]
    assert client.post("/staff/admin/treaties/disability", data={"provision": ids}).status_code == 302
    assert codes_of("disability") == {"ICESCR art. 12", "CRPD art. 5"}
    events = {e.action: e for e in db.session.scalars(select(Event).where(Event.actor_id == admin.id))}
    assert events["provision_added"].new_value == "ICESCR art. 12"
    assert '"new":["CRPD art. 5","ICESCR art. 12"]' in events["provisions_mapped"].details
    body = page(client.get("/staff/admin/treaties/"))
    assert f'id="p-disability-{added.id}" name="provision" value="{added.id}" checked' in body


@pytest.mark.parametrize(
    "form, message",
    [
        ({"treaty": "XYZ", "article": "1", "title": "x"}, "Not a valid choice"),
        ({"treaty": "CAT", "article": "two", "title": "x"}, "Write the article as a number, or a range such as 21-22."),
        ({"treaty": "CAT", "article": "2", "title": "Again"}, "CAT art. 2 is on the list already."),
        ({"treaty": "CAT", "article": "3", "title": ""}, "Fill in this field."),
    ],
)
def test_bad_provisions_are_refused_and_the_form_kept(admin_client, form, message):
    client, _ = admin_client
    response = client.post("/staff/admin/treaties/", data=form)
    body = page(response)
    assert response.status_code == 422 and message in body
    assert f'value="{form["article"]}"' in body


def test_forged_mappings_are_refused(admin_client):
    client, _ = admin_client
    assert client.post("/staff/admin/treaties/nonsense", data={"provision": ["1"]}).status_code == 404
    assert client.post("/staff/admin/treaties/women", data={"provision": ["999999"]}).status_code == 404
    assert codes_of("women") == {"CEDAW art. 2"}


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_only_admins_keep_the_provisions(app, login_as, role):
    client, _ = login_as(role)
    assert client.get("/staff/admin/treaties/").status_code == 403
    assert client.post("/staff/admin/treaties/women", data={"provision": []}).status_code == 403


def test_statistics_count_a_report_under_each_provision_of_its_category(app, make_case):
    at = datetime(2026, 2, 10, 6, tzinfo=UTC)
    for category in ["torture"] * 6 + ["trafficking"] * 5 + ["other"] * 9:
        set_case(make_case(category=category).case.id, created_at=at)
    req = stats.Request("provision", "outcome", date(2026, 1, 1), date(2026, 3, 31))
    table = stats.cross_table(req, ZoneInfo("Asia/Almaty"), threshold=1, round_to=None)
    p = table.protected
    by_code = {label: key for key, label in table.rows}
    assert p.value(by_code["CAT art. 2"], "open") == 6 and p.value(by_code["ICCPR art. 7"], TOTAL) == 6
    assert p.value(by_code["CRC art. 35"], "open") == 5
    assert p.value(by_code["CRPD art. 5"], TOTAL) == 0
    assert p.value(TOTAL, TOTAL) == 6 * 3 + 5 * 3  # mentions, not reports; "other" maps to none
    protected = stats.cross_table(req, ZoneInfo("Asia/Almaty"), threshold=7, round_to=None).protected
    assert protected.value(by_code["CAT art. 2"], "open") is None  # 6 < 7


def test_the_statistics_page_explains_the_provision_count(app, login_as, make_case):
    client, _ = login_as("supervisor")
    client.set_cookie("lang", "en")
    body = page(client.get("/staff/supervise/statistics?rows=provision&cols=outcome"))
    assert "CEDAW art. 2" in body and "count mentions, not reports" in body
