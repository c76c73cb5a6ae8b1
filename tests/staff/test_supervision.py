"""The supervisor's pages: the history check on a case, the activity page across cases
(filters, office dates, paging) and the audit checkpoints page."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from cases import audit, commands
from cases.models import Event
from storage import db
from tests.helpers import page

ALMATY = ZoneInfo("Asia/Almaty")


def test_supervisor_sees_history_intact_then_broken(app, make_case, make_user, staff, request):
    client, _ = staff("supervisor")
    worker = make_user("caseworker", ["general"])
    case = make_case().case
    commands.change_status(case.id, worker, "rejected", reason="Outside our mandate.")
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "History intact." in body and "History broken" not in body
    request.getfixturevalue("no_triggers")
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
    assert rows[:3] == [
        ("Alice Worker", "status changed"),
        ("Bob Worker", "internal note added"),
        ("Alice Worker", "assigned"),
    ]
    assert ("public", "report received") in rows and ("system", "routed to a queue") in rows


ACTIVITY_FILTERS = [
    ("actor={alice}", [("Alice Worker", "status changed"), ("Alice Worker", "assigned")]),
    ("actor={bob}", [("Bob Worker", "internal note added")]),
    ("action=note", [("Bob Worker", "internal note added")]),
    ("action=assigned&actor={alice}", [("Alice Worker", "assigned")]),
    ("queue={women_queue}&action=status", [("Alice Worker", "status changed")]),
    (
        "queue={women_queue}",
        [
            ("Alice Worker", "status changed"),
            ("Bob Worker", "internal note added"),
            ("system", "routed to a queue"),
            ("public", "report received"),
        ],
    ),
    ("until=2000-01-01", []),
    ("since=2999-01-01", []),
    ("since={today}&actor={bob}", [("Bob Worker", "internal note added")]),
    ("action=not-an-action&actor={bob}", [("Bob Worker", "internal note added")]),
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
    assert inside == [("Bob Worker", "internal note added")] and before == [] and after == []


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
    assert rows == [("Late Owl", "internal note added")]


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


# --- histories people can read ---------------------------------------------------------------------------------------


def _timeline(body: str) -> list[str]:
    ol = body.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    lines = [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in re.findall(r"<li>(.*?)</li>", ol, re.S)]
    return [line.replace(" :", ":") for line in lines]


def test_the_timeline_names_people_queues_and_statuses_and_groups_views(app, make_case, make_user, staff):
    client, boss = staff("supervisor")
    alice = make_user("caseworker", ["general", "women"], name="Alice Worker")
    case = make_case().case
    commands.claim(case.id, alice)
    commands.change_status(case.id, alice, "triage")
    commands.add_note(case.id, alice, "Called the shelter.")
    commands.move_queue(case.id, boss, "women", "Belongs there")
    for _ in range(3):
        commands.record_view(case.id, boss)
    lines = _timeline(page(client.get(f"/staff/cases/{case.id}")))
    text = "\n".join(lines)
    assert "Alice Worker: assigned — → Alice Worker" in text
    assert "Alice Worker: status changed New → Triage" in text
    assert "internal note added" in text and "→ 1" not in text  # a message's row id says nothing
    assert "moved to another queue General intake → Women's rights unit" in text
    assert f"{boss.name}: opened the case (4 times)" in lines[-1]  # three views and the page itself
    assert not re.search(r"→ \d+\b", text)


def test_the_activity_page_shows_case_references_and_groups_views(app, make_case, staff):
    client, boss = staff("supervisor")
    case = make_case().case
    for _ in range(2):
        commands.record_view(case.id, boss)
    body = page(client.get("/staff/supervise/activity"))
    assert f'<a href="/staff/cases/{case.id}">{case.reference}</a>' in body
    assert f">#{case.id}<" not in body
    assert _activity_rows(client.get("/staff/supervise/activity"))[0] == (boss.name, "opened the case (2 times)")


def test_history_entries_merge_only_consecutive_views_of_one_person_on_one_case():
    from types import SimpleNamespace as Row

    from cases import history

    at = datetime(2026, 3, 2, tzinfo=UTC)

    def ev(seq, action, actor, case_id=1):
        return Row(
            seq=seq,
            created_at=at + timedelta(minutes=seq),
            case_id=case_id,
            actor_id=actor,
            actor_type="staff",
            action=action,
            old_value=None,
            new_value=None,
            reason=None,
        )

    rows = [
        ev(1, "viewed", 7),
        ev(2, "viewed", 7),
        ev(3, "viewed", 8),
        ev(4, "note", 7),
        ev(5, "viewed", 7),
        ev(6, "viewed", 7, case_id=2),
    ]
    merged = history.entries(rows, history.Labels(names={7: "Alice", 8: "Bob"}))
    assert [(e.seq, e.actor, e.views, e.last_seq) for e in merged] == [
        (1, "Alice", 2, 2),
        (3, "Bob", 1, None),
        (4, "Alice", 1, None),
        (5, "Alice", 1, None),
        (6, "Alice", 1, None),
    ]
    assert merged[0].last_at == at + timedelta(minutes=2)
