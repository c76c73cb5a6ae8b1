"""The dashboard's daily roll-ups give the same figures as the case rows, whatever was rolled up:
random cases over ten weeks, a roll-up that is missing, partial, current or stale after cases
changed, and every figure checked against a computation over the rows in Python, for several
periods and filters (on SQLite and, with TEST_DATABASE_URL, PostgreSQL)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cases import commands, dashboard, rollups, stats
from cases.categories import CATEGORIES
from cases.models import Case, Queue, RollupBlock, RollupCount, RollupDay, RollupTime
from cases.vocabulary import Channel
from cases.workflow import OPEN_STATUSES, Status
from storage import db
from tests.helpers import set_case

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2030, 3, 20, 6, 30, tzinfo=UTC)
TODAY = NOW.astimezone(ALMATY).date()
REGIONS = ("astana", "almaty-city", "shymkent")
OPEN = {s.value for s in OPEN_STATUSES}


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


@pytest.fixture
def random_cases(app, make_case, make_user):
    """120 cases received over the last ten weeks (some today), in random cells and states;
    times in whole minutes, first responses from minutes to weeks, resolutions up to 200 days."""
    rng = random.Random(13)  # noqa: S311 - test data  # nosec B311
    workers = [make_user("caseworker", ["general"], name=f"Worker {i}") for i in range(2)]
    queues = list(db.session.scalars(select(Queue.id)))
    categories = [c.slug for c in CATEGORIES][:3]
    for _ in range(120):
        case = make_case(category=rng.choice(categories), region=rng.choice(REGIONS)).case
        created = NOW - _minutes(rng, 0, 70 * 24 * 60)
        status = rng.choice(list(Status)).value
        first = created + _minutes(rng, 0, 400 * 60) if status != "new" and rng.random() < 0.9 else None
        resolved = created + _minutes(rng, 0, 200 * 24 * 60) if status not in OPEN else None
        set_case(
            case.id,
            commit=False,
            created_at=created,
            updated_at=created,
            queue_id=rng.choice(queues),
            channel=rng.choice(list(Channel)).value,
            priority=rng.randint(0, 3),
            status=status,
            is_open=status in OPEN,
            due_at=created + timedelta(hours=rng.choice((8, 48, 200))),
            first_response_at=first,
            resolution_due_at=created + timedelta(days=rng.choice((10, 30))),
            resolved_at=resolved,
            reopened=1 if rng.random() < 0.1 else 0,
            assignee_id=rng.choice([None, workers[0].id, workers[1].id]),
        )
    db.session.commit()


# --- the figures from the rows, in Python ---------------------------------------------------------


def _start(day: date) -> datetime:
    return rollups.start_of(day, ALMATY)


def _hours(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds() // 3600)


def _times(values: list[int]) -> dashboard.Times:
    histogram = list(Counter(rollups.bucket(v) for v in values).items())
    return dashboard.Times(len(values), dashboard.percentile(histogram, 0.5), dashboard.percentile(histogram, 0.9))


def expected(f: dashboard.Filters) -> dict:
    """Every figure of the dashboard, computed over the case rows one by one."""
    active = f.active()
    cases = [c for c in db.session.scalars(select(Case)) if all(getattr(c, d) == v for d, v in active.items())]
    begin, end = _start(f.since), _start(f.until + timedelta(days=1))
    cohort = [c for c in cases if begin <= c.created_at < end]
    outcome = {Status.REFERRED.value: "referred", "resolved": "resolved", "closed": "closed", "rejected": "rejected"}
    open_cases = [c for c in cases if c.is_open]
    late = [c for c in open_cases if c.is_overdue(NOW) or c.is_resolution_late(NOW)]
    starts = [w.start for w in dashboard.build(f, ALMATY, NOW).weeks]
    bounds = [_start(d) for d in starts] + [_start(starts[-1] + timedelta(days=7))]

    def week(at: datetime) -> int | None:
        if at < bounds[0]:
            return None
        return next((i for i, b in enumerate(bounds[1:]) if at < b), len(starts))

    received = Counter(week(c.created_at) for c in cases)
    resolved = Counter(week(c.resolved_at) for c in cases if c.resolved_at is not None)
    backlog, weeks = len(open_cases), []
    after = (received[len(starts)], resolved[len(starts)])
    for i in range(len(starts) - 1, -1, -1):
        backlog = backlog - after[0] + after[1]
        weeks.append((starts[i], received[i], resolved[i], max(backlog, 0)))
        after = (received[i], resolved[i])
    regions = Counter(c.region for c in cohort)
    return {
        "received": len(cohort),
        "open_now": len(open_cases),
        "late_now": len(late),
        "first_response": _times([_hours(c.first_response_at, c.created_at) for c in cohort if c.first_response_at]),
        "on_time": sum(1 for c in cohort if c.first_response_at and c.first_response_at <= c.due_at),
        "resolution": _times([_hours(c.resolved_at, c.created_at) for c in cohort if c.resolved_at]),
        "outcomes": dict.fromkeys(stats.OUTCOMES, 0) | Counter(outcome.get(c.status, "open") for c in cohort),
        "reopened": sum(1 for c in cohort if c.reopened),
        "weeks": weeks[::-1],
        "by_region": sorted(regions.items(), key=lambda rn: (-rn[1], rn[0])),
        "per_queue": Counter(c.queue_id for c in open_cases),
        "per_worker": Counter(c.assignee.name for c in open_cases if c.assignee_id),
    }


def shown(board: dashboard.Dashboard) -> dict:
    return {
        "received": board.received,
        "open_now": board.open_now,
        "late_now": board.late_now,
        "first_response": board.first_response,
        "on_time": board.first_response_on_time,
        "resolution": board.resolution,
        "outcomes": board.outcomes,
        "reopened": board.reopened,
        "weeks": [(w.start, w.received, w.resolved, w.backlog) for w in board.weeks],
        "by_region": board.by_region,
        "per_queue": Counter({q.id: n for q, n, _u, _late in board.per_queue}),
        "per_worker": Counter({name: n for name, n, _late in board.per_worker}),
    }


PERIODS = [
    (TODAY - timedelta(weeks=12) + timedelta(days=1), TODAY),  # the default: twelve weeks to today
    (TODAY - timedelta(days=45), TODAY - timedelta(days=3)),  # crosses blocks, ends before today
    (TODAY - timedelta(days=20), TODAY - timedelta(days=20)),  # one day
    (TODAY, TODAY + timedelta(days=6)),  # today and days to come
]
FILTERS = [
    {},
    {"region": "astana"},
    {"priority": 2},
    {"channel": "phone"},
    {"region": "shymkent", "priority": 1},
    {"category": [c.slug for c in CATEGORIES][0], "channel": "web", "region": "astana"},
]


def check_every_figure() -> list[dashboard.Source]:
    sources = []
    queue = db.session.scalar(select(Queue.id).order_by(Queue.id))
    for since, until in PERIODS:
        for filters in [*FILTERS, {"queue_id": queue}]:
            f = dashboard.Filters(since=since, until=until, **filters)
            board = dashboard.build(f, ALMATY, NOW)
            assert shown(board) == expected(f), (since, until, filters)
            sources.append(board.source)
    return sources


def test_the_buckets_are_exact_below_a_week_then_days_then_weeks():
    assert [rollups.bucket(h) for h in (0, 5, 167, 168, 191, 192, 2159, 2160, 2327, 2328)] == [
        0,
        5,
        167,
        168,
        168,
        192,
        2136,
        2160,
        2160,
        2328,
    ]


def test_without_any_roll_up_the_figures_are_computed_from_the_rows(random_cases):
    sources = check_every_figure()
    assert all(s.rolled_days == 0 and s.checked_at is None for s in sources)


def test_rolled_up_days_give_the_same_figures_as_the_rows(random_cases):
    run = commands.run_rollups(ALMATY, NOW - timedelta(days=10))  # the last ten days not rolled up yet
    assert run.days and run.last == TODAY - timedelta(days=11)
    check_every_figure()
    run = commands.run_rollups(ALMATY, NOW)
    assert run.days == [TODAY - timedelta(days=i) for i in range(10, 0, -1)]  # only the new days
    assert db.session.scalar(select(func.count()).select_from(RollupBlock)) >= 3  # blocks of 16 days
    sources = check_every_figure()
    assert max(s.rolled_days for s in sources) >= 60 and all(s.checked_at == NOW for s in sources if s.rolled_days)
    assert commands.run_rollups(ALMATY, NOW).days == []  # idempotent: nothing changed, nothing redone


def test_cases_changed_after_the_roll_up_are_counted_as_they_are_now(random_cases):
    commands.run_rollups(ALMATY, NOW - timedelta(hours=2))
    later = NOW - timedelta(hours=1)
    old = list(db.session.scalars(select(Case).where(Case.created_at < NOW - timedelta(days=30)).order_by(Case.id)))
    other_queue = db.session.scalar(select(Queue.id).where(Queue.id != old[0].queue_id).order_by(Queue.id))
    # Transferred; resolved long after it came in; reopened (its old resolution day loses a case).
    set_case(old[0].id, commit=False, queue_id=other_queue, priority=(old[0].priority + 1) % 4, updated_at=later)
    set_case(
        old[1].id,
        commit=False,
        status="resolved",
        is_open=False,
        resolved_at=later,
        first_response_at=later,
        updated_at=later,
    )
    finished = next(c for c in old[2:] if c.resolved_at is not None)
    set_case(
        finished.id, commit=False, status="investigating", is_open=True, resolved_at=None, reopened=1, updated_at=later
    )
    db.session.commit()
    sources = check_every_figure()
    assert any(s.live_days > 20 for s in sources)  # the reopened case's days since its receipt: from the rows
    run = commands.run_rollups(ALMATY, NOW)
    assert finished.created_at.astimezone(ALMATY).date() in run.days
    sources = check_every_figure()
    assert all(s.live_days == 1 for s in sources if s.rolled_days)  # only today again


def test_a_change_of_time_zone_or_a_full_run_recomputes_every_day(random_cases):
    commands.run_rollups(ALMATY, NOW)
    days = db.session.scalar(select(func.count()).select_from(RollupDay))
    utc = commands.run_rollups(ZoneInfo("UTC"), NOW)
    assert len(utc.days) >= days - 1  # every day again, in the other zone
    assert set(db.session.scalars(select(RollupDay.timezone))) == {"UTC"}
    sources = check_every_figure()  # Almaty's dashboard: nothing rolled up in its zone
    assert all(s.rolled_days == 0 for s in sources)
    again = commands.run_rollups(ALMATY, NOW, everything=True)
    first = rollups.first_case_day(ALMATY)
    assert again.days == [first + timedelta(days=i) for i in range((TODAY - first).days)]
    check_every_figure()


def test_the_roll_up_is_not_written_by_intake(app, make_case):
    make_case()
    assert db.session.scalar(select(func.count()).select_from(RollupCount)) == 0
    assert db.session.scalar(select(func.count()).select_from(RollupTime)) == 0


def test_the_cli_rolls_up_and_says_so(app, make_case):
    now = datetime.now(UTC)
    for days in (3, 4, 5):
        set_case(make_case().case.id, created_at=now - timedelta(days=days), updated_at=now - timedelta(days=days))
    result = app.test_cli_runner().invoke(args=["rollup", "run"])
    assert result.exit_code == 0 and "Rolled up" in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(RollupDay)) >= 5
    assert db.session.scalar(select(func.sum(RollupCount.received)).where(RollupCount.scope == "region")) == 3
    again = app.test_cli_runner().invoke(args=["rollup", "run"])
    assert "Rolled up 0 day(s)" in again.output
