"""Read-side queries for the staff pages. Every one is bounded and indexed.

Queue pages use keyset pagination on (priority, due_at, id), which the
``ix_cases_queue_order`` index serves directly; counts are capped so a page
costs the same at a thousand or a million cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Optional

from sqlalchemy import Integer, Select, func, literal, select, tuple_

from cases.base import UTCDateTime
from cases.models import Case, Event, Priority, Queue, User
from cases.workflow import CLOCK_RUNNING, Status
from extensions import db

PAGE_SIZE = 50
COUNT_CAP = 1000


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


def queue_summary(queue: Queue, now: datetime) -> QueueSummary:
    base = select(Case.id).where(Case.queue_id == queue.id, Case.is_open.is_(True))
    return QueueSummary(
        queue,
        capped_count(base),
        capped_count(base.where(Case.assignee_id.is_(None))),
        capped_count(base.where(Case.status.in_([s.value for s in CLOCK_RUNNING]), Case.due_at < now)),
        capped_count(base.where(Case.priority == Priority.URGENT)),
    )


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"  # open / all / a status value
    who: str = "anyone"  # anyone / me / unassigned
    overdue: bool = False


def queue_page(
    queue_id: Optional[int],
    f: QueueFilter,
    me: User,
    after: Optional[str],
    now: datetime,
    assignee_id: Optional[int] = None,
) -> tuple[list[Case], Optional[str]]:
    stmt = select(Case)
    if queue_id is not None:
        stmt = stmt.where(Case.queue_id == queue_id)
    if assignee_id is not None:
        stmt = stmt.where(Case.assignee_id == assignee_id)
    if f.status == "open":
        stmt = stmt.where(Case.is_open.is_(True))
    elif f.status in {s.value for s in Status}:
        stmt = stmt.where(Case.status == f.status)
    if f.who == "me":
        stmt = stmt.where(Case.assignee_id == me.id)
    elif f.who == "unassigned":
        stmt = stmt.where(Case.assignee_id.is_(None))
    if f.overdue:
        stmt = stmt.where(Case.status.in_([s.value for s in CLOCK_RUNNING]), Case.due_at < now)
    cursor = decode_cursor(after)
    if cursor:
        p, due, case_id = cursor
        stmt = stmt.where(
            tuple_(Case.priority, Case.due_at, Case.id)
            > tuple_(literal(p, Integer), literal(due, UTCDateTime()), literal(case_id, Integer))
        )
    stmt = stmt.order_by(Case.priority, Case.due_at, Case.id).limit(PAGE_SIZE + 1)
    rows = list(db.session.scalars(stmt))
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        next_cursor = encode_cursor(last)
    return rows, next_cursor


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MAX_ID = 2**31 - 1


def encode_cursor(case: Case) -> str:
    """``priority.due-in-microseconds.id`` of the last row; integer arithmetic, so exact."""
    return f"{case.priority}.{(case.due_at - _EPOCH) // _MICROSECOND}.{case.id}"


def decode_cursor(after: Optional[str]):
    """The keyset position, or None for anything malformed or out of range (the first page)."""
    if not after or len(after) > 60:
        return None
    try:
        p, micros, case_id = (int(x) for x in after.split("."))
        due = _EPOCH + micros * _MICROSECOND
    except (ValueError, OverflowError):
        return None
    if not (0 <= p <= 3 and 0 <= case_id <= _MAX_ID):
        return None
    return p, due, case_id


def find_reference(reference: str) -> Optional[Case]:
    return db.session.scalar(select(Case).where(Case.reference == reference.strip().upper()))


@dataclass(frozen=True)
class ActivityFilter:
    actor: Optional[int] = None
    action: str = ""
    queue: Optional[int] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None


def activity_page(f: ActivityFilter, before: Optional[int]) -> tuple[list[Event], Optional[int]]:
    """Events across cases, newest first, keyset-paginated on the event id."""
    stmt = select(Event)
    if f.actor:
        stmt = stmt.where(Event.actor_id == f.actor)
    if f.action:
        stmt = stmt.where(Event.action == f.action)
    if f.queue:
        stmt = stmt.join(Case, Case.id == Event.case_id).where(Case.queue_id == f.queue)
    if f.since:
        stmt = stmt.where(Event.created_at >= f.since)
    if f.until:
        stmt = stmt.where(Event.created_at < f.until)
    if before:
        stmt = stmt.where(Event.id < before)
    rows = list(db.session.scalars(stmt.order_by(Event.id.desc()).limit(PAGE_SIZE + 1)))
    nxt = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        nxt = rows[-1].id
    return rows, nxt
