"""The supervisors' dashboard: figures equal hand-computed ones from seeded cases, filters and
the period narrow them, each figure downloads as CSV, and bad input gets a clear message."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import dashboard
from cases.models import Queue
from storage import db
from tests.helpers import page, set_case

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2030, 3, 20, 6, tzinfo=UTC)  # a Wednesday
START = date(2030, 3, 4)  # a Monday, two weeks before


@pytest.fixture
def seeded(app, make_case, make_user):
    """Six reports in the period and one before it; hand-set times."""
    worker = make_user("caseworker", ["general"], name="Dana Worker")
    at = [NOW - timedelta(days=d) for d in (15, 14, 10, 9, 3, 1)]
    cases = [make_case(category="other", region=r).case for r in ("astana",) * 4 + ("almaty-city",) * 2]
    before = make_case(category="other", region="astana").case
    values = [
        # first response after (hours), resolved after (hours), status, reopened, assignee
        (2, 30, "resolved", 0, None),
        (4, 50, "closed", 1, None),
        (10, None, "investigating", 0, worker.id),
        (30, None, "awaiting_info", 0, worker.id),
        (None, None, "new", 0, None),
        (None, None, "rejected", 0, None),
    ]
    for case, received, (first, resolved, status, reopened, assignee) in zip(cases, at, values, strict=True):
        finished = status in ("resolved", "closed", "rejected")
        set_case(
            case.id,
            commit=False,
            created_at=received,
            due_at=received + timedelta(hours=8),
            first_response_at=received + timedelta(hours=first) if first is not None else None,
            resolved_at=received + timedelta(hours=resolved) if resolved else (received if finished else None),
            status=status,
            is_open=not finished,
            reopened=reopened,
            assignee_id=assignee,
            resolution_due_at=received + timedelta(days=30),
        )
    set_case(
        before.id,
        commit=False,
        created_at=NOW - timedelta(days=60),
        due_at=NOW + timedelta(days=1),
        resolution_due_at=NOW + timedelta(days=1),
    )
    db.session.commit()
    return cases, before


def build(**kw):
    f = dashboard.Filters(since=START, until=NOW.astimezone(ALMATY).date(), **kw)
    return dashboard.build(f, ALMATY, NOW)


def test_figures_equal_the_hand_computed_ones(seeded):
    board = build()
    assert board.received == 6
    assert board.open_now == 4  # three open in the period and the one from before it
    assert board.late_now == 1  # the new one, unanswered past its 8 hours (the others were answered)
    assert board.first_response.count == 4
    assert (board.first_response.median, board.first_response.p90) == (4, 30)
    assert board.first_response_on_time == 2  # 2 h and 4 h within 8 h
    assert board.resolution.count == 3  # 30 h, 50 h and the rejection at once (0 h)
    assert (board.resolution.median, board.resolution.p90) == (30, 50)
    assert board.outcomes == {"open": 3, "referred": 0, "resolved": 1, "closed": 1, "rejected": 1}
    assert board.reopened == 1
    assert dict(board.by_region) == {"astana": 4, "almaty-city": 2}
    assert [(name, n) for name, n, _late in board.per_worker] == [("Dana Worker", 2)]
    general = [row for row in board.per_queue if row[0].slug == "general"][0]
    assert general[1:3] == (4, 2)


def test_the_weeks_add_up_and_the_backlog_is_worked_back(seeded):
    board = build()
    assert [w.start for w in board.weeks] == [date(2030, 3, 4), date(2030, 3, 11), date(2030, 3, 18)]
    assert [w.received for w in board.weeks] == [3, 2, 1]  # 5, 6, 10 | 11, 17 | 19 March
    assert sum(w.resolved for w in board.weeks) == 3
    assert board.weeks[-1].backlog == board.open_now  # the last week has not ended: today's backlog
    assert all(w.backlog >= 0 for w in board.weeks)


def test_filters_narrow_every_figure(seeded):
    board = build(region="almaty-city")
    assert board.received == 2 and dict(board.by_region) == {"almaty-city": 2}
    assert board.outcomes["rejected"] == 1 and board.outcomes["open"] == 1
    other_queue = db.session.scalar(db.select(Queue.id).where(Queue.slug == "women"))
    assert build(queue_id=other_queue).received == 0


def test_percentiles_are_nearest_rank():
    assert dashboard.percentile([(1, 1), (2, 1), (3, 1), (4, 1)], 0.5) == 2
    assert dashboard.percentile([(1, 9), (100, 1)], 0.9) == 1
    assert dashboard.percentile([(1, 9), (100, 2)], 0.9) == 100
    assert dashboard.percentile([], 0.5) is None


# --- the page ---------------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_each_table_downloads(seeded, login_as):
    client, _ = login_as("supervisor")
    client.set_cookie("lang", "en")
    query = f"since={START.isoformat()}&until=2030-03-20"
    body = page(client.get(f"/staff/supervise/dashboard?{query}"))
    assert "reports received" in body and '<span class="figure">6</span>' in body
    assert "Dana Worker" in body and "<svg" in body
    rows = list(
        csv.reader(io.StringIO(client.get(f"/staff/supervise/dashboard/outcomes.csv?{query}").get_data(as_text=True)))
    )
    assert rows[0] == ["Outcome", "Cases"] and ["Rejected", "1"] in rows
    weeks = list(
        csv.reader(io.StringIO(client.get(f"/staff/supervise/dashboard/weeks.csv?{query}").get_data(as_text=True)))
    )
    assert [r[1] for r in weeks[1:]] == ["3", "2", "1"]
    assert client.get(f"/staff/supervise/dashboard/nonsense.csv?{query}").status_code == 404


@pytest.mark.parametrize(
    "query, message",
    [
        ("since=2030-02-30", "Write dates as YYYY-MM-DD."),
        ("since=2030-03-10&until=2030-03-01", "The period ends before it starts."),
        ("since=2020-01-01&until=2030-01-01", "Choose a period of at most two years."),
        ("channel=pigeon", "No such channel."),
        ("priority=9", "No such priority."),
    ],
)
def test_bad_input_gets_a_clear_message(app, login_as, query, message):
    client, _ = login_as("supervisor")
    client.set_cookie("lang", "en")
    response = client.get(f"/staff/supervise/dashboard?{query}")
    assert response.status_code == 400 and message in page(response)
    assert client.get(f"/staff/supervise/dashboard/weeks.csv?{query}").status_code == 400


def test_case_workers_and_admins_do_not_see_it(app, login_as):
    for role in ("caseworker", "admin"):
        client, _ = login_as(role)
        assert client.get("/staff/supervise/dashboard").status_code == 403
