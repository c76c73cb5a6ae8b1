"""The dashboard's daily roll-ups (``cases/rollups.py``): short commands that recompute a few days
each, rebuild the blocks of sixteen days, then record which days the run found current.

Not audited: a roll-up is a sum of case rows that are themselves audited, changes no case and
shows nobody anything new; any day can be recomputed from the cases at any time (like the
witness files and the search index batches, which carry no event of their own per batch).
Never part of a report's transaction: intake stays as cheap as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import Date, delete, func, insert, literal, select, text, update

from cases import rollups
from cases.commands.unit import command, utcnow
from cases.models import RollupBlock, RollupCount, RollupDay, RollupTime
from storage import db

ADVISORY_LOCK = 0x5348_4701
DAYS_PER_TRANSACTION = 8


@command
def store_days(days: list[tuple[date, rollups.Cells]], zone: str, run_start: datetime) -> None:
    """Replace the roll-up of each day with its cells, computed from the cases after ``run_start``
    (a few days per transaction: short, and not one disk flush per day)."""
    _lock()
    computed_at = utcnow()  # under the lock: a block built before this is out of date
    for day, cells in days:
        db.session.execute(delete(RollupTime).where(RollupTime.day == day, RollupTime.span == 1))
        for model in (RollupCount, RollupDay):
            db.session.execute(delete(model).where(model.day == day))
        counts = [
            {"scope": scope, "day": day}
            | dict(zip(rollups.DIMENSIONS, key, strict=True))
            | dict(zip(rollups.COUNTS, row, strict=True))
            for scope, key, row in rollups.count_rows(cells)
        ]
        times = [
            {"scope": scope, "span": 1, "day": day, "kind": kind, "hours": hours, "cases": n}
            | dict(zip(rollups.DIMENSIONS, key, strict=True))
            for scope, key, kind, hours, n in rollups.time_rows(cells)
        ]
        if counts:
            db.session.execute(insert(RollupCount), counts)
        if times:
            db.session.execute(insert(RollupTime), times)
        db.session.execute(
            insert(RollupDay), [{"day": day, "timezone": zone, "computed_at": computed_at, "valid_at": run_start}]
        )


@command
def store_block(first: date) -> None:
    """Sum the time histograms of the BLOCK days from ``first`` (all rolled up) into block rows."""
    _lock()
    db.session.execute(delete(RollupTime).where(RollupTime.day == first, RollupTime.span == rollups.BLOCK))
    built_at = utcnow()  # under the lock, after every day it sums was stored
    db.session.execute(delete(RollupBlock).where(RollupBlock.day == first))
    keys = [RollupTime.scope, *(getattr(RollupTime, d) for d in rollups.DIMENSIONS), RollupTime.kind, RollupTime.hours]
    summed = (
        select(*keys, literal(rollups.BLOCK), literal(first, Date), func.sum(RollupTime.cases))
        .where(RollupTime.span == 1, RollupTime.day.between(first, first + timedelta(days=rollups.BLOCK - 1)))
        .group_by(*keys)
    )
    names = ["scope", *rollups.DIMENSIONS, "kind", "hours", "span", "day", "cases"]
    db.session.execute(insert(RollupTime).from_select(names, summed))
    db.session.execute(insert(RollupBlock), [{"day": first, "built_at": built_at}])


def _lock() -> None:
    """PostgreSQL: two runs at once take turns (SQLite write transactions do anyway)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


@command
def mark_current(zone: str, checked_at: datetime) -> int:
    """Every day of the zone was recomputed or found unchanged by the run that began at ``checked_at``.
    Only moves forward, so a slower run that began earlier never undoes a later one."""
    return db.session.execute(
        update(RollupDay).where(RollupDay.timezone == zone, RollupDay.valid_at < checked_at).values(valid_at=checked_at)
    ).rowcount


@dataclass(frozen=True)
class Run:
    days: list[date]  # recomputed
    first: date | None  # the first day with a report
    last: date  # yesterday


def run_rollups(tz: tzinfo, now: datetime, everything: bool = False) -> Run:
    """Roll up every whole day before today that is missing, in another time zone, or changed
    since the last run (``rollups.changed_days``); with ``everything``, every day. Idempotent;
    safe beside writers (a change during the run is found by the next) and beside another run."""
    zone = rollups.zone_name(tz)
    last = now.astimezone(tz).date() - timedelta(days=1)
    first = rollups.first_case_day(tz)
    if first is None or first > last:
        return Run([], first, last)
    stored = {r.day: r for r in db.session.scalars(select(RollupDay).where(RollupDay.day.between(first, last)))}
    current = {d: r for d, r in stored.items() if r.timezone == zone}
    keep = set() if everything else set(current)
    if current and not everything:
        changed, every_day_from = rollups.changed_days(min(r.valid_at for r in current.values()), tz)
        keep -= changed
        if every_day_from is not None:
            keep = {d for d in keep if d < every_day_from}
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    redo = [d for d in days if d not in keep]
    for i in range(0, len(redo), DAYS_PER_TRANSACTION):
        batch = redo[i : i + DAYS_PER_TRANSACTION]
        store_days(
            [(d, rollups.compute(rollups.start_of(d, tz), rollups.start_of(d + timedelta(days=1), tz))) for d in batch],
            zone,
            now,
        )
    _build_blocks(first, last, zone)
    mark_current(zone, now)
    return Run(redo, first, last)


def _build_blocks(first: date, last: date, zone: str) -> None:
    """(Re)build every block whose days are all rolled up and one was computed after the block."""
    days = rollups.stored_days(rollups.block_of(first), last)
    blocks = rollups.stored_blocks(rollups.block_of(first), last)
    start = rollups.block_of(first)
    while start + timedelta(days=rollups.BLOCK - 1) <= last:
        members = [days.get(start + timedelta(days=i)) for i in range(rollups.BLOCK)]
        if all(m is not None and m.timezone == zone for m in members):
            built = blocks.get(start)
            if built is None or any(m.computed_at > built for m in members):
                store_block(start)
        start += timedelta(days=rollups.BLOCK)
