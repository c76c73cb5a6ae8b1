"""The supervisors' dashboard: what came in, what is waiting, how fast the office answers and
resolves, how cases end, and who carries the work — for a period and filters.

Every figure is an aggregate query over an index range (reports received in the period on
``ix_cases_created``, cases resolved in it on ``ix_cases_resolved``, open cases on the queue
indexes); times are bucketed by the hour in SQL, so medians and 90th percentiles come from a
histogram and no case row is loaded. The weekly backlog is worked back from today's: the backlog
at the end of a week is today's, plus what was resolved since, minus what came in since
(a reopened case counts as still open since its first resolution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Optional

from sqlalchemy import Integer, and_, cast, func, select, text, true
from sqlalchemy import case as when

from cases import stats, triage
from cases.models import Case, Queue, User
from cases.vocabulary import Channel, Priority
from i18n import N_
from storage import db

MAX_DAYS = 366 * 2


@dataclass(frozen=True)
class Filters:
    since: date
    until: date  # included
    queue_id: Optional[int] = None
    category: str = ""
    region: str = ""
    channel: str = ""
    priority: Optional[int] = None

    def check(self) -> None:
        if self.until < self.since:
            raise stats.BadRequest(N_("The period ends before it starts."))
        if (self.until - self.since).days > MAX_DAYS:
            raise stats.BadRequest(N_("Choose a period of at most two years."))
        if self.channel and self.channel not in {c.value for c in Channel}:
            raise stats.BadRequest(N_("No such channel."))
        if self.priority is not None and self.priority not in {p.value for p in Priority}:
            raise stats.BadRequest(N_("No such priority."))

    def where(self):
        conditions = []
        if self.queue_id is not None:
            conditions.append(Case.queue_id == self.queue_id)
        if self.category:
            conditions.append(Case.category == self.category)
        if self.region:
            conditions.append(Case.region == self.region)
        if self.channel:
            conditions.append(Case.channel == self.channel)
        if self.priority is not None:
            conditions.append(Case.priority == self.priority)
        return and_(true(), *conditions)


@dataclass(frozen=True)
class Times:
    """Hours from receipt: median and 90th percentile (to the hour), of ``count`` cases."""

    count: int
    median: Optional[int]
    p90: Optional[int]


@dataclass(frozen=True)
class Week:
    start: date
    received: int
    resolved: int
    backlog: int  # open at the end of the week


@dataclass
class Dashboard:
    filters: Filters
    received: int
    open_now: int
    late_now: int
    first_response: Times
    first_response_on_time: int  # of first_response.count
    resolution: Times
    outcomes: dict[str, int]
    reopened: int  # cases received in the period that were reopened at least once
    weeks: list[Week]
    by_region: list[tuple[str, int]]
    per_queue: list[tuple[Queue, int, int, int]]  # queue, open, unassigned, late
    per_worker: list[tuple[str, int, int]]  # name, open cases held, late among them
    extra: dict = field(default_factory=dict)


def _start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def _hours(later, earlier):
    """Whole hours between two timestamp columns, in SQL (SQLite stores text, PostgreSQL timestamps)."""
    if db.session.get_bind().dialect.name == "sqlite":
        # Julian days are floats: round to the minute first, so 4 h is 4, not 3.9999.
        return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 1440), Integer) // 60
    return cast(func.floor(func.extract("epoch", later - earlier) / 3600), Integer)


def percentile(histogram: Sequence[tuple[int, int]], share: float) -> Optional[int]:
    """The smallest value with at least ``share`` of the counts at or below it (nearest rank)."""
    total = sum(n for _v, n in histogram)
    if total == 0:
        return None
    rank, seen = max(1, -(-int(share * total * 1000) // 1000)), 0
    for value, n in sorted(histogram):
        seen += n
        if seen >= rank:
            return value
    return None


def _times(histogram: list[tuple[int, int]]) -> Times:
    return Times(sum(n for _v, n in histogram), percentile(histogram, 0.5), percentile(histogram, 0.9))


def build(f: Filters, tz: tzinfo, now: datetime) -> Dashboard:
    f.check()
    begin, end = _start(f.since, tz), _start(f.until + timedelta(days=1), tz)
    base = f.where()
    received_in = and_(base, Case.created_at >= begin, Case.created_at < end)
    session = db.session

    received, reopened, on_time = session.execute(
        select(
            func.count(Case.id),
            func.coalesce(func.sum(when((Case.reopened > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(when((Case.first_response_at <= Case.due_at, 1), else_=0)), 0),
        ).where(received_in)
    ).one()
    first = list(
        session.execute(
            select(_hours(Case.first_response_at, Case.created_at), func.count())
            .where(received_in, Case.first_response_at.is_not(None))
            .group_by(text("1"))  # by position: PostgreSQL compares the two renderings' parameters
        ).tuples()
    )
    resolved = list(
        session.execute(
            select(_hours(Case.resolved_at, Case.created_at), func.count())
            .where(received_in, Case.resolved_at.is_not(None))
            .group_by(text("1"))
        ).tuples()
    )
    outcome = stats.outcome_expression()
    outcomes = dict.fromkeys(stats.OUTCOMES, 0) | dict(
        session.execute(select(outcome, func.count()).where(received_in).group_by(text("1"))).tuples().all()
    )
    open_now, late_now = session.execute(
        select(func.count(Case.id), func.coalesce(func.sum(when((triage.late(now), 1), else_=0)), 0)).where(
            base, Case.is_open.is_(True)
        )
    ).one()
    by_region = list(
        session.execute(
            select(Case.region, func.count()).where(received_in).group_by(Case.region).order_by(func.count().desc())
        ).tuples()
    )
    return Dashboard(
        filters=f,
        received=received,
        open_now=open_now,
        late_now=int(late_now),
        first_response=_times(first),
        first_response_on_time=int(on_time),
        resolution=_times(resolved),
        outcomes=outcomes,
        reopened=int(reopened),
        weeks=_weeks(f, base, tz, open_now, now),
        by_region=by_region,
        per_queue=_per_queue(base, now),
        per_worker=_per_worker(base, now),
    )


def _weeks(f: Filters, base, tz: tzinfo, open_now: int, now: datetime) -> list[Week]:
    """Weeks (Monday to Sunday, office time) of the period, the backlog at each week's end worked
    back from today's: two GROUP BYs over index ranges from the period's start to now."""
    first_monday = f.since - timedelta(days=f.since.weekday())
    starts = []
    day = first_monday
    while day <= f.until:
        starts.append(day)
        day += timedelta(days=7)
    bounds = [_start(d, tz) for d in starts] + [_start(starts[-1] + timedelta(days=7), tz)]

    def week_of(column):
        # The index of the week the timestamp falls in; past the period: after the last week.
        return when(*((column < b, i) for i, b in enumerate(bounds[1:])), else_=len(starts))

    received = dict(
        db.session.execute(
            select(week_of(Case.created_at), func.count()).where(base, Case.created_at >= bounds[0]).group_by(text("1"))
        ).all()
    )
    resolved = dict(
        db.session.execute(
            select(week_of(Case.resolved_at), func.count())
            .where(base, Case.resolved_at >= bounds[0])
            .group_by(text("1"))
        ).all()
    )
    weeks: list[Week] = []
    backlog = open_now
    # From the latest week back: at the end of week i, the backlog is the backlog at the end of
    # week i+1 minus what came in during week i+1 plus what was resolved in it.
    after_received, after_resolved = received.get(len(starts), 0), resolved.get(len(starts), 0)
    for i in range(len(starts) - 1, -1, -1):
        backlog = backlog - after_received + after_resolved
        weeks.append(Week(starts[i], received.get(i, 0), resolved.get(i, 0), max(backlog, 0)))
        after_received, after_resolved = received.get(i, 0), resolved.get(i, 0)
    return weeks[::-1]


def _per_queue(base, now: datetime) -> list[tuple[Queue, int, int, int]]:
    rows = db.session.execute(
        select(
            Case.queue_id,
            func.count(Case.id),
            func.coalesce(func.sum(when((Case.assignee_id.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(when((triage.late(now), 1), else_=0)), 0),
        )
        .where(base, Case.is_open.is_(True))
        .group_by(Case.queue_id)
    ).all()
    queues = {q.id: q for q in db.session.scalars(select(Queue))}
    return sorted(((queues[q], n, int(u), int(late)) for q, n, u, late in rows if q in queues), key=lambda r: -r[1])


def _per_worker(base, now: datetime) -> list[tuple[str, int, int]]:
    rows = db.session.execute(
        select(User.name, func.count(Case.id), func.coalesce(func.sum(when((triage.late(now), 1), else_=0)), 0))
        .join(User, User.id == Case.assignee_id)
        .where(base, Case.is_open.is_(True))
        .group_by(User.id, User.name)
        .order_by(func.count(Case.id).desc(), User.name)
    ).all()
    return [(name, n, int(late)) for name, n, late in rows]
