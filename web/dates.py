"""Dates, times and durations as pages show them, remembered per process.

A queue page shows each of its 50 rows with a due time, an age and a creation time; Babel
formats each from scratch (locale data, pattern, time zone) in about 50–100 µs, which made
formatting most of a staff page's CPU. The text of a moment depends only on the moment, the
reader's language, the time zone and the format, so it is kept in an LRU cache: the same case
seen again (a queue page is reloaded all day) costs a dictionary lookup. Minutes are the
finest unit the pages show, so keys are rounded to the minute where the format shows no seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import flask_babel

CACHE_SIZE = 65_536


def _reader() -> tuple[str, str]:
    return str(flask_babel.get_locale()), str(flask_babel.get_timezone())


@lru_cache(maxsize=CACHE_SIZE)
def _datetime(value: datetime, fmt: str, _reader: tuple[str, str]) -> str:
    return flask_babel.format_datetime(value, fmt)


@lru_cache(maxsize=CACHE_SIZE)
def _date(value: datetime, fmt: str, _reader: tuple[str, str]) -> str:
    return flask_babel.format_date(value, fmt)


@lru_cache(maxsize=CACHE_SIZE)
def _time(value: datetime, fmt: str, _reader: tuple[str, str]) -> str:
    return flask_babel.format_time(value, fmt)


@lru_cache(maxsize=CACHE_SIZE)
def _timedelta(value: timedelta, granularity: str, add_direction: bool, _reader: tuple[str, str]) -> str:
    return flask_babel.format_timedelta(value, granularity=granularity, add_direction=add_direction)


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def format_datetime(value: datetime | None = None, fmt: str = "medium") -> str:
    if value is None:  # Babel's meaning: now
        return flask_babel.format_datetime(value, fmt)
    return _datetime(value if fmt != "short" else _to_minute(value), fmt, _reader())


def format_date(value: datetime | None = None, fmt: str = "medium") -> str:
    if value is None:  # Babel's meaning: now
        return flask_babel.format_date(value, fmt)
    return _date(value, fmt, _reader())


def format_time(value: datetime | None = None, fmt: str = "medium") -> str:
    if value is None:  # Babel's meaning: now
        return flask_babel.format_time(value, fmt)
    return _time(value if fmt != "short" else _to_minute(value), fmt, _reader())


def format_minute(value: datetime) -> str:
    """A moment to the minute, in the reader's language and time zone (due times: seconds are noise)."""
    minute = _to_minute(value)
    reader = _reader()
    return f"{_date(minute, 'medium', reader)}, {_time(minute, 'short', reader)}"


def format_timedelta(value: timedelta | int, granularity: str = "second", add_direction: bool = False, **kw) -> str:
    """A duration in words ("3 hours"); to the whole minute when that is the finest unit asked for."""
    if kw or not isinstance(value, timedelta):
        return flask_babel.format_timedelta(value, granularity=granularity, add_direction=add_direction, **kw)
    if granularity != "second":
        value = timedelta(minutes=value // timedelta(minutes=1))
    else:
        value = timedelta(seconds=value // timedelta(seconds=1))
    return _timedelta(value, granularity, add_direction, _reader())
