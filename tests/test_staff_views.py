"""Staff pages: home counts, the queue page (order, filters, search, pagination),
the paused due clock, the supervisor's history check and the activity page."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event as sa_event
from sqlalchemy import select, text, update

import storage
from cases import accounts, audit, commands, queries
from cases.commands import unit
from cases.models import Case, Event, Queue
from cases.vocabulary import Priority
from storage import db

REF = re.compile(r"SHG-\d{4}-\d{6}")
ALMATY = ZoneInfo("Asia/Almaty")


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    """Speed only, nothing under test: argon2id with small costs (the library defaults take
    ~0.15 s a hash), and no fsync on the throwaway SQLite files."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    configure = storage.configure_engine

    def configure_without_fsync(engine):
        configure(engine)
        if engine.dialect.name == "sqlite":
            sa_event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"))

    monkeypatch.setattr(storage, "configure_engine", configure_without_fsync)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def refs(response) -> list[str]:
    """References of the case rows, in page order."""
    return [r for body in re.findall(r"<tbody>(.*?)</tbody>", page(response), re.S) for r in REF.findall(body)]


@pytest.fixture
def staff(login_as):
    """Signed-in clients that read English: ``staff("caseworker", ["general"])``."""

    def factory(role="caseworker", queues=None):
        client, user = login_as(role, queues)
        client.set_cookie("lang", "en")
        return client, user

    return factory


def set_case(case_id: int, commit: bool = True, **values) -> None:
    db.session.execute(update(Case).where(Case.id == case_id).values(**values))
    if commit:
        db.session.commit()


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
    assert REF.findall(mine) == [c.reference]


def test_supervisor_home_lists_every_active_queue(app, staff):
    client, _ = staff("supervisor")
    body = page(client.get("/staff/"))
    for name in db.session.scalars(select(Queue.name).where(Queue.active.is_(True))):
        assert name in body


