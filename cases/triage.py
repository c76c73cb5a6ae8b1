"""The queue a case worker triages from: filters, orders, keyset pages, saved views' filters,
the per-queue counts on the start page, and the late cases for the escalation list.

Nothing here writes. Every page is one indexed range read of at most PAGE_SIZE + 1 rows:
each order has an index in queue order (``ix_cases_queue_order`` for priority,
``ix_cases_queue_due``, ``ix_cases_queue_age``), counts are capped, so a page costs the same
at a thousand or a million cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Optional
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Integer, Select, exists, func, literal, or_, select, tuple_

from cases.models import Case, CaseTag, Queue, User
from cases.vocabulary import Channel, Priority
from cases.workflow import Status
from storage import db
from storage.types import MAX_ID, UTCDateTime

PAGE_SIZE = 50
COUNT_CAP = 1000
# How the queue page can be ordered; the first is the default (urgent first, then due date).
SORTS = ("priority", "due", "age")
WHO = ("anyone", "me", "unassigned")
STATUS_CHOICES = ("open", "all", *(s.value for s in Status))


def capped_count(stmt: Select) -> int:
    """Count at most COUNT_CAP rows (shown as "1000+")."""
    sub = stmt.with_only_columns(Case.id).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(sub)) or 0


@dataclass
class QueueSummary:
    queue: Queue
    open: int
    unassigned: int
    overdue: int
    urgent: int


def late(now: datetime):
    """Late on either service level: the first response or the resolution target."""
    return or_(Case.is_overdue(now), Case.is_resolution_late(now))


def queue_summary(queue: Queue, now: datetime) -> QueueSummary:
    base = select(Case.id).where(Case.queue_id == queue.id, Case.is_open.is_(True))
    return QueueSummary(
        queue,
        capped_count(base),
        capped_count(base.where(Case.assignee_id.is_(None))),
        capped_count(base.where(late(now))),
        capped_count(base.where(Case.priority == Priority.URGENT)),
    )


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page shows. Built from a query string by ``parse``, which drops anything
    that is not a known value, so a saved view or a hand-edited link can never widen access."""

    status: str = "open"  # open / all / a status value
    who: str = "anyone"  # anyone / me / unassigned
    overdue: bool = False  # late on either target
    category: str = ""  # a category slug, or "" for any
    region: str = ""  # a region slug, or "" for any
    priority: Optional[int] = None
    channel: str = ""
    assignee: Optional[int] = None  # one staff member's cases (a supervisor's filter)
    tag: Optional[int] = None  # a tag's id
    sort: str = "priority"

    @classmethod
    def parse(cls, args: Mapping[str, str], categories: set[str], regions: set[str]) -> QueueFilter:
        def pick(name: str, allowed, default=""):
            value = args.get(name, default)
            return value if value in allowed else default

        priority = args.get("priority", "")
        assignee, tag = args.get("assignee", ""), args.get("tag", "")
        return cls(
            status=pick("status", STATUS_CHOICES, "open"),
            who=pick("who", WHO, "anyone"),
            overdue=args.get("overdue") == "1",
            category=pick("category", categories),
            region=pick("region", regions),
            priority=int(priority) if priority in {str(p.value) for p in Priority} else None,
            channel=pick("channel", {c.value for c in Channel}),
            assignee=int(assignee) if assignee.isdigit() and 0 < int(assignee) <= MAX_ID else None,
            tag=int(tag) if tag.isdigit() and 0 < int(tag) <= MAX_ID else None,
            sort=pick("sort", SORTS, SORTS[0]),
        )

    @classmethod
    def from_query_string(cls, query: str, categories: set[str], regions: set[str]) -> QueueFilter:
        return cls.parse(dict(parse_qsl(query)), categories, regions)

    def params(self) -> dict[str, str]:
        """The query-string form, without defaults (for links, pages and saved views)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            out[f.name] = "1" if value is True else str(value)
        return out

    def query_string(self) -> str:
        return urlencode(self.params())

    def without(self, name: str) -> QueueFilter:
        """The same filter with one field back at its default (the "remove" links)."""
        default = next(f.default for f in fields(self) if f.name == name)
        return replace(self, **{name: default})


def _order(sort: str):
    if sort == "due":
        return (Case.due_at, Case.id)
    if sort == "age":
        return (Case.created_at, Case.id)
    return (Case.priority, Case.due_at, Case.id)


def queue_page(
    queue_id: Optional[int],
    f: QueueFilter,
    me: User,
    after: Optional[str],
    now: datetime,
    assignee_id: Optional[int] = None,
) -> tuple[list[Case], Optional[str]]:
    """One page of a queue (or, with ``assignee_id``, of someone's cases) in the filter's order,
    and the cursor of the next page."""
    stmt = matching(queue_id, f, me, now, assignee_id)
    order = _order(f.sort)
    cursor = decode_cursor(after, f.sort)
    if cursor:
        types = (Integer, UTCDateTime(), Integer) if f.sort == "priority" else (UTCDateTime(), Integer)
        stmt = stmt.where(tuple_(*order) > tuple_(*(literal(v, t) for v, t in zip(cursor, types, strict=True))))
    rows = list(db.session.scalars(stmt.order_by(*order).limit(PAGE_SIZE + 1)))
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = encode_cursor(rows[-1], f.sort)
    return rows, next_cursor


def matching(
    queue_id: Optional[int], f: QueueFilter, me: User, now: datetime, assignee_id: Optional[int] = None
) -> Select:
    """The cases of a queue (all queues for None) that the filter shows, unordered (the queue
    page orders and pages them; an export reads them in id order)."""
    stmt = select(Case)
    if queue_id is not None:
        stmt = stmt.where(Case.queue_id == queue_id)
    if assignee_id is not None:
        stmt = stmt.where(Case.assignee_id == assignee_id)
    if f.status == "open":
        stmt = stmt.where(Case.is_open.is_(True))
    elif f.status != "all":
        stmt = stmt.where(Case.status == f.status)
    if f.who == "me":
        stmt = stmt.where(Case.assignee_id == me.id)
    elif f.who == "unassigned":
        stmt = stmt.where(Case.assignee_id.is_(None))
    if f.assignee is not None:
        stmt = stmt.where(Case.assignee_id == f.assignee)
    if f.overdue:
        stmt = stmt.where(late(now))
    if f.category:  # each has an index of its own in queue order (ix_cases_queue_category/_region)
        stmt = stmt.where(Case.category == f.category)
    if f.region:
        stmt = stmt.where(Case.region == f.region)
    if f.priority is not None:
        stmt = stmt.where(Case.priority == f.priority)
    if f.channel:
        stmt = stmt.where(Case.channel == f.channel)
    if f.tag is not None:  # the tag's cases come from ix_case_tags_tag (tag_id, case_id)
        stmt = stmt.where(exists().where(CaseTag.case_id == Case.id, CaseTag.tag_id == f.tag))
    return stmt


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def encode_cursor(case: Case, sort: str = "priority") -> str:
    """The keyset position of the last row, in integers (so exact): ``priority.due.id`` for the
    default order, ``due.id`` or ``received.id`` (microseconds since 1970) for the others."""
    if sort == "priority":
        return f"{case.priority}.{_micros(case.due_at)}.{case.id}"
    return f"{_micros(case.created_at if sort == 'age' else case.due_at)}.{case.id}"


def decode_cursor(after: Optional[str], sort: str = "priority"):
    """The keyset position, or None for anything malformed or out of range (the first page)."""
    if not after or len(after) > 60:
        return None
    try:
        parts = [int(x) for x in after.split(".")]
        if len(parts) != (3 if sort == "priority" else 2):
            return None
        *p, micros, case_id = parts
        at = _EPOCH + micros * _MICROSECOND
    except (ValueError, OverflowError):
        return None
    if not 0 <= case_id <= MAX_ID or (p and not min(Priority) <= p[0] <= max(Priority)):
        return None
    return (*p, at, case_id)


# --- escalation ---------------------------------------------------------------------------------

ESCALATION_LIMIT = 100


@dataclass(frozen=True)
class LateCases:
    """Open cases late for a first response, and late for resolution: each the most late first,
    at most ESCALATION_LIMIT (the list is a to-do list, not a report; the dashboard counts)."""

    first_response: list[Case]
    resolution: list[Case]
    limit: int = ESCALATION_LIMIT


def late_cases(now: datetime, queue_id: Optional[int] = None, limit: int = ESCALATION_LIMIT) -> LateCases:
    """Two index range reads (``ix_cases_open_due``, ``ix_cases_open_resolution``)."""
    first = select(Case).where(Case.is_open.is_(True), Case.is_overdue(now))
    resolution = select(Case).where(Case.is_open.is_(True), Case.is_resolution_late(now))
    if queue_id is not None:
        first, resolution = first.where(Case.queue_id == queue_id), resolution.where(Case.queue_id == queue_id)
    return LateCases(
        list(db.session.scalars(first.order_by(Case.due_at, Case.id).limit(limit))),
        list(db.session.scalars(resolution.order_by(Case.resolution_due_at, Case.id).limit(limit))),
        limit,
    )
