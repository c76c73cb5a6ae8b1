"""First-response due dates, and the clock that pauses while awaiting the reporter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

import config

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