def test_counts_are_capped(app, make_case, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for _ in range(5):
        make_case()
    q = db.session.get(Queue, general_id())
    assert queries.queue_summary(q, datetime.now(UTC)).open == 4  # COUNT_CAP + 1 means "more than the cap"


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
    c = {name: make_case().case for name in ("new_mine", "triage_other", "overdue", "awaiting", "closed")}
    set_case(c["new_mine"].id, assignee_id=me.id)
    set_case(c["triage_other"].id, status="triage", assignee_id=other.id)
    set_case(c["overdue"].id, status="investigating", due_at=now - timedelta(days=1))
    # Waiting for the reporter: its due date has passed, but the clock is paused, so it is not overdue.
    set_case(c["awaiting"].id, status="awaiting_info", due_at=now - timedelta(days=2), paused_at=now)
    set_case(c["closed"].id, status="closed", is_open=False, finished_at=now, due_at=now - timedelta(days=3))
    return client, {k: v.reference for k, v in c.items()}


QUEUE_FILTERS = [
    ("", {"new_mine", "triage_other", "overdue", "awaiting"}),
    ("?status=all", {"new_mine", "triage_other", "overdue", "awaiting", "closed"}),
    ("?status=triage", {"triage_other"}),
    ("?status=closed", {"closed"}),
    ("?who=me", {"new_mine"}),
    ("?who=unassigned", {"overdue", "awaiting"}),
    ("?who=anyone&status=all", {"new_mine", "triage_other", "overdue", "awaiting", "closed"}),
    ("?overdue=1", {"overdue"}),
    ("?overdue=1&status=all", {"overdue"}),
    ("?status=nonsense", {"new_mine", "triage_other", "overdue", "awaiting", "closed"}),
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
    assert "Overdue:" in body


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
    first, cursor = queries.queue_page(general_id(), queries.QueueFilter(), me, None, datetime.now(UTC))
    second, _ = queries.queue_page(general_id(), queries.QueueFilter(), me, cursor, datetime.now(UTC))
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


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


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
    assert queries.queue_summary(q, clock.now).overdue == 0
    me = make_user("supervisor")
    overdue, _ = queries.queue_page(q.id, queries.QueueFilter(overdue=True), me, None, clock.now)
    assert overdue == []
    commands.change_status(case.id, worker, "investigating")
    db.session.expire_all()
    resumed = db.session.get(Case, case.id)
    assert resumed.paused_at is None
    assert resumed.paused_seconds == 5 * 86400
    assert resumed.due_at == due + timedelta(days=5)
    assert queries.queue_summary(q, clock.now).overdue == 0
    clock.now = resumed.due_at + timedelta(seconds=1)
    assert queries.queue_summary(q, clock.now).overdue == 1
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


def _tamper_setup(app):
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER events_no_update"))
        db.session.execute(text("DROP TRIGGER events_no_delete"))
    else:
        db.session.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
    db.session.commit()


@pytest.fixture
def no_triggers(app):
    _tamper_setup(app)
    yield
    if db.engine.dialect.name != "sqlite":
        db.session.rollback()
        db.session.execute(text("ALTER TABLE events ENABLE TRIGGER USER"))
        db.session.commit()


def test_supervisor_sees_history_intact_then_broken(app, make_case, make_user, staff, no_triggers):
    client, _ = staff("supervisor")
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    commands.change_status(case.id, worker, "rejected", reason="Outside our mandate.")
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "History intact." in body and "History broken" not in body
    status_event = db.session.scalar(select(Event).where(Event.chain_id == case.id, Event.action == "status"))
    db.session.execute(update(Event).where(Event.id == status_event.id).values(reason="Just because."))
    db.session.commit()
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert f"History broken at event {status_event.seq}:" in body
    assert "History intact." not in body


# --- supervisor activity page ----------------------------------------------------------


@pytest.fixture
def activity(app, make_case, make_user, staff):
    client, sup = staff("supervisor")
    alice = make_user("caseworker", ["general", "women"], name="Alice Worker")
    bob = make_user("caseworker", ["women"], name="Bob Worker")
    general = make_case().case
    women = make_case(category="women").case
    commands.claim(general.id, alice)
    commands.add_note(women.id, bob, "Called the shelter.")
    commands.change_status(women.id, alice, "triage")
    old = db.session.scalar(select(Event).where(Event.case_id == women.id, Event.action == "note"))
    return client, {"alice": alice, "bob": bob, "general": general, "women": women, "note": old}


def _activity_rows(response) -> list[tuple[str, str]]:
    body = page(response)
    tbody = body.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    out = []
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if len(cells) == 6:
            out.append((re.sub(r"<[^>]+>", "", cells[2]).strip(), re.sub(r"<[^>]+>", "", cells[3]).strip()))
    return out


def test_activity_lists_events_across_cases_newest_first(activity):
    client, w = activity
    rows = _activity_rows(client.get("/staff/supervise/activity"))
    assert rows[:3] == [("Alice Worker", "status"), ("Bob Worker", "note"), ("Alice Worker", "assigned")]
    assert ("public", "created") in rows and ("system", "routed") in rows


ACTIVITY_FILTERS = [
    ("actor={alice}", [("Alice Worker", "status"), ("Alice Worker", "assigned")]),
    ("actor={bob}", [("Bob Worker", "note")]),
    ("action=note", [("Bob Worker", "note")]),
    ("action=assigned&actor={alice}", [("Alice Worker", "assigned")]),
    ("queue={women_queue}&action=status", [("Alice Worker", "status")]),
    (
        "queue={women_queue}",
        [("Alice Worker", "status"), ("Bob Worker", "note"), ("system", "routed"), ("public", "created")],
    ),
    ("until=2000-01-01", []),
    ("since=2999-01-01", []),
    ("since={today}&actor={bob}", [("Bob Worker", "note")]),
    ("action=not-an-action&actor={bob}", [("Bob Worker", "note")]),
]


def test_activity_filters(activity):
    client, w = activity
    for query, expected in ACTIVITY_FILTERS:
        query = query.format(
            alice=w["alice"].id,
            bob=w["bob"].id,
            women_queue=w["women"].queue_id,
            today=(datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
        )
        response = client.get("/staff/supervise/activity?" + query)
        assert response.status_code == 200
        assert _activity_rows(response) == expected, query


def test_activity_time_filter_uses_event_time(activity):
    client, w = activity
    day = w["note"].created_at.astimezone(ALMATY).date()  # the page's dates are the office's
    inside = _activity_rows(
        client.get(
            f"/staff/supervise/activity?action=note&since={day.isoformat()}"
            f"&until={(day + timedelta(days=1)).isoformat()}"
        )
    )
    before = _activity_rows(client.get(f"/staff/supervise/activity?action=note&until={day.isoformat()}"))
    after = _activity_rows(
        client.get(f"/staff/supervise/activity?action=note&since={(day + timedelta(days=1)).isoformat()}")
    )
    assert inside == [("Bob Worker", "note")] and before == [] and after == []


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("2030-03-05", datetime(2030, 3, 4, 19, 0, tzinfo=UTC)),  # midnight in Almaty (UTC+5)
        ("2030-03-05T10:30", datetime(2030, 3, 5, 5, 30, tzinfo=UTC)),
        ("2030-03-05T10:30+00:00", datetime(2030, 3, 5, 10, 30, tzinfo=UTC)),
    ],
)
def test_activity_dates_are_office_dates(app, make_case, make_user, staff, typed, utc):
    """An event just before and just after the typed moment: only the later one is "since" it."""
    client, _ = staff("supervisor")
    case = make_case().case
    for actor, at in (
        (make_user("caseworker", ["general"], name="Early Bird"), utc - timedelta(minutes=1)),
        (make_user("caseworker", ["general"], name="Late Owl"), utc + timedelta(minutes=1)),
    ):
        audit.append(db.session, case=case, actor_type="staff", actor_id=actor.id, action="note", at=at)
        db.session.commit()
    rows = _activity_rows(client.get("/staff/supervise/activity", query_string={"action": "note", "since": typed}))
    assert rows == [("Late Owl", "note")]


@pytest.mark.parametrize("bad", ["yesterday", "2030-13-01", "9" * 30])
def test_activity_ignores_malformed_dates(activity, bad):
    client, _ = activity
    response = client.get(f"/staff/supervise/activity?since={bad}")
    assert response.status_code == 200 and len(_activity_rows(response)) > 0


def test_activity_pages_back_through_older_events(app, make_case, staff):
    client, _ = staff("supervisor")
    for _ in range(30):
        make_case()  # two events each
    first = client.get("/staff/supervise/activity")
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first.get_data(as_text=True))
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    assert len(_activity_rows(first)) == 50 and len(_activity_rows(second)) == 10


