"""Reply templates: supervisors write, change and deactivate them (each change audited in the
system chain); case workers start a message from one, filled in for the case, without JavaScript."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from cases import audit, commands
from cases.models import Event, Message, ReplyTemplate
from cases.replies import BODY_MAX
from storage import db
from tests.helpers import HtmlPage, page

BODY = "Your report {reference} is with {case_worker}. We will answer by {due_date}."
NEW = {"name": "Acknowledgement", "language": "en", "body": BODY}


def system_events(action: str) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == action)
            .order_by(Event.id)
            .execution_options(populate_existing=True)
        )
    )


def templates() -> list[ReplyTemplate]:
    return list(
        db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.id).execution_options(populate_existing=True))
    )


@pytest.fixture
def supervisor(staff):
    return staff("supervisor")


def make_template(by, name="Acknowledgement", language="en", body=BODY) -> ReplyTemplate:
    return commands.create_template(name, language, body, by)


# --- supervisors manage them ------------------------------------------------------------------


def test_a_supervisor_creates_a_template(app, supervisor):
    client, me = supervisor
    assert "{due_date}" in page(client.get("/staff/supervise/templates/new"))  # the placeholders are explained
    response = client.post("/staff/supervise/templates/new", data=NEW, follow_redirects=True)
    assert "Template saved." in page(response) and "Acknowledgement" in page(response)
    [row] = templates()
    assert (row.name, row.language, row.body, row.active) == ("Acknowledgement", "en", BODY, True)
    assert row.created_by == row.updated_by == me.id
    [event] = system_events("template_created")
    assert (event.actor_id, event.new_value) == (me.id, "Acknowledgement")
    assert json.loads(event.details) == {"id": row.id, "language": "en"}


def test_a_supervisor_edits_a_template_and_the_change_is_recorded(app, supervisor):
    client, me = supervisor
    row = make_template(me)
    assert BODY in page(client.get(f"/staff/supervise/templates/{row.id}"))
    changed = {"name": "Получение", "language": "ru", "body": "Ваше обращение {reference} получено."}
    response = client.post(f"/staff/supervise/templates/{row.id}", data=changed)
    assert response.status_code == 302
    [row] = templates()
    assert (row.name, row.language, row.body) == (changed["name"], "ru", changed["body"])
    [event] = system_events("template_changed")
    assert (event.old_value, event.new_value, event.actor_id) == ("Acknowledgement", "Получение", me.id)
    assert json.loads(event.details) == {"id": row.id, "language": "ru", "changed": ["name", "language", "body"]}
    # Saved again unchanged: nothing new in the trail.
    client.post(f"/staff/supervise/templates/{row.id}", data=changed)
    assert len(system_events("template_changed")) == 1


def test_a_supervisor_deactivates_a_template_and_offers_it_again(app, supervisor, make_case):
    client, me = supervisor
    row = make_template(me)
    case = make_case().case
    response = client.post(f"/staff/supervise/templates/{row.id}/toggle", follow_redirects=True)
    assert "Template deactivated" in page(response)
    assert templates()[0].active is False
    assert "Acknowledgement" not in page(client.get(f"/staff/cases/{case.id}"))  # no longer offered
    client.post(f"/staff/supervise/templates/{row.id}/toggle")
    assert templates()[0].active is True
    events = system_events("template_toggled")
    assert [json.loads(e.details)["active"] for e in events] == [False, True]
    assert {e.actor_id for e in events} == {me.id}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**NEW, "body": "Dear {name}, your case {reference} is {Status}."}, "Unknown placeholders: {name}, {Status}."),
        ({**NEW, "body": "x" * (BODY_MAX + 1)}, f"Write at most {BODY_MAX} characters."),
        ({**NEW, "body": "   "}, "Write the text of the template."),
        ({**NEW, "name": ""}, "Fill in this field."),
        ({**NEW, "language": "de"}, "Not a valid choice."),
        ({**NEW, "language": ""}, "Choose the template's language."),
    ],
)
def test_bad_templates_are_refused_with_a_clear_message_and_nothing_typed_is_lost(app, supervisor, data, message):
    client, _ = supervisor
    response = client.post("/staff/supervise/templates/new", data=data)
    body = page(response)
    assert response.status_code == 422
    assert message in body and 'id="error-summary"' in body
    form = HtmlPage(response.get_data(as_text=True))
    assert form.value("name") == data["name"] and form.value("body") == data["body"]
    assert templates() == [] and system_events("template_created") == []


def test_a_name_is_used_once_per_language(app, supervisor):
    client, me = supervisor
    make_template(me)
    response = client.post("/staff/supervise/templates/new", data=NEW)
    assert response.status_code == 422 and "Another template in this language has this name." in page(response)
    assert client.post("/staff/supervise/templates/new", data={**NEW, "language": "kk"}).status_code == 302
    assert len(templates()) == 2


def test_case_workers_cannot_manage_templates(app, staff, supervisor):
    _, boss = supervisor
    row = make_template(boss)
    client, worker = staff("caseworker", ["general"])
    for method, path, data in (
        ("get", "/staff/supervise/templates", None),
        ("get", "/staff/supervise/templates/new", None),
        ("post", "/staff/supervise/templates/new", NEW),
        ("get", f"/staff/supervise/templates/{row.id}", None),
        ("post", f"/staff/supervise/templates/{row.id}", {**NEW, "name": "Hijacked"}),
        ("post", f"/staff/supervise/templates/{row.id}/toggle", {}),
    ):
        assert getattr(client, method)(path, data=data).status_code == 403, path
    [row] = templates()
    assert (row.name, row.active, len(system_events("template_changed"))) == ("Acknowledgement", True, 0)
    with pytest.raises(commands.Forbidden):  # the command refuses too, whoever calls it
        commands.create_template("Mine", "en", "Hello", worker)


def test_an_unknown_template_is_404(app, supervisor):
    client, _ = supervisor
    assert client.get("/staff/supervise/templates/999").status_code == 404
    assert client.post("/staff/supervise/templates/999", data=NEW).status_code == 404
    assert client.post("/staff/supervise/templates/999/toggle").status_code == 404
    assert client.get("/staff/supervise/templates/99999999999999999999").status_code == 404


# --- case workers use them -------------------------------------------------------------------


def test_the_reporters_language_comes_first_and_is_chosen(app, staff, supervisor, make_case):
    _, boss = supervisor
    make_template(boss, "Acknowledgement", "en")
    russian = make_template(boss, "Подтверждение", "ru", "Ваше обращение {reference} получено.")
    case = make_case(language="ru").case
    client, _ = staff("caseworker", ["general"])
    body = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    form = HtmlPage(body)
    assert form.value("template") == str(russian.id)
    assert body.index("Подтверждение (Русский)") < body.index("Acknowledgement (English)")
    assert "Insert template" in page(client.get(f"/staff/cases/{case.id}"))


def test_a_case_worker_inserts_a_template_below_what_they_typed(app, staff, supervisor, make_case):
    _, boss = supervisor
    row = make_template(boss)
    case = make_case().case
    client, worker = staff("caseworker", ["general"])
    worker.name = "Aigerim Nurlanovna"
    db.session.commit()
    typed = "Thank you for writing to us."
    events_before = len(list(db.session.scalars(select(Event.id))))
    response = client.post(
        f"/staff/cases/{case.id}/messages/template", data={"kind": "note", "body": typed, "template": str(row.id)}
    )
    assert response.status_code == 200
    form = HtmlPage(response.get_data(as_text=True))
    filled = form.value("body")
    assert filled.startswith(typed + "\n\n")
    assert f"Your report {case.reference} is with Aigerim. We will answer by " in filled
    assert "{" not in filled
    assert form.value("kind") == "to_reporter" and form.value("template_id") == str(row.id)
    assert len(list(db.session.scalars(select(Event.id)))) == events_before  # nothing stored, not even a view
    assert db.session.scalar(select(Message.id)) is None

    # Sent as it is: an ordinary message, encrypted at rest, its event naming the template.
    client.post(
        f"/staff/cases/{case.id}/messages", data={"kind": "to_reporter", "body": filled, "template_id": str(row.id)}
    )
    message = db.session.scalar(select(Message).execution_options(populate_existing=True))
    assert message.kind == "to_reporter" and message.body == filled.strip()
    raw = db.session.scalar(text("SELECT body FROM messages WHERE id = :id"), {"id": message.id})
    assert b"Aigerim" not in bytes(raw) and case.reference.encode() not in bytes(raw)
    sent = db.session.scalar(select(Event).where(Event.chain_id == case.id, Event.action == "message_sent"))
    assert json.loads(sent.details) == {"template": row.id}


def test_a_forged_or_deactivated_template_inserts_nothing(app, staff, supervisor, make_case):
    _, boss = supervisor
    row = make_template(boss)
    commands.toggle_template(row.id, boss)
    case = make_case().case
    client, _ = staff("caseworker", ["general"])
    for forged in (str(row.id), "999", "x", ""):
        response = client.post(
            f"/staff/cases/{case.id}/messages/template", data={"kind": "note", "body": "Kept", "template": forged}
        )
        assert response.status_code == 422
        assert "Choose one of the templates offered." in page(response)
        assert HtmlPage(response.get_data(as_text=True)).value("body") == "Kept"
    # A template id sent with a message that names no template is not recorded.
    client.post(f"/staff/cases/{case.id}/messages", data={"kind": "to_reporter", "body": "Hi", "template_id": "999"})
    sent = db.session.scalar(select(Event).where(Event.chain_id == case.id, Event.action == "message_sent"))
    assert sent.details is None


def test_another_queues_case_takes_no_template(app, staff, supervisor, make_case):
    _, boss = supervisor
    row = make_template(boss)
    hidden = make_case(category="women").case
    client, _ = staff("caseworker", ["general"])
    response = client.post(f"/staff/cases/{hidden.id}/messages/template", data={"template": str(row.id)})
    assert response.status_code == 404 and hidden.reference not in page(response)
