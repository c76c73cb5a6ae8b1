"""Daily roll-ups of the supervisors' dashboard: what each day's reports add to its figures, kept
in three tables so a period of a year reads a few thousand rows instead of every case in it.

- ``dashboard_rollups``: per day and cell (queue, category, region, channel, priority — the
  dashboard's filters), the reports received that day, how many were reopened, answered on time
  and stand in each outcome, and the cases resolved that day (the weekly backlog).
- ``dashboard_rollup_times``: per day, histograms of the first-response and resolution times of
  that day's reports, in the buckets of ``bucket`` — per cell, and summed over all cells and over
  each filter alone, so the dashboard without filters or with one reads one row per bucket and day.
- ``dashboard_rollup_days``: the days rolled up, in which time zone, when, and the latest
  ``rollup run`` that found nothing changed that they depend on (``valid_at``).

Every figure is by the cases' current values, like the raw computation. A day's figures depend on
the cases received that day and the cases resolved that day; every change to a case bumps its
``updated_at`` (``commands.unit.touch``), so the cases changed since ``valid_at`` name the days to
recompute: the day each was received and the day it was resolved. Reopening clears the resolution
time, so for a reopened case every day from its receipt on counts as changed. The margin covers a
command that took its ``now`` before the run began and committed after.

Reads here; the writes are ``cases/commands/rollups.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Optional

from sqlalchemy import Integer, and_, cast, func, select, text, true
from sqlalchemy import case as when

from cases import stats
from cases.models import Case, RollupBlock, RollupCount, RollupDay, RollupTime
from storage import db

# A change committed this long after its command read the clock is still found (commands take ms).
CHANGE_MARGIN = timedelta(minutes=15)
# Times are exact to the hour below a week, to the day below 90 days, to the week beyond.
EXACT_BELOW, DAILY_BELOW = 7 * 24, 90 * 24
KINDS = ("first", "resolution")
# Days whose time histograms are also summed into one block (a year reads about 50 units, not 365).
BLOCK = 16
OUTCOME_KEYS = tuple(stats.OUTCOMES)
DIMENSIONS = ("queue_id", "category", "region", "channel", "priority")
ANY = {"queue_id": 0, "category": "", "region": "", "channel": "", "priority": -1}
COUNTS = (
    "received",
    "reopened",
    "on_time",
    *(f"outcome_{k}" for k in OUTCOME_KEYS),
    "resolved_on_day",
)
Cell = tuple[int, str, str, str, int]  # the values of DIMENSIONS
# "No end" as a bound: with both ends of a range the planner reads the range from its index.
NO_END = datetime(9999, 1, 1, tzinfo=UTC)


def bucket(hours: int) -> int:
    """The first hour of the bucket a time falls in: the hour below a week, the day below 90 days,
    then the week. A median or 90th percentile read from buckets is exact to its bucket."""
    if hours < EXACT_BELOW:
        return hours
    if hours < DAILY_BELOW:
        return hours - hours % 24
    return hours - (hours - DAILY_BELOW) % (7 * 24)


def start_of(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def hours_between(later, earlier):
    """Whole hours between two timestamp columns, in SQL (SQLite stores text, PostgreSQL timestamps)."""
    if db.session.get_bind().dialect.name == "sqlite":
        # Julian days are floats: round to the minute first, so 4 h is 4, not 3.9999.
        return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 1440), Integer) // 60
    return cast(func.floor(func.extract("epoch", later - earlier) / 3600), Integer)


@dataclass
class Cells:
    """What the reports of some days add to the figures, per cell, from the case rows."""

    counts: dict[Cell, list[int]] = field(default_factory=dict)  # COUNTS, in order
    times: dict[tuple[Cell, str], Counter] = field(default_factory=dict)  # (cell, kind): {bucket: cases}

    def row(self, cell: Cell) -> list[int]:
        return self.counts.setdefault(cell, [0] * len(COUNTS))


def compute(begin: datetime, end: datetime, where=None) -> Cells:
    """The cells of the reports received, and the cases resolved, from ``begin`` to ``end``
    (``NO_END``: no end): four GROUP BYs over index ranges (``ix_cases_created``, ``ix_cases_resolved``)."""
    dims = (Case.queue_id, Case.category, Case.region, Case.channel, Case.priority)
    narrowed = where if where is not None else true()

    def within(column):
        return and_(narrowed, column >= begin, column < end)

    out = Cells()
    outcome = stats.outcome_expression()
    rows = db.session.execute(
        select(
            *dims,
            outcome,
            func.count(),
            func.coalesce(func.sum(when((Case.reopened > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(when((Case.first_response_at <= Case.due_at, 1), else_=0)), 0),
        )
        .where(within(Case.created_at))
        .group_by(*dims, text("6"))  # by position: PostgreSQL compares the renderings' parameters
    )
    for *cell, key, n, reopened, on_time in rows:
        row = out.row(tuple(cell))
        row[0] += n
        row[1] += int(reopened)
        row[2] += int(on_time)
        row[3 + OUTCOME_KEYS.index(key)] += n
    for kind, column in (("first", Case.first_response_at), ("resolution", Case.resolved_at)):
        rows = db.session.execute(
            select(*dims, hours_between(column, Case.created_at), func.count())
            .where(within(Case.created_at), column.is_not(None))
            .group_by(*dims, text("6"))
        )
        for *cell, hours, n in rows:
            out.times.setdefault((tuple(cell), kind), Counter())[bucket(hours)] += n
    for *cell, n in db.session.execute(select(*dims, func.count()).where(within(Case.resolved_at)).group_by(*dims)):
        out.row(tuple(cell))[-1] += n
    return out


def _keep(cell: Cell, kept: Iterable[str]) -> Cell:
    return tuple(v if d in kept else ANY[d] for d, v in zip(DIMENSIONS, cell, strict=True))


# What each scope keeps of a cell: counts always keep the region (the dashboard's by-region table).
COUNT_SCOPES = {"region": ("region",), **{d: (d, "region") for d in DIMENSIONS if d != "region"}}
TIME_SCOPES = {"all": (), **{d: (d,) for d in DIMENSIONS}}


def count_rows(cells: Cells) -> Iterable[tuple[str, Cell, list[int]]]:
    """(scope, cell or the values it keeps, COUNTS): every cell and the sums of each count scope."""
    sums: dict[tuple[str, Cell], list[int]] = {}
    for cell, row in cells.counts.items():
        yield "cell", cell, row
        for scope, kept in COUNT_SCOPES.items():
            total = sums.setdefault((scope, _keep(cell, kept)), [0] * len(COUNTS))
            for i, n in enumerate(row):
                total[i] += n
    yield from ((scope, key, row) for (scope, key), row in sums.items())


def time_rows(cells: Cells) -> Iterable[tuple[str, Cell, str, int, int]]:
    """(scope, cell or the values it keeps, kind, hours, cases): every cell, and the sums over all
    cells ("all") and over each filter alone (scope named after the filter)."""
    sums: dict[tuple[str, Cell, str], Counter] = {}
    for (cell, kind), histogram in cells.times.items():
        yield from (("cell", cell, kind, h, n) for h, n in histogram.items())
        for scope, kept in TIME_SCOPES.items():
            sums.setdefault((scope, _keep(cell, kept), kind), Counter()).update(histogram)
    for (scope, key, kind), histogram in sums.items():
        yield from ((scope, key, kind, h, n) for h, n in histogram.items())


def block_of(day: date) -> date:
    """The first day of the block of BLOCK days the day is in (blocks are aligned on day numbers)."""
    return date.fromordinal(day.toordinal() - day.toordinal() % BLOCK)


# --- reading ------------------------------------------------------------------------------------


def stored_days(first: date, last: date) -> dict[date, RollupDay]:
    return {r.day: r for r in db.session.scalars(select(RollupDay).where(RollupDay.day.between(first, last)))}


def stored_blocks(first: date, last: date) -> dict[date, datetime]:
    rows = db.session.execute(select(RollupBlock.day, RollupBlock.built_at).where(RollupBlock.day.between(first, last)))
    return dict(rows.tuples().all())


def first_case_day(tz: tzinfo) -> Optional[date]:
    """The day of the earliest report (``ix_cases_created``): nothing happened before it."""
    first = db.session.scalar(select(func.min(Case.created_at)))
    return first.astimezone(tz).date() if first is not None else None


def changed_days(since: datetime, tz: tzinfo) -> tuple[set[date], Optional[date]]:
    """The days whose figures cases changed since ``since`` may have moved (``ix_cases_updated``),
    and the earliest day from which every day counts as changed (a reopened case's), or None."""
    days, every_day_from = set(), None
    rows = db.session.execute(
        select(Case.created_at, Case.resolved_at, Case.reopened).where(Case.updated_at >= since - CHANGE_MARGIN)
    )
    for created, resolved, reopened in rows:
        received = created.astimezone(tz).date()
        days.add(received)
        if resolved is not None:
            days.add(resolved.astimezone(tz).date())
        if reopened:
            every_day_from = min(every_day_from or received, received)
    return days, every_day_from


def _scope(scopes: dict[str, tuple[str, ...]], active: dict[str, object], always: tuple[str, ...] = ()):
    """The scope whose rows answer the filters: the one that keeps exactly the filters set (and
    ``always``), else the cells."""
    wanted = tuple(d for d in DIMENSIONS if d in active and d not in always)
    for scope, kept in scopes.items():
        if tuple(d for d in kept if d not in always) == wanted:
            return scope, kept
    return "cell", DIMENSIONS


def _scoped(model, scopes, active, always=()):
    scope, kept = _scope(scopes, active, always)
    fixed = [getattr(model, d) == ANY[d] for d in DIMENSIONS if d not in kept]
    chosen = [getattr(model, d) == v for d, v in active.items()]
    return and_(model.scope == scope, *fixed, *chosen)


def stored_counts(first: date, last: date, active: dict[str, object]):
    """Rows of (day, region, *COUNTS) summed over the cells matching the filters."""
    sums = [func.sum(getattr(RollupCount, c)) for c in COUNTS]
    return db.session.execute(
        select(RollupCount.day, RollupCount.region, *sums)
        .where(RollupCount.day.between(first, last), _scoped(RollupCount, COUNT_SCOPES, active, ("region",)))
        .group_by(RollupCount.day, RollupCount.region)
    ).all()


def time_units(first: date, last: date, fresh: set[date], blocks: dict[date, datetime], days) -> tuple[list, list]:
    """The blocks and the single days that cover the fresh days from ``first`` to ``last``: a block
    where all its days are fresh and it was built after each was computed, else its fresh days."""
    whole, single = [], []
    day = first
    while day <= last:
        end = day + timedelta(days=BLOCK - 1)
        built = blocks.get(day)
        if (
            block_of(day) == day
            and end <= last
            and built is not None
            and all(
                day + timedelta(days=i) in fresh and days[day + timedelta(days=i)].computed_at <= built
                for i in range(BLOCK)
            )
        ):
            whole.append(day)
            day = end + timedelta(days=1)
            continue
        if day in fresh:
            single.append(day)
        day += timedelta(days=1)
    return whole, single


def stored_times(whole: list[date], single: list[date], active: dict[str, object]) -> dict[str, Counter]:
    """The histograms of the blocks ``whole`` and the days ``single``, for the filters: the rows of
    scope "all" without filters, of that filter's scope with one, else the cells."""
    out = {k: Counter() for k in KINDS}
    for span, days in ((BLOCK, whole), (1, single)):
        if not days:
            continue
        # One query per span: the whole primary key up to the day is fixed, so each day is one
        # index range (an OR of the two would read every scope's rows of those days).
        query = (
            select(RollupTime.kind, RollupTime.hours, func.sum(RollupTime.cases))
            .where(_scoped(RollupTime, TIME_SCOPES, active), RollupTime.span == span, RollupTime.day.in_(days))
            .group_by(RollupTime.kind, RollupTime.hours)
        )
        for kind, hours, n in db.session.execute(query):
            out[kind][hours] += int(n)
    return out
