"""Searching cases as staff: words inside encrypted narratives, places and messages through the
blind index, exact contacts, references — and never a case one may not see."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from cases import commands
from cases.models import Event, SearchTerm
from storage import db
from tests.helpers import page

KAZAKH = "Полициядағы қызметкерлер ағамды ұрып-соқты, ИВС-та ұстады."
RUSSIAN = "Сотрудники полиции избили моего брата в изоляторе временного содержания."


RESULT = re.compile(r'<a href="/staff/cases/\d+">(SHG-\d{4}-\d{6})</a>')


def found(client, query: str) -> list[str]:
    """The references listed as results (the query itself is echoed elsewhere on the page)."""
    return RESULT.findall(page(client.get("/staff/search", query_string={"q": query})))


def test_a_case_worker_finds_their_queues_cases_by_words_in_three_languages(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    kazakh = make_case(narrative=KAZAKH).case
    russian = make_case(narrative=RUSSIAN, place_description="Караганда, ИВС").case
    english = make_case(narrative="They were beating my brother in the police station for two days.").case
    assert found(client, "полициядағы") == [kazakh.reference]  # Kazakh ending stripped
    assert found(client, "полиция") == [russian.reference, kazakh.reference]  # полиции too
    assert found(client, "избил") == [russian.reference]  # Russian stem: избили
    assert found(client, "Караганда") == [russian.reference]  # the place is indexed too
    assert found(client, "BEAT police") == [english.reference]
    assert found(client, "ивс") == [russian.reference, kazakh.reference]  # newest first
    assert found(client, "избил прокурор") == []  # every word must match
    assert found(client, kazakh.reference.lower()) == [kazakh.reference]


def test_another_queues_case_is_never_found_nor_counted(app, make_case, staff):
    mine = make_case(narrative=RUSSIAN).case
    theirs = make_case(category="women", narrative=RUSSIAN).case  # routed to the women's queue
    worker, _ = staff("caseworker", ["general"])
    assert found(worker, "избили") == [mine.reference]
    body = page(worker.get("/staff/search", query_string={"q": theirs.reference}))
    assert RESULT.findall(body) == [] and "No case you can see matches" in body
    other, _ = staff("caseworker", ["women"])
    assert found(other, "избили") == [theirs.reference]
    supervisor, _ = staff("supervisor")
    assert found(supervisor, "избили") == [theirs.reference, mine.reference]


def test_notes_and_the_reporters_messages_are_found(app, make_case, staff, make_user):
    client, worker = staff("caseworker", ["general"])
    case = make_case(narrative="Something happened that violates rights, described in detail.").case
    assert found(client, "Шымкент") == []
    commands.add_note(case.id, worker, "Позвонили в акимат Шымкента.")
    commands.send_message(case.id, worker, "Please tell us the name of the facility.")
    assert found(client, "Шымкент") == [case.reference]
    assert found(client, "facility") == [case.reference]


def test_exact_contact_details_find_the_case(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    case = make_case(contact_email="Asel.K@example.org", contact_phone="+77011234567").case
    assert found(client, "asel.k@example.org") == [case.reference]
    assert found(client, "+7 701 123 45 67") == [case.reference]
    assert found(client, "asel@example.org") == []


def test_results_page_on_newest_first(app, make_case, staff):
    client, _ = staff("supervisor")
    references = [make_case(narrative=RUSSIAN).case.reference for _ in range(27)]
    first = page(client.get("/staff/search", query_string={"q": "избили"}))
    assert RESULT.findall(first) == references[::-1][:25]
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first)
    second = page(client.get(older.group(1).replace("&amp;", "&")))
    assert RESULT.findall(second) == references[::-1][25:]


def test_retention_removes_a_cases_terms(app, make_case, make_user, staff):
    client, _ = staff("supervisor")
    worker = make_user("caseworker", ["general"])
    case = make_case(narrative=RUSSIAN).case
    assert db.session.scalar(select(func.count()).where(SearchTerm.case_id == case.id)) > 5
    commands.change_status(case.id, worker, "rejected", reason="Outside our mandate.")
    assert commands.destroy_content(case.id, datetime.now(UTC))
    assert db.session.scalar(select(func.count()).where(SearchTerm.case_id == case.id)) == 0
    assert found(client, "избили") == []


def test_the_index_is_rebuilt_by_a_command_and_under_a_new_key(app, make_case, staff, runner):
    client, worker = staff("caseworker", ["general"])
    case = make_case(narrative=RUSSIAN).case
    commands.add_note(case.id, worker, "Звонил адвокат Ержанов.")
    db.session.execute(delete(SearchTerm))  # as after an upgrade from before the index
    db.session.commit()
    assert found(client, "избили") == []
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0 and "rebuilt for 1 case(s)" in result.output, result.output
    assert found(client, "избили") == [case.reference] and found(client, "Ержанов") == [case.reference]
    old = set(db.session.scalars(select(SearchTerm.term)))
    result = runner.invoke(args=["search", "rebuild", "--new-key"])
    assert result.exit_code == 0, result.output
    assert set(db.session.scalars(select(SearchTerm.term))).isdisjoint(old)
    assert found(client, "адвокат") == [case.reference]
    events = db.session.scalars(select(Event).where(Event.action == "search_rebuilt")).all()
    assert len(events) == 2 and events[0].new_value != events[1].new_value


def test_the_search_box_is_on_the_staff_home_page(app, staff):
    client, _ = staff("caseworker", ["general"])
    body = page(client.get("/staff/"))
    assert 'action="/staff/search"' in body and 'role="search"' in body
