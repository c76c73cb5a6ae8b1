"""Service levels: first-response and resolution due dates, the clocks that pause while
awaiting the reporter, and what each target's state is (due, late, met) for the pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Optional, Protocol
from zoneinfo import ZoneInfo

import config
from cases.workflow import CLOCK_RUNNING, RESOLUTION_RUNNING, Status

URGENT_HOURS = 24
# Working days are the office's: a report sent at 03:00 on a Monday in Almaty is a
# Monday report, although it is still Sunday in UTC. Commands pass the configured zone
# (OFFICE_TIMEZONE); this is its registered default.
OFFICE_TZ = ZoneInfo(config.default("OFFICE_TIMEZONE"))


def add_working_days(start: datetime, days: int, tz: tzinfo = OFFICE_TZ) -> datetime:
    """Add ``days`` Monday-to-Friday days in the office's time zone, keeping the time of day.

    A report made on a weekend counts from the next Monday. Public holidays
    are not modelled (see README). An aware ``start`` gives an aware UTC result;
    a naive one is taken as office time and stays naive.
    """
    current = start.astimezone(tz).replace(tzinfo=None) if start.tzinfo else start
    while current.weekday() >= 5:
        current += timedelta(days=1)
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current.replace(tzinfo=tz).astimezone(UTC) if start.tzinfo else current


def due_at(
    created: datetime, priority: int, first_response_hours: int | None, working_days: int, tz: tzinfo = OFFICE_TZ
) -> datetime:
    """Urgent cases and categories with an hour target get hours; others working days."""
    if priority == 0:
        hours = min(URGENT_HOURS, first_response_hours or URGENT_HOURS)
        return created + timedelta(hours=hours)
    if first_response_hours:
        return created + timedelta(hours=first_response_hours)
    return add_working_days(created, working_days, tz)


def resume(due: datetime, paused_at: datetime, now: datetime) -> datetime:
    """The due date after a pause: time spent waiting is added back."""
    return due + max(now - paused_at, timedelta(0))


class _Clocked(Protocol):
    first_response_at: datetime | None


def meet_first_response(case: _Clocked, now: datetime) -> None:
    """The first message to the reporter, a referral or a rejection stops the first-response clock;
    later ones do not move it."""
    if case.first_response_at is None:
        case.first_response_at = now


def lateness(due: datetime, at: datetime) -> timedelta | None:
    """How late ``at`` is against ``due``, to the minute; None when on time."""
    late = at - due
    return late if late >= timedelta(minutes=1) else None


def resolution_due(created: datetime, working_days: int | None, tz: tzinfo = OFFICE_TZ) -> datetime | None:
    """The resolution target: ``working_days`` office working days from ``created``; None without one."""
    return add_working_days(created, working_days, tz) if working_days else None


@dataclass(frozen=True)
class Level:
    """One target's state on a staff page: ``due`` (running, ``due_at`` ahead), ``late`` (by ``by``),
    ``paused`` (awaiting the reporter), ``met`` (at ``at``, late by ``by`` or on time), or ``none``."""

    target: str  # "first_response" or "resolution"
    state: str
    due_at: Optional[datetime] = None
    at: Optional[datetime] = None
    by: Optional[timedelta] = None


class _Case(Protocol):
    is_open: bool
    status: str
    due_at: datetime
    first_response_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None


def _level(target: str, due: datetime | None, met_at: datetime | None, running: bool, now: datetime) -> Level:
    if due is None:
        return Level(target, "none")
    if met_at is not None:
        return Level(target, "met", due, met_at, lateness(due, met_at))
    if not running:
        return Level(target, "paused", due)
    late = lateness(due, now)
    return Level(target, "late", due, by=late) if late else Level(target, "due", due)


def service_levels(case: _Case, now: datetime) -> tuple[Level, Level]:
    """The first-response and resolution states of ``case`` at ``now``. A case met its resolution
    target when it left the open statuses (``resolved_at``); one that left them without a first
    response owes none any more."""
    status = Status(case.status)
    first_met = case.first_response_at
    if first_met is None and not case.is_open:
        first = Level("first_response", "none")
    else:
        first = _level("first_response", case.due_at, first_met, status in CLOCK_RUNNING, now)
    if not case.is_open and case.resolved_at is None:  # cannot say when it ended
        return first, Level("resolution", "none")
    return first, _level("resolution", case.resolution_due_at, case.resolved_at, status in RESOLUTION_RUNNING, now)
