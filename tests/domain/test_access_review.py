"""The access-review rules on their own: figures per person and office day, what is usual for
someone, "many more cases than usual" and "at night" flag exactly the days they should."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import access_review as ar

TZ = ZoneInfo("Asia/Almaty")
NIGHT = ar.Night.parse("22-6")
D = date(2030, 3, 14)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def views(actor: int, day: date, cases: range, hour: int = 10) -> list[ar.Access]:
    return [ar.Access(actor, c, "viewed", at(day, hour)) for c in cases]


@pytest.mark.parametrize(
    ("night", "hour", "covered"),
    [
        ("22-6", 21, False),
        ("22-6", 22, True),
        ("22-6", 0, True),
        ("22-6", 5, True),
        ("22-6", 6, False),
        ("0-5", 0, True),
        ("0-5", 4, True),
        ("0-5", 5, False),
        ("0-5", 23, False),
    ],
)
def test_night_hours_cross_midnight_or_not(night, hour, covered):
    assert ar.Night.parse(night).covers(at(D, hour)) is covered


def test_figures_count_distinct_cases_every_download_and_what_was_at_night():
    accesses = [
        *views(1, D, range(1, 4)),
        ar.Access(1, 2, "viewed", at(D, 15)),  # the same case again: still three cases
        ar.Access(1, 3, "evidence_downloaded", at(D, 15)),
        ar.Access(1, 3, "evidence_downloaded", at(D, 15, 5)),
        ar.Access(1, 9, "viewed", at(D, 23, 40)),
        ar.Access(1, 9, "evidence_downloaded", at(D, 23, 10)),
        ar.Access(2, 1, "viewed", at(D, 1)),
    ]
    figures = ar.days(accesses, NIGHT)
    one = figures[(1, D)]
    assert (one.cases_opened, one.downloads, one.night_views, one.night_downloads) == (4, 3, 1, 1)
    assert one.first_at_night == at(D, 23, 10)
    assert (figures[(2, D)].cases_opened, figures[(2, D)].at_night) == (1, 1)


def test_usual_is_the_median_of_working_days_in_the_30_before():
    accesses = (
        views(1, D - timedelta(days=1), range(4))
        + views(1, D - timedelta(days=2), range(6))
        + views(1, D - timedelta(days=5), range(10))
        + views(1, D - timedelta(days=32), range(100))  # more than 30 days before D and D - 1: not counted
        + views(1, D, range(50))  # the day itself is not its own "usual"
    )
    figures = ar.days(accesses, NIGHT)
    assert ar.usual(figures, 1, D) == 6.0
    assert ar.usual(figures, 2, D) == 0.0  # no history at all
    assert ar.usual(figures, 1, D - timedelta(days=1)) == 8.0  # median of 6 and 10


@pytest.mark.parametrize(
    ("usual", "factor", "floor", "limit"),
    [(0.0, 3, 20, 20.0), (5.0, 3, 20, 20.0), (10.0, 3, 20, 30.0), (7.5, 2.0, 5, 15.0)],
)
def test_the_limit_is_the_larger_of_factor_times_usual_and_the_floor(usual, factor, floor, limit):
    assert ar.limit(usual, factor, floor) == limit


def test_exactly_the_unusual_days_and_the_night_days_are_flagged():
    history = [D - timedelta(days=n) for n in range(1, 11)]
    accesses = []
    for day in history:
        accesses += views(1, day, range(10))  # person 1: usually 10 a day
        accesses += views(2, day, range(10))
    accesses += views(1, D, range(31))  # 31 > 3 × 10: flagged
    accesses += views(2, D, range(30))  # exactly 3 × 10: not more, not flagged
    accesses += views(3, D, range(20))  # new colleague, 20 is not more than the floor of 20
    accesses += views(4, D, range(21))  # new colleague, 21 is: flagged
    accesses += [ar.Access(5, 1, "evidence_downloaded", at(D, 2))]  # at night: flagged
    accesses += [ar.Access(5, 1, "viewed", at(D - timedelta(days=40), 23))]  # at night, outside the period
    figures = ar.days(accesses, NIGHT)
    flagged = {(f.actor_id, f.day, f.reason) for f in ar.flags(figures, D - timedelta(days=13), D, 3, 20)}
    assert flagged == {(1, D, ar.MANY), (4, D, ar.MANY), (5, D, ar.NIGHT)}
    many = next(f for f in ar.flags(figures, D, D, 3, 20) if f.actor_id == 1)
    assert (many.cases_opened, many.usual, many.limit) == (31, 10.0, 30.0)


def test_rows_of_the_period_only_newest_first():
    accesses = views(2, D, range(1)) + views(1, D, range(1)) + views(1, D - timedelta(days=1), range(2))
    accesses += views(1, D + timedelta(days=1), range(1))
    rows = ar.in_period(ar.days(accesses, NIGHT), D - timedelta(days=1), D)
    assert [(d.day, d.actor_id, d.cases_opened) for d in rows] == [(D, 1, 1), (D, 2, 1), (D - timedelta(days=1), 1, 2)]


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [(D, D - timedelta(days=1), "ends before it starts"), (D - timedelta(days=92), D, "at most 92 days")],
)
def test_impossible_periods_are_refused(since, until, message):
    with pytest.raises(ar.BadPeriod, match=message):
        ar.check_period(since, until)
    ar.check_period(D - timedelta(days=91), D)  # 92 days: allowed
