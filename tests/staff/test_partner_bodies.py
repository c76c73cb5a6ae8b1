"""The admin page of partner bodies: add (a refusal keeps what was typed), edit, switch off,
delete only a body no referral names; other roles are refused."""

from __future__ import annotations

from sqlalchemy import select

from cases import commands
from cases.models import PartnerBody
from cases.vocabulary import Action
from storage import db
from tests.helpers import age_session, page, system_events

FORM = {
    "name_kk": "Демо прокуратура (ойдан шығарылған)",
    "name_ru": "Демо прокуратура (вымышленная)",
    "name_en": "Demo Prosecutor's Office (fictional)",
    "kind": "state_body",
    "region": "almaty",
    "contact": "Demo street 1, Almaty (fictional)",
    "categories": ["torture", "justice"],
    "answer_days": "15",
}


def test_add_edit_and_switch_off(app, admin):
    client, me = admin
    missing = client.post("/staff/admin/partners", data={**FORM, "name_ru": "", "answer_days": "15"})
    assert missing.status_code == 422
    text = page(missing)
    assert "Give the body's name in Kazakh, Russian and English." in text and FORM["contact"] in text
    assert db.session.scalar(select(PartnerBody.id)) is None
    wrong = client.post("/staff/admin/partners", data={**FORM, "answer_days": "500"})
    assert wrong.status_code == 422 and "Use a whole number from 1 to 120" in page(wrong)
    assert client.post("/staff/admin/partners", data=FORM).status_code == 302
    body = db.session.scalar(select(PartnerBody))
    assert (body.name_en, body.kind, body.region, body.answer_days) == (FORM["name_en"], "state_body", "almaty", 15)
    assert body.category_slugs == ["justice", "torture"]
    assert system_events(Action.PARTNER_CREATED)[-1].actor_id == me.id
    listing = page(client.get("/staff/admin/partners"))
    assert FORM["name_en"] in listing and "State body" in listing
    edit = client.get(f"/staff/admin/partners/{body.id}")
    assert FORM["contact"] in page(edit)
    changed = {**FORM, "answer_days": "20", "categories": []}
    assert client.post(f"/staff/admin/partners/{body.id}", data=changed).status_code == 302
    db.session.expire_all()
    assert db.session.get(PartnerBody, body.id).answer_days == 20
    assert db.session.get(PartnerBody, body.id).category_slugs == []
    assert client.post(f"/staff/admin/partners/{body.id}/toggle").status_code == 302
    db.session.expire_all()
    assert db.session.get(PartnerBody, body.id).active is False


def test_a_long_name_typed_over_several_lines_is_kept_on_one_line(app, admin):
    """The names are text areas (long official names stay readable on a phone); what is stored is
    one line, with the line breaks and runs of spaces of the typing made single spaces."""
    client, _me = admin
    typed = {**FORM, "name_ru": "Демо-уполномоченный\r\nпо правам   ребёнка\n(вымышленный)"}
    assert client.post("/staff/admin/partners", data=typed).status_code == 302
    body = db.session.scalar(select(PartnerBody))
    assert body.name_ru == "Демо-уполномоченный по правам ребёнка (вымышленный)"


def test_delete_is_refused_while_a_referral_names_the_body(app, admin, investigating, make_partner):
    client, _me = admin
    used, spare = make_partner("Used (fictional)"), make_partner("Spare (fictional)")
    case, worker = investigating()
    commands.prepare_referral(case.id, worker, commands.Draft(used.id, "deidentified", ["category"], "en", False))
    response = client.post(f"/staff/admin/partners/{used.id}/delete", follow_redirects=True)
    assert "Referrals name this body (1), so it cannot be deleted: switch it off instead." in page(response)
    assert db.session.get(PartnerBody, used.id) is not None
    client.post(f"/staff/admin/partners/{spare.id}/delete")
    db.session.expire_all()
    assert db.session.get(PartnerBody, spare.id) is None


def test_changes_need_the_password_again(app, admin):
    client, me = admin
    age_session(me)
    assert client.get("/staff/admin/partners").status_code == 200  # reading does not
    response = client.post("/staff/admin/partners", data=FORM)
    assert response.status_code == 302 and "/staff/admin/reauth" in response.headers["Location"]
    assert db.session.scalar(select(PartnerBody.id)) is None


def test_only_admins(app, staff):
    for role in ("caseworker", "supervisor"):
        client, _user = staff(role)
        assert client.get("/staff/admin/partners").status_code == 403
        assert client.post("/staff/admin/partners", data=FORM).status_code == 403
    assert db.session.scalar(select(PartnerBody.id)) is None
