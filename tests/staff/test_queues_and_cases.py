"""Staff pages: home counts, the queue page (order, filters, search, pagination), the paused
due clock and the case page."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cases import commands, queries, triage
from cases.commands import unit
from cases.models import Case, Queue
from cases.vocabulary import Priority
from storage import db
from tests.helpers import REFERENCE_RE, Clock, chain, page, set_case


def refs(response) -> list[str]:
    """References of the case rows, in page order."""
    links = re.compile(r'<a href="/staff/cases/\d+">(SHG-\d{4}-\d{6})</a>')
    return [r for body in re.findall(r"<tbody>(.*?)</tbody>", page(response), re.S) for r in links.findall(body)]


def general_id() -> int:
    return db.session.scalar(select(Queue.id).where(Queue.slug == "general"))


# --- home -----------------------------------------------------------------------


def test_home_shows_counts_of_my_queues_and_my_cases(app, make_case, staff):
    client, me = staff("caseworker", ["general"])
    now = datetime.now(UTC)
    a, b, c, d = (make_case().case for _ in range(4))
    make_case(category="women")  # another queue: not counted here
    set_case(a.id, priority=Priority.URGENT)
    set_case(b.id, due_at=now - timedelta(hours=1))  # overdue
    set_case(c.id, assignee_id=me.id)
    set_case(d.id, status="closed", is_open=False, finished_at=now)  # not open
    body = page(client.get("/staff/"))
    row = re.search(r"General intake</a></th>(.*?)</tr>", body, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["3", "2", "1", "1"]  # open, unassigned, overdue, urgent
    assert "Women" not in body  # not a member of that queue
    mine = body.split("Cases assigned to me")[1]
    assert REFERENCE_RE.findall(mine) == [c.reference]


def test_supervisor_home_lists_every_active_queue(app, staff):
    client, _ = staff("supervisor")
    body = page(client.get("/staff/"))
    for name in db.session.scalars(select(Queue.name).where(Queue.active.is_(True))):
        assert name in body


def test_counts_are_capped(app, make_case, monkeypatch):
    monkeypatch.setattr(triage, "COUNT_CAP", 3)
    for _ in range(5):
        make_case()
    q = db.session.get(Queue, general_id())
    assert triage.queue_summary(q, datetime.now(UTC)).open == 4  # COUNT_CAP + 1 means "more than the cap"


# --- queue page -------------------------------------------------------------------


def test_queue_orders_urgent_first_then_due_date_then_age(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    now = datetime.now(UTC)
    cases = [make_case().case for _ in range(6)]
    # (priority, due in hours) per case, in creation order (= age).
    plan = [
        (Priority.LOW, 1),
        (Priority.NORMAL, 5),
        (Priority.URGENT, 30),
        (Priority.NORMAL, 2),
        (Priority.URGENT, 3),
        (Priority.NORMAL, 2),
    ]
    for case, (prio, hours) in zip(cases, plan, strict=True):
        set_case(case.id, priority=prio, due_at=now + timedelta(hours=hours))
    expected = [cases[i].reference for i in (4, 2, 3, 5, 1, 0)]  # same due date: the older case first
    assert refs(client.get("/staff/queues/general")) == expected


@pytest.fixture
def mixed_queue(app, make_case, staff):
    client, me = staff("caseworker", ["general"])
    _, other = staff("caseworker", ["general"])
    now = datetime.now(UTC)
    c = {name: make_case().case for name in ("new_mine", "triage_other", "overdue", "awaiting", "closed", "answered")}
    set_case(c["new_mine"].id, assignee_id=me.id)
    set_case(c["triage_other"].id, status="triage", assignee_id=other.id)
    set_case(c["overdue"].id, status="investigating", due_at=now - timedelta(days=1))
    # Waiting for the reporter: its due date has passed, but the clock is paused, so it is not overdue.
    set_case(c["awaiting"].id, status="awaiting_info", due_at=now - timedelta(days=2), paused_at=now)
    set_case(c["closed"].id, status="closed", is_open=False, finished_at=now, due_at=now - timedelta(days=3))
    # Investigating past its due date, but the reporter was answered in time: that clock has stopped.
    set_case(
        c["answered"].id,
        status="investigating",
        due_at=now - timedelta(days=1),
        first_response_at=now - timedelta(days=2),
    )
    return client, {k: v.reference for k, v in c.items()}


QUEUE_FILTERS = [
    ("", {"new_mine", "triage_other", "overdue", "awaiting", "answered"}),
    ("?status=all", {"new_mine", "triage_other", "overdue", "awaiting", "closed", "answered"}),
    ("?status=triage", {"triage_other"}),
    ("?status=closed", {"closed"}),
    ("?who=me", {"new_mine"}),
    ("?who=unassigned", {"overdue", "awaiting", "answered"}),
    ("?who=anyone&status=all", {"new_mine", "triage_other", "overdue", "awaiting", "closed", "answered"}),
    ("?overdue=1", {"overdue"}),
    ("?overdue=1&status=all", {"overdue"}),
    ("?status=nonsense", {"new_mine", "triage_other", "overdue", "awaiting", "answered"}),  # unknown: the default
]


def test_queue_filters(mixed_queue):
    client, names = mixed_queue
    for query, expected in QUEUE_FILTERS:
        response = client.get("/staff/queues/general" + query)
        assert response.status_code == 200
        assert set(refs(response)) == {names[n] for n in expected}, query


def test_overdue_is_shown_plainly(mixed_queue):
    client, names = mixed_queue
    body = page(client.get("/staff/queues/general?overdue=1"))
    assert '<strong class="overdue">late by' in body


def test_search_by_reference_opens_the_case(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    case = make_case().case
    response = client.get(f"/staff/queues/general?ref={case.reference.lower()}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{case.id}")


def test_search_does_not_reveal_cases_of_other_queues(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    hidden = make_case(category="women").case
    missing = client.get("/staff/queues/general?ref=SHG-2000-999999")
    other = client.get(f"/staff/queues/general?ref={hidden.reference}")
    assert missing.status_code == other.status_code == 200
    assert "No case with reference SHG-2000-999999 in your queues." in page(missing)
    assert f"No case with reference {hidden.reference} in your queues." in page(other)


def test_pagination_pages_are_disjoint_and_cover_every_case(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    now = datetime.now(UTC)
    made = [make_case().case for _ in range(123)]
    # Many cases share a priority and a due date, as cases filed in the same minute do.
    for i, case in enumerate(made):
        set_case(case.id, False, priority=i % 3 + 1, due_at=now + timedelta(hours=i % 4, microseconds=7 * (i % 5)))
    db.session.commit()
    pages, url = [], "/staff/queues/general"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(refs(response))
        found = re.search(r'href="([^"]*after=[^"]*)">Next page', response.get_data(as_text=True))
        url = html.unescape(found.group(1)) if found else None
        assert len(pages) < 10
    assert [len(p) for p in pages] == [50, 50, 23]
    seen = [r for p in pages for r in p]
    assert len(seen) == len(set(seen)) == 123
    assert set(seen) == {c.reference for c in made}
    expected = sorted(made, key=lambda c: (c.priority, c.due_at, c.id))
    assert seen == [c.reference for c in expected]


def test_pagination_cursor_survives_microsecond_due_dates(app, make_case):
    """The cursor must round-trip the due date exactly (a float timestamp loses microseconds)."""
    base = datetime(2031, 3, 14, 9, 26, 53, tzinfo=UTC)
    made = [make_case().case for _ in range(queries.PAGE_SIZE + 5)]
    for i, case in enumerate(made):
        set_case(case.id, False, priority=2, due_at=base + timedelta(microseconds=123457 + (i // 2)))
    db.session.commit()
    from cases.models import User

    me = User(id=0, email="x", name="x", role="supervisor")
    first, cursor = triage.queue_page(general_id(), triage.QueueFilter(), me, None, datetime.now(UTC))
    second, _ = triage.queue_page(general_id(), triage.QueueFilter(), me, cursor, datetime.now(UTC))
    assert len(first) == queries.PAGE_SIZE
    assert {c.id for c in first}.isdisjoint({c.id for c in second})
    assert len(first) + len(second) == len(made)


@pytest.mark.parametrize("cursor", ["garbage", "1.2", "a.b.c", "9" * 40 + ".1.1"])
def test_bad_cursor_is_ignored(app, make_case, staff, cursor):
    client, _ = staff("caseworker", ["general"])
    case = make_case().case
    response = client.get(f"/staff/queues/general?after={cursor}")
    assert response.status_code == 200
    assert case.reference in page(response)


# --- the due clock pauses while awaiting the reporter --------------------------------


def test_awaiting_info_pauses_the_due_clock(app, make_case, make_user, monkeypatch):
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))  # a Monday
    monkeypatch.setattr(unit, "utcnow", clock)
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    due = case.due_at
    assert due == datetime(2030, 1, 10, 9, 0, tzinfo=UTC)  # three working days
    commands.change_status(case.id, worker, "triage")
    commands.change_status(case.id, worker, "investigating")
    clock.now += timedelta(hours=2)
    commands.change_status(case.id, worker, "awaiting_info")
    # Five days of silence from the reporter: past the due date, but not overdue.
    clock.now += timedelta(days=5)
    db.session.expire_all()
    waiting = db.session.get(Case, case.id)
    assert waiting.paused_at == datetime(2030, 1, 7, 11, 0, tzinfo=UTC)
    q = db.session.get(Queue, general_id())
    assert triage.queue_summary(q, clock.now).overdue == 0
    me = make_user("supervisor")
    overdue, _ = triage.queue_page(q.id, triage.QueueFilter(overdue=True), me, None, clock.now)
    assert overdue == []
    commands.change_status(case.id, worker, "investigating")
    db.session.expire_all()
    resumed = db.session.get(Case, case.id)
    assert resumed.paused_at is None
    assert resumed.paused_seconds == 5 * 86400
    assert resumed.due_at == due + timedelta(days=5)
    assert triage.queue_summary(q, clock.now).overdue == 0
    clock.now = resumed.due_at + timedelta(seconds=1)
    assert triage.queue_summary(q, clock.now).overdue == 1
    # A priority change keeps the time already spent waiting.
    commands.change_priority(case.id, worker, "high")
    db.session.expire_all()
    assert db.session.get(Case, case.id).due_at == datetime(2030, 1, 10, 9, 0, tzinfo=UTC) + timedelta(days=5)


def test_pausing_twice_adds_both_waits(app, make_case, make_user, monkeypatch):
    clock = Clock(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(unit, "utcnow", clock)
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    due = case.due_at
    for target in ("triage", "investigating"):
        commands.change_status(case.id, worker, target)
    for wait in (timedelta(hours=3), timedelta(days=2)):
        commands.change_status(case.id, worker, "awaiting_info")
        clock.now += wait
        commands.change_status(case.id, worker, "investigating")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.due_at == due + timedelta(days=2, hours=3)
    assert case.paused_seconds == int(timedelta(days=2, hours=3).total_seconds())


def test_case_page_says_the_clock_is_paused(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    case = make_case().case
    set_case(case.id, status="awaiting_info", paused_at=datetime.now(UTC))
    assert "clock paused while awaiting the reporter" in page(client.get(f"/staff/cases/{case.id}"))


# --- the case page ------------------------------------------------------------------


def test_case_page_shows_the_report_and_its_routing(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    case = make_case(
        narrative="The neighbour's child was taken from school without any paperwork.",
        place_description="School No. 5",
        contact_email="reporter@example.net",
    ).case
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "The neighbour's child was taken from school without any paperwork." in body
    assert "School No. 5" in body and "reporter@example.net" in body
    assert case.routing_rule_name in body
    assert "History intact" not in body  # the chain check is for supervisors


def test_staff_page_views_take_no_write_lock(app, make_case, staff):
    """A GET that only reads begins a plain (deferred) transaction: on SQLite it never takes the
    writer lock, so staff browsing does not queue behind reports or each other. Only views that
    record something (the case page's ``viewed`` event) begin as writers."""
    from sqlalchemy import event as sa_event

    import storage

    client, _ = staff("caseworker", ["general"])
    case_id = make_case().case.id
    client.get("/staff/")  # the minute's session refresh, if due, is done here
    begun: list[bool] = []
    listener = lambda _conn: begun.append(storage._write_intent.get())  # noqa: E731
    sa_event.listen(db.engine, "begin", listener)
    try:
        for path in ("/staff/", "/staff/queues/general", "/staff/search?q=rights", "/staff/queues/general?status=all"):
            db.session.remove()  # the test's own app context would otherwise carry one transaction across requests
            begun.clear()
            assert client.get(path).status_code == 200
            assert begun and not any(begun), (path, begun)
        db.session.remove()
        begun.clear()
        assert client.get(f"/staff/cases/{case_id}").status_code == 200
        assert any(begun)  # the view is recorded: a writer
    finally:
        sa_event.remove(db.engine, "begin", listener)


# --- the reporter's news, and views after one's own action ---------------------------------------------------------


def _news(case_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(Case, case_id).reporter_news


def test_new_reply_clears_when_the_assigned_case_worker_opens_the_case(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    boss, _ = staff("supervisor")
    case = make_case().case
    commands.claim(case.id, worker)
    commands.reporter_reply(case.id, "Here is more about what happened.")
    assert "new reply" in page(client.get("/staff/queues/general"))
    boss.get(f"/staff/cases/{case.id}")
    assert _news(case.id), "a supervisor looking in has not answered the reporter"
    client.get(f"/staff/cases/{case.id}")
    assert not _news(case.id)
    assert "new reply" not in page(client.get("/staff/queues/general"))
    view = chain(case.id)[-1]
    assert view.action == "viewed" and view.actor_id == worker.id and json.loads(view.details) == {"news_read": True}


def test_new_reply_clears_when_the_reporter_is_answered_or_the_case_claimed(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    answered, claimed = make_case().case, make_case().case
    for case in (answered, claimed):
        commands.reporter_reply(case.id, "Here is more about what happened.")
    client.post(f"/staff/cases/{answered.id}/messages", data={"kind": "to_reporter", "body": "Thank you, noted."})
    assert not _news(answered.id)
    client.post(f"/staff/cases/{claimed.id}/claim")
    assert not _news(claimed.id)
    assert json.loads(chain(claimed.id)[-1].details) == {"claim": True, "news_read": True}


def test_no_view_is_logged_for_the_page_after_ones_own_action(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    case = make_case().case
    client.get(f"/staff/cases/{case.id}")
    response = client.post(f"/staff/cases/{case.id}/claim", follow_redirects=True)
    assert "You now hold this case." in page(response)
    assert [e.action for e in chain(case.id)] == ["created", "routed", "viewed", "assigned"]
    client.get(f"/staff/cases/{case.id}")  # opening it again is a reading
    assert [e.action for e in chain(case.id)][-1] == "viewed"
    # A refused action did nothing: the page after it is a reading like any other.
    client.post(f"/staff/cases/{case.id}/claim", follow_redirects=True)
    assert [e.action for e in chain(case.id)][-2:] == ["viewed", "viewed"]


# --- the status menu -----------------------------------------------------------------------------------------------

MOVES = {
    "kk": ("Қадамды таңдаңыз", "Алғашқы қарауды бастау", "Қабылдамау (өкілеттіктен тыс немесе негіз жоқ)"),
    "ru": ("Выберите действие", "Начать первичный разбор", "Отклонить (вне компетенции или нет оснований)"),
    "en": ("Choose a move", "Start triage", "Reject (outside mandate or no grounds)"),
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_change_status_needs_an_explicit_choice_and_lists_each_move_once(app, make_case, staff, lang):
    client, _ = staff("caseworker", ["general"])
    client.set_cookie("lang", lang)
    case = make_case().case
    body = page(client.get(f"/staff/cases/{case.id}"))
    menu = re.search(r'<select[^>]*name="target"[^>]*>(.*?)</select>', body, re.S).group(1)
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", menu)
    choose, triage, reject = MOVES[lang]
    assert options[0] == (' value=""', choose)
    assert not any("selected" in attrs for attrs, _label in options)
    assert [label for _attrs, label in options[1:]][0] == triage
    assert options[2][1].startswith(reject + " — ")  # what the move needs is said with it
    for label in (triage, reject):
        assert body.count(label) == 1, label  # the moves are shown once
    # Sending the form as it comes (nothing chosen) changes nothing.
    response = client.post(f"/staff/cases/{case.id}/status", data={"target": "", "version": case.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "new"
    assert [e.action for e in chain(case.id)][-1] == "viewed"


# --- the first response on the case page ---------------------------------------------------------------------------

FIRST_RESPONSE = {
    # (the row's label, met on …, late by …)
    "kk": ("Алғашқы жауап", "берілді", "кешікті"),
    "ru": ("Первый ответ", "Дан ", "с опозданием на"),
    "en": ("First response", "Met on ", "late by"),
}
SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")


def _rows(response) -> dict[str, str]:
    """The case summary's rows: {label: value}."""
    summary = page(response).split('<dl class="summary">', 1)[1].split("</dl>", 1)[0]
    return {
        dt: " ".join(re.sub("<[^>]+>", "", dd).split())
        for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", summary, re.S)
    }


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_case_page_says_when_the_first_response_was_met_and_how_late(app, make_case, staff, lang):
    client, worker = staff("caseworker", ["general"])
    client.set_cookie("lang", lang)
    met_label, met, late_by = FIRST_RESPONSE[lang]
    on_time, late = make_case().case, make_case().case
    for case in (on_time, late):
        commands.send_message(case.id, worker, "We have read your report.")
    set_case(late.id, due_at=late.first_response_at - timedelta(hours=3, seconds=7))
    rows = _rows(client.get(f"/staff/cases/{on_time.id}"))
    assert met in rows[met_label] and late_by not in rows[met_label]
    assert not SECONDS.search(rows[met_label])
    rows = _rows(client.get(f"/staff/cases/{late.id}"))
    assert met in rows[met_label] and late_by in rows[met_label]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_an_open_case_shows_its_due_time_to_the_minute_and_a_finished_one_none(app, make_case, staff, lang):
    client, worker = staff("caseworker", ["general"])
    client.set_cookie("lang", lang)
    label, _met, late_by = FIRST_RESPONSE[lang]
    running, finished = make_case().case, make_case().case
    set_case(running.id, due_at=datetime(2026, 3, 2, 10, 23, 45, tzinfo=UTC))
    set_case(finished.id, status="closed", is_open=False, finished_at=datetime.now(UTC))
    rows = _rows(client.get(f"/staff/cases/{running.id}"))
    assert ":23" in rows[label] and late_by in rows[label]  # long past: late by …
    assert not any(SECONDS.search(value) for value in rows.values())
    rows = _rows(client.get(f"/staff/cases/{finished.id}"))
    assert label not in rows  # closed without a first response: it owes none any more


def test_queue_rows_say_met_and_show_no_due_date_for_finished_cases(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    answered, closed = make_case().case, make_case().case
    commands.send_message(answered.id, worker, "We have read your report.")
    set_case(closed.id, status="closed", is_open=False, finished_at=datetime.now(UTC))
    body = page(client.get("/staff/queues/general?status=all"))
    row = re.search(rf"{answered.reference}.*?</tr>", body, re.S).group(0)
    assert "Reply: met" in row and "Resolve: due" in row
    row = re.search(rf"{closed.reference}.*?</tr>", body, re.S).group(0)
    assert "Reply: —" in row and "due" not in row


# --- small things on the case page --------------------------------------------------------------------------------


def test_internal_notes_are_marked_with_a_drawn_padlock_and_words(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    case = make_case().case
    commands.add_note(case.id, worker, "Called the shelter.")
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "🔒" not in body
    assert re.search(r'<svg class="icon" aria-hidden="true"[^>]*>.*?</svg> Internal note — staff only', body, re.S)
    assert re.search(r'<svg class="icon"[^>]*>.*?</svg> Internal note \(staff only\)', body, re.S)


def test_a_finished_case_shows_no_empty_actions_heading(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    boss, _ = staff("supervisor")
    case = make_case().case
    set_case(case.id, status="closed", is_open=False, finished_at=datetime.now(UTC), assignee_id=worker.id)
    assert 'id="actions-title"' not in page(client.get(f"/staff/cases/{case.id}"))
    assert 'id="actions-title"' in page(boss.get(f"/staff/cases/{case.id}"))  # reopen, legal hold…


def test_a_case_worker_hands_a_case_to_a_colleague_in_the_same_queue(app, make_case, make_user, staff):
    client, me = staff("caseworker", ["general"])
    colleague = make_user("caseworker", ["general"])
    outsider = make_user("caseworker", ["women"])
    case = make_case().case
    commands.claim(case.id, me)
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "Hand to a colleague in this queue" in body and colleague.name in body and outsider.name not in body
    client.post(f"/staff/cases/{case.id}/hand-over", data={"colleague": str(outsider.id), "version": "2"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == me.id  # refused: not in this queue
    response = client.post(
        f"/staff/cases/{case.id}/hand-over", data={"colleague": str(colleague.id), "version": "2", "reason": "Leave"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == colleague.id
    event = chain(case.id)[-1]
    assert (event.action, event.actor_id, event.old_value, event.new_value, event.reason) == (
        "assigned",
        me.id,
        str(me.id),
        str(colleague.id),
        "Leave",
    )


def test_queue_rows_show_what_and_where_to_triage_from(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    narrative = "The director of the orphanage in Taraz locks the children in the cellar at night. " * 3
    case = make_case(narrative=narrative, region="aktobe").case
    row = next(
        r for r in re.findall(r"<tr>.*?</tr>", page(client.get("/staff/queues/general")), re.S) if case.reference in r
    )
    assert "Aktobe Region" in row
    assert "The director of the orphanage in Taraz locks the children" in row and "…" in row
    assert narrative not in row  # an excerpt, not the whole text
    assert re.search(r"<time datetime=\"[^\"]+\" title=\"[^\"]+\">[^<]* ago</time>", row)


def test_queue_filters_by_category_and_region_and_pages_keep_them(app, make_case, staff):
    client, _ = staff("supervisor")
    cases = [
        make_case(category=category, region=region).case
        for category, region in [("expression", "aktobe")] * 3 + [("expression", "astana"), ("other", "aktobe")]
    ]
    slug = cases[0].queue.slug
    in_queue = [c for c in cases if c.queue.slug == slug]

    def expected(category=None, region=None):
        return sorted(c.reference for c in in_queue if category in (None, c.category) and region in (None, c.region))

    listed = refs(client.get(f"/staff/queues/{slug}?category=expression&region=aktobe"))
    assert sorted(listed) == expected("expression", "aktobe") and len(listed) == 3
    assert sorted(refs(client.get(f"/staff/queues/{slug}?region=aktobe"))) == expected(region="aktobe")
    assert sorted(refs(client.get(f"/staff/queues/{slug}?category=nonsense"))) == expected()  # unknown: no filter
    body = page(client.get(f"/staff/queues/{slug}?category=expression"))
    assert '<option value="expression" selected' in body
