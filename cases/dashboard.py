"""The supervisors' dashboard: what came in, what is waiting, how fast the office answers and
resolves, how cases end, and who carries the work — for a period and filters.

The figures of the reports received in a period add up per day, so whole days before today are
read from the daily roll-up (``cases/rollups.py``, kept by ``flask --app wsgi rollup run``) where
it is current, and every other day — not rolled up yet, changed since, and today — is computed
from the case rows with the same code: the answer is exact and up to the minute. Times come from
histograms (exact to the hour below a week, to the day below 90 days, to the week beyond), so no
case row is loaded. What is open now (the backlog, late cases, the workload) is read live from
the open-case indexes. The weekly backlog is worked back from today's: the backlog at the end of
a week is today's, plus what was resolved since, minus what came in since.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Optional

from sqlalchemy import and_, func, select, true
from sqlalchemy import case as when

from cases import rollups, stats, triage
from cases.models import Case, Queue, User
from cases.vocabulary import Channel, Priority
from i18n import N_
from storage import db

MAX_DAYS = 366 * 2
# "= 1" on SQLite, as the partial index ix_cases_open_now says it (SQLAlchemy's is_(True) is "IS 1").
OPEN = Case.is_open == true()


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

    def active(self) -> dict[str, object]:
        """The filters set, by roll-up column."""
        values = dict(
            zip(
                rollups.DIMENSIONS,
                (self.queue_id, self.category, self.region, self.channel, self.priority),
                strict=True,
            )
        )
        return {d: v for d, v in values.items() if v is not None and v != ""}


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
    source: Optional[Source] = None
    extra: dict = field(default_factory=dict)  # figures other modules add (referrals per body)


@dataclass(frozen=True)
class Source:
    """Where the figures came from: days read from the daily roll-up, days computed from the case
    rows (today always), and when the roll-up was last found current (None: no day rolled up)."""

    rolled_days: int
    live_days: int
    checked_at: Optional[datetime]


@dataclass
class _Sums:
    received_on: Counter = field(default_factory=Counter)  # day (or a run of live days' first) -> reports
    resolved_on: Counter = field(default_factory=Counter)
    received: int = 0  # the period's reports, and what they add up to:
    reopened: int = 0
    on_time: int = 0
    outcomes: Counter = field(default_factory=Counter)
    by_region: Counter = field(default_factory=Counter)
    times: dict[str, Counter] = field(default_factory=lambda: {k: Counter() for k in rollups.KINDS})

    def add(self, day: date, region: str, counts: Sequence[int], in_period: bool) -> None:
        self.received_on[day] += int(counts[0])
        self.resolved_on[day] += int(counts[-1])
        if in_period:
            self.received += int(counts[0])
            self.by_region[region] += int(counts[0])
            self.reopened += int(counts[1])
            self.on_time += int(counts[2])
            for i, key in enumerate(rollups.OUTCOME_KEYS):
                self.outcomes[key] += int(counts[3 + i])

    def add_cells(self, day: date, cells: rollups.Cells, in_period: bool) -> None:
        for cell, counts in cells.counts.items():
            self.add(day, cell[rollups.DIMENSIONS.index("region")], counts, in_period)
        if in_period:
            for (_cell, kind), histogram in cells.times.items():
                self.times[kind].update(histogram)


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


def _times(histogram: Counter) -> Times:
    items = list(histogram.items())
    return Times(sum(histogram.values()), percentile(items, 0.5), percentile(items, 0.9))


def _week_starts(f: Filters) -> list[date]:
    day, starts = f.since - timedelta(days=f.since.weekday()), []
    while day <= f.until:
        starts.append(day)
        day += timedelta(days=7)
    return starts


def _runs(days: list[date], breaks: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, after) runs, cut where a week or the period starts or ends."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day and day not in breaks:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    return runs


def build(f: Filters, tz: tzinfo, now: datetime) -> Dashboard:
    """The figures: whole days before today from the daily roll-up where it is current, every
    other day (not rolled up, or changed since) and today from the case rows, so they are exact."""
    f.check()
    starts = _week_starts(f)
    today = now.astimezone(tz).date()
    yesterday = today - timedelta(days=1)
    active = f.active()
    sums = _Sums()
    first_case = rollups.first_case_day(tz)
    read_from = max(starts[0], first_case) if first_case is not None else today
    fresh: set[date] = set()
    checked = None
    live: list[date] = []
    if read_from <= yesterday:
        stored = rollups.stored_days(read_from, yesterday)
        zone = rollups.zone_name(tz)
        candidates = {d: r for d, r in stored.items() if r.timezone == zone}
        if candidates:
            checked = min(r.valid_at for r in candidates.values())
            changed, every_day_from = rollups.changed_days(checked, tz)
            fresh = {d for d in candidates if d not in changed and (every_day_from is None or d < every_day_from)}
        for day, region, *counts in rollups.stored_counts(read_from, yesterday, active):
            if day in fresh:
                sums.add(day, region, counts, f.since <= day <= f.until)
        low, high = max(f.since, read_from), min(f.until, yesterday)
        if fresh and low <= high:
            whole, single = rollups.time_units(low, high, fresh, rollups.stored_blocks(low, high), stored)
            for kind, histogram in rollups.stored_times(whole, single, active).items():
                sums.times[kind].update(histogram)
        live = [read_from + timedelta(days=i) for i in range((yesterday - read_from).days + 1)]
        live = [d for d in live if d not in fresh]
    # Today and any later day of the period's weeks from the rows too, then whatever came after.
    ahead, after_weeks = max(today, starts[0]), starts[-1] + timedelta(days=7)
    ahead_days = [ahead + timedelta(days=i) for i in range((after_weeks - ahead).days)]
    breaks = set(starts) | {f.since, f.until + timedelta(days=1), after_weeks}
    base = f.where()
    for first, after in _runs(live + ahead_days, breaks):
        cells = rollups.compute(rollups.start_of(first, tz), rollups.start_of(after, tz), base)
        sums.add_cells(first, cells, f.since <= first <= f.until)
    tail = max(ahead, after_weeks)
    sums.add_cells(tail, rollups.compute(rollups.start_of(tail, tz), rollups.NO_END, base), False)
    per_queue = _per_queue(base, now)
    open_now = sum(n for _q, n, _u, _late in per_queue)
    return Dashboard(
        filters=f,
        received=sums.received,
        open_now=open_now,
        late_now=sum(late for _q, _n, _u, late in per_queue),
        first_response=_times(sums.times["first"]),
        first_response_on_time=sums.on_time,
        resolution=_times(sums.times["resolution"]),
        outcomes=dict.fromkeys(stats.OUTCOMES, 0) | dict(sums.outcomes),
        reopened=sums.reopened,
        weeks=_weeks(starts, sums, open_now),
        by_region=sorted(((r, n) for r, n in sums.by_region.items() if n), key=lambda rn: (-rn[1], rn[0])),
        per_queue=per_queue,
        per_worker=_per_worker(base, now),
        source=Source(len(fresh), len(live) + 1, checked),
    )


def _weeks(starts: list[date], sums: _Sums, open_now: int) -> list[Week]:
    """Weeks (Monday to Sunday, office time) of the period, the backlog at each week's end worked
    back from today's with what came in and what was resolved in each later week."""

    def per_week(by_day: Counter) -> Counter:
        out: Counter = Counter()
        for day, n in by_day.items():
            out[min((day - starts[0]).days // 7, len(starts))] += n
        return out

    received, resolved = per_week(sums.received_on), per_week(sums.resolved_on)
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
        .where(base, OPEN)
        .group_by(Case.queue_id)
    ).all()
    queues = {q.id: q for q in db.session.scalars(select(Queue))}
    return sorted(((queues[q], n, int(u), int(late)) for q, n, u, late in rows if q in queues), key=lambda r: -r[1])


def _per_worker(base, now: datetime) -> list[tuple[str, int, int]]:
    rows = db.session.execute(
        select(User.name, func.count(Case.id), func.coalesce(func.sum(when((triage.late(now), 1), else_=0)), 0))
        .join(User, User.id == Case.assignee_id)
        .where(base, Case.assignee_id.is_not(None), OPEN)
        .group_by(User.id, User.name)
        .order_by(func.count(Case.id).desc(), User.name)
    ).all()
    return [(name, n, int(late)) for name, n, late in rows]