def test_audit_page_lists_checkpoints(app, make_case, staff):
    client, _ = staff("supervisor")
    assert "No checkpoint yet." in page(client.get("/staff/supervise/audit"))
    make_case()
    cp = commands.write_checkpoint()
    body = page(client.get("/staff/supervise/audit"))
    assert cp.root_hash[:16] in body and "flask --app wsgi audit verify" in body


def test_history_shows_values_as_typed_even_with_percent_signs(app, make_case, make_user, staff):
    """Free text in the history (rule names, reasons, referral targets) is data, not a format string."""
    client, sup = staff("supervisor")
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    commands.change_status(case.id, worker, "rejected", reason="Only 100% sure cases; see %s and %(x)s")
    audit.append(
        db.session,
        case=None,
        actor_type="staff",
        actor_id=sup.id,
        action="rule_toggled",
        new="50% of torture reports → urgent",
    )
    audit.append(db.session, case=case, actor_type="staff", actor_id=sup.id, action="queue", old="a%sb", new="100%")
    db.session.commit()
    for path in (f"/staff/cases/{case.id}", "/staff/supervise/activity"):
        response = client.get(path)
        assert response.status_code == 200, path
        body = page(response)
        assert "Only 100% sure cases; see %s and %(x)s" in body
        assert "a%sb → 100%" in body
    assert "50% of torture reports → urgent" in page(client.get("/staff/supervise/activity"))
