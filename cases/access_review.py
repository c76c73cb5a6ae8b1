"""Access analytics: who opened how many cases and files on which day, and which days to review.

Read from the audit trail: every time staff open a case (``viewed``) or download a file
(``evidence_downloaded``) an event joins the case's chain, so the trail already says who read
what and when. These rules turn those events, one (person, case, action, office time) each,
into figures per person and office day, and list two kinds of day for a supervisor to review:

- **Many more cases than usual**: on a day someone opens more distinct cases than
  ``factor`` × their usual number — the median over the days of the 30 before on which they
  opened at least one case — *and* more than ``floor`` (so a quiet week or a new colleague
  does not make every ordinary day look unusual).
- **At night**: a case or a file opened in the night hours of the office's time zone.

A listed day is a question, not a finding: the supervisor reads that person's activity and
asks. Pure: no database, no Flask; ``cases/queries.py`` reads the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from cases.vocabulary import Action
from i18n import N_

HISTORY_DAYS = 30  # the days before each day that say what is usual for that person
MAX_DAYS = 92
DEFAULT_DAYS = 14
ACTIONS = (Action.VIEWED.value, Action.EVIDENCE_DOWNLOADED.value)

MANY = "many"
NIGHT = "night"
REASONS = {
    MANY: N_("many more cases than usual"),
    NIGHT: N_("at night"),
}


class BadPeriod(ValueError):
    """A period the page cannot show (ends before it starts, or too long)."""

    def __init__(self, template: str, **params: object) -> None:
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


def check_period(since: date, until: date) -> None:
    if until < since:
        raise BadPeriod(N_("The period ends before it starts."))
    if (until - since).days + 1 > MAX_DAYS:
        raise BadPeriod(N_("Choose a period of at most %(days)s days."), days=MAX_DAYS)


@dataclass(frozen=True)
class Night:
    """Night hours in office time: ``start`` included to ``end`` excluded, across midnight if needed."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Night:
        start, _sep, end = text.partition("-")
        return cls(int(start), int(end))

    def covers(self, at: datetime) -> bool:
        if self.start < self.end:
            return self.start <= at.hour < self.end
        return at.hour >= self.start or at.hour < self.end


@dataclass(frozen=True)
class Access:
    """One read-access event: who, which case, ``viewed`` or ``evidence_downloaded``, when (office time)."""

    actor_id: int
    case_id: int
    action: str
    at: datetime


@dataclass
class Day:
    """One person's reading on one office day."""

    actor_id: int
    day: date
    cases: set[int] = field(default_factory=set)  # distinct cases opened
    downloads: int = 0
    night_views: int = 0
    night_downloads: int = 0
    first_at_night: datetime | None = None

    @property
    def cases_opened(self) -> int:
        return len(self.cases)

    @property
    def at_night(self) -> int:
        return self.night_views + self.night_downloads


@dataclass(frozen=True)
class Flag:
    """A day to review: whose, which, why, and the figures behind it."""

    actor_id: int
    day: date
    reason: str  # MANY or NIGHT
    cases_opened: int
    usual: float  # median cases opened on their working days of the 30 before
    limit: float  # more than this is "many more than usual"
    at_night: int
    first_at_night: datetime | None


def days(accesses: Iterable[Access], night: Night) -> dict[tuple[int, date], Day]:
    """The figures per (person, office day) of ``accesses``, whose times are in office time."""
    out: dict[tuple[int, date], Day] = {}
    for a in accesses:
        key = (a.actor_id, a.at.date())
        d = out.get(key)
        if d is None:
            d = out[key] = Day(a.actor_id, a.at.date())
        is_view = a.action == Action.VIEWED
        if is_view:
            d.cases.add(a.case_id)
        else:
            d.downloads += 1
        if night.covers(a.at):
            if is_view:
                d.night_views += 1
            else:
                d.night_downloads += 1
            if d.first_at_night is None or a.at < d.first_at_night:
                d.first_at_night = a.at
    return out


def usual(figures: dict[tuple[int, date], Day], actor_id: int, day: date) -> float:
    """The median number of cases ``actor_id`` opened on the days of the 30 before ``day`` on which
    they opened any; 0 without such a day."""
    counts = [
        d.cases_opened
        for back in range(1, HISTORY_DAYS + 1)
        if (d := figures.get((actor_id, day - timedelta(days=back)))) is not None and d.cases_opened
    ]
    return float(median(counts)) if counts else 0.0


def limit(usual_count: float, factor: float, floor: int) -> float:
    """More cases than this on one day is "many more than usual"."""
    return max(factor * usual_count, float(floor))


def flags(figures: dict[tuple[int, date], Day], since: date, until: date, factor: float, floor: int) -> list[Flag]:
    """The days from ``since`` to ``until`` (included) to review, newest first, then by person:
    one flag per reason that applies."""
    out = []
    for (actor_id, day), d in figures.items():
        if not since <= day <= until:
            continue
        typical = usual(figures, actor_id, day)
        most = limit(typical, factor, floor)
        figures_of_day = {
            "cases_opened": d.cases_opened,
            "usual": typical,
            "limit": most,
            "at_night": d.at_night,
            "first_at_night": d.first_at_night,
        }
        if d.cases_opened > most:
            out.append(Flag(actor_id, day, MANY, **figures_of_day))
        if d.at_night:
            out.append(Flag(actor_id, day, NIGHT, **figures_of_day))
    return sorted(out, key=lambda f: (-f.day.toordinal(), f.actor_id, f.reason))


def in_period(figures: dict[tuple[int, date], Day], since: date, until: date) -> list[Day]:
    """The person-days of the period (days without any reading are not rows), newest first."""
    rows = [d for (_a, day), d in figures.items() if since <= day <= until]
    return sorted(rows, key=lambda d: (-d.day.toordinal(), d.actor_id))
