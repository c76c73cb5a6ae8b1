"""Access analytics from the audit trail: the figures equal hand-computed ones from real view and
download events, exactly the expected people are listed for review, and only supervisors see it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases import commands
from cases.commands import unit
from cases.models import Evidence
from storage import db
from tests.helpers import REFERENCE_RE, Clock, file_with_evidence, page
from tests.samples import ACCEPTED

ALMATY = ZoneInfo("Asia/Almaty")
D = date(2030, 3, 14)  # the last day of the period


def office(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


@pytest.fixture
def trail(app, make_case, make_user, monkeypatch):
    """Alice and Bob open cases over four days; hand-computed figures below.

    - Alice: 5 cases a day on D-3, D-2 and D-1 (usual: 5), then 16 on D (> 3 × 5 and > the floor of 8).
    - Bob: 6 a day on D-3 .. D-1 plus a 7th at 23:00 on D-1 (night); 12 on D (not > 3 × 6 = 18) and a
      file downloaded at 02:00 on D (night).
    """
    app.config.update(ACCESS_REVIEW_FACTOR=3.0, ACCESS_REVIEW_FLOOR=8, ACCESS_NIGHT="22-6")
    clock = Clock(office(D - timedelta(days=4), 9))
    monkeypatch.setattr(unit, "utcnow", clock)
    alice = make_user("caseworker", ["general"], name="Alice Access")
    bob = make_user("caseworker", ["general"], name="Bob Access")
    cases = [make_case().case.id for _ in range(20)]
    with_file = file_with_evidence(app, "photo.png", ACCEPTED["photo.png"]()).case
    evidence_id = db.session.scalar(select(Evidence.id).where(Evidence.case_id == with_file.id))

    def open_cases(who, ids, day, hour):
        for n, case_id in enumerate(ids):
            clock.now = office(day, hour, n)
            commands.record_view(case_id, who)

    for back in (3, 2, 1):
        open_cases(alice, cases[:5], D - timedelta(days=back), 10)
        open_cases(bob, cases[5:11], D - timedelta(days=back), 11)
    open_cases(bob, [cases[11]], D - timedelta(days=1), 23)
    open_cases(alice, cases[:16], D, 9)
    open_cases(alice, [cases[0]], D, 17)  # the same case again: still 16 cases
    open_cases(bob, cases[:12], D, 10)
    clock.now = office(D, 2)
    commands.record_download(with_file.id, evidence_id, bob)
    monkeypatch.setattr(unit, "utcnow", lambda: datetime.now(UTC))
    return alice, bob


def rows(body: str, caption: str) -> list[list[str]]:
    table = body.split(caption, 1)[1].split("</table>", 1)[0]
    out = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S):
        out.append(
            [
                " ".join(unescape(re.sub(r"<[^>]+>", "", c)).split())
                for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
            ]
        )
    return out


QUERY = f"since={(D - timedelta(days=1)).isoformat()}&until={D.isoformat()}"


def test_figures_and_review_list_equal_the_hand_computed_ones(trail, staff):
    alice, bob = trail
    client, _ = staff("supervisor")
    response = client.get(f"/staff/supervise/access?{QUERY}")
    assert response.status_code == 200
    body = page(response)
    per_day = [r[:5] for r in rows(body, "Cases opened and files downloaded")]
    assert per_day == [
        ["Mar 14, 2030", "Alice Access", "16", "0", "0"],
        ["Mar 14, 2030", "Bob Access", "12", "1", "1"],
        ["Mar 13, 2030", "Alice Access", "5", "0", "0"],
        ["Mar 13, 2030", "Bob Access", "7", "0", "1"],
    ]
    review = [r[:6] for r in rows(body, "Days to review")]
    assert review == [
        ["Mar 14, 2030", "Alice Access", "many more cases than usual", "16", "5", "0"],
        ["Mar 14, 2030", "Bob Access", "at night", "12", "6", "1 (first at 2:00 AM)"],
        ["Mar 13, 2030", "Bob Access", "at night", "7", "6", "1 (first at 11:00 PM)"],
    ]
    # Each row leads to that person's activity on that day; no case is named on the page.
    assert f"/staff/supervise/activity?actor={alice.id}&amp;since=2030-03-14&amp;until=2030-03-15" in response.get_data(
        as_text=True
    )
    assert not REFERENCE_RE.search(body) and "/staff/cases/" not in body


def test_the_activity_link_shows_that_persons_events_of_that_day(trail, staff):
    alice, _bob = trail
    client, _ = staff("supervisor")
    body = page(client.get(f"/staff/supervise/activity?actor={alice.id}&since=2030-03-13&until=2030-03-14"))
    assert body.count("Alice Access") >= 5 and "Bob Access" not in body.split("</select>")[-1]


def test_a_higher_floor_lists_nobody_for_many_cases(trail, staff, app):
    app.config["ACCESS_REVIEW_FLOOR"] = 16  # Alice's 16 is not more than 16
    client, _ = staff("supervisor")
    review = rows(page(client.get(f"/staff/supervise/access?{QUERY}")), "Days to review")
    assert [r[2] for r in review] == ["at night", "at night"]


def test_the_default_period_is_the_last_14_days(app, staff):
    client, _ = staff("supervisor")
    body = page(client.get("/staff/supervise/access"))
    today = datetime.now(ALMATY).date()
    assert f'value="{(today - timedelta(days=13)).isoformat()}"' in body and f'value="{today.isoformat()}"' in body
    assert "Nobody opened a case in this period." in body and "Nothing to review in this period." in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2030-01-01&until=2030-06-30", "Choose a period of at most 92 days."),
        ("since=2030-03-02&until=2030-03-01", "The period ends before it starts."),
        ("since=yesterday", "Write dates as YYYY-MM-DD."),
    ],
)
def test_bad_periods_get_a_clear_message_and_keep_what_was_typed(app, staff, query, message):
    client, _ = staff("supervisor")
    response = client.get(f"/staff/supervise/access?{query}")
    body = page(response)
    assert response.status_code == 400 and message in body
    typed = dict(p.split("=") for p in query.split("&"))
    assert f'value="{typed["since"]}"' in body


def test_case_workers_and_admins_see_no_access_analytics(app, login_as):
    for role in ("caseworker", "admin"):
        client, _ = login_as(role)
        assert client.get("/staff/supervise/access").status_code == 403, role


def test_reading_the_page_leaves_no_trace_in_the_figures(trail, staff):
    """The supervisor's own look at the page is no view event: the figures do not move."""
    client, _ = staff("supervisor")
    first = page(client.get(f"/staff/supervise/access?{QUERY}"))
    second = page(client.get(f"/staff/supervise/access?{QUERY}"))
    assert rows(first, "Cases opened") == rows(second, "Cases opened")
    db.session.rollback()
