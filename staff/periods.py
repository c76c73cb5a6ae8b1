"""The period a supervisor's page is asked for: days from the query string, in the office's time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, request

from cases import stats
from i18n import N_


def day_arg(name: str, default: date) -> date:
    """A day from the query string (YYYY-MM-DD), ``default`` if absent; malformed: ``stats.BadRequest``."""
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        return datetime.strptime(raw[:10], "%Y-%m-%d").date()
    except ValueError as exc:
        raise stats.BadRequest(N_("Write dates as YYYY-MM-DD.")) from exc


def office_today() -> date:
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()
