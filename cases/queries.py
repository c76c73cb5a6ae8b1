"""The read side: queries for staff pages and for the reporter's tracking page.

Nothing here writes. Every query is bounded and indexed.

Queue pages use keyset pagination on (priority, due_at, id), which the
``ix_cases_queue_order`` index serves directly; counts are capped so a page
costs the same at a thousand or a million cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Optional

from sqlalchemy import Integer, Select, exists, func, literal, select, tuple_
from sqlalchemy.orm import aliased

from cases import accounts, history, receipts, search
from cases.models import (
    AccessRequest,
    Case,
    Event,
    Evidence,
    Message,
    Queue,
    QueueMembership,
    SearchTerm,
    TrackingSession,
    User,
)
from cases.vocabulary import Action, MessageKind, Priority, Role
from cases.workflow import FINISHED_STATUSES, Status
from storage import db
from storage.types import MAX_ID, UTCDateTime

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
        capped_count(base.where(Case.is_overdue(now))),
        capped_count(base.where(Case.priority == Priority.URGENT)),
    )


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"  # open / all / a status value
    who: str = "anyone"  # anyone / me / unassigned
    overdue: bool = False
    category: str = ""  # a category slug, or "" for any
    region: str = ""  # a region slug, or "" for any


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
        stmt = stmt.where(Case.is_overdue(now))
    if f.category:  # each has an index of its own in queue order (ix_cases_queue_category/_region)
        stmt = stmt.where(Case.category == f.category)
    if f.region:
        stmt = stmt.where(Case.region == f.region)
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
    if not (0 <= p <= 3 and 0 <= case_id <= MAX_ID):
        return None
    return p, due, case_id


def find_reference(reference: str) -> Optional[Case]:
    return db.session.scalar(select(Case).where(Case.reference == reference.strip().upper()))


def find_by_receipt(receipt_key: bytes, typed: str) -> Optional[Case]:
    """One indexed lookup by the keyed hash; the same work whether or not it exists."""
    normalized = receipts.normalize(typed)
    # Hash something even for malformed input so both paths cost the same.
    digest = receipts.digest(receipt_key, normalized or "0" * receipts.LENGTH)
    case = db.session.scalar(select(Case).where(Case.receipt_hash == digest))
    return case if normalized else None


# --- the reporter's tracking session --------------------------------------------------------


@dataclass(frozen=True)
class Tracking:
    """What a tracking cookie names: the row (None if unknown), its case, and what is due."""

    row: Optional[TrackingSession]
    case: Optional[Case]
    expired: bool = False
    refresh: bool = False


def find_tracking(token: object, limits: accounts.SessionLimits, now: datetime) -> Tracking:
    """Look up a tracking session by its cookie token (stored as its hash), without changing anything."""
    row, expired, refresh = accounts.find_row(TrackingSession, token, limits, now)
    if row is None or expired:
        return Tracking(row, None, expired=expired)
    return Tracking(row, db.session.get(Case, row.case_id), refresh=refresh)


# --- the reporter's view ------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    """Everything the tracking page may show: never notes, never staff names."""

    reference: str
    status: Status
    updated_at: datetime
    messages: list[Message]
    can_reply: bool
    content_destroyed: bool
    file_count: int
    file_bytes: int
    files: list[Evidence]  # what the reporter sent, oldest first (names and times; content stays deferred)


def reporter_view(case: Case) -> CaseView:
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.case_id == case.id, Message.kind.in_((MessageKind.TO_REPORTER, MessageKind.FROM_REPORTER)))
            .order_by(Message.id)
        )
    )
    count, total = db.session.execute(
        select(func.count(Evidence.id), func.coalesce(func.sum(Evidence.size), 0)).where(Evidence.case_id == case.id)
    ).one()
    return CaseView(
        case.reference or "",
        Status(case.status),
        case.public_updated_at,
        messages,
        can_reply(case),
        case.content_destroyed_at is not None,
        count,
        int(total),
        list(db.session.scalars(select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id))),
    )


@dataclass(frozen=True)
class ReceiptView:
    """What the receipt page shows when it is rendered again (in another language)."""

    reference: str
    due_at: datetime
    queue_name: str
    queue_description: str
    has_email: bool
    files_not_kept: int = 0


def receipt_view(case: Case, files_not_kept: int = 0) -> ReceiptView:
    return ReceiptView(
        case.reference or "",
        case.due_at,
        case.queue.name,
        case.queue.description or "",
        bool(case.contact_email),
        files_not_kept,
    )


def can_reply(case: Case) -> bool:
    return Status(case.status) not in FINISHED_STATUSES and case.content_destroyed_at is None


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


def history_labels(events: list[Event]) -> history.Labels:
    """Names, queue names and references for the ids in ``events`` (three bounded queries)."""
    user_ids: set[int] = set()
    for e in events:
        if e.actor_id:
            user_ids.add(e.actor_id)
        if e.action in (Action.ASSIGNED, Action.UNASSIGNED):
            user_ids.update(int(v) for v in map(str, (e.old_value, e.new_value)) if v.isdigit())
    case_ids = {e.case_id for e in events if e.case_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).tuples().all())
    references = dict(db.session.execute(select(Case.id, Case.reference).where(Case.id.in_(case_ids))).tuples().all())
    queues = dict(db.session.execute(select(Queue.slug, Queue.name)).tuples().all())
    return history.Labels(names, queues, references)


# --- access waiting for a supervisor ----------------------------------------------------------


def pending_access(limit: int = PAGE_SIZE) -> list[AccessRequest]:
    """Grants of case access not yet decided, oldest first (bounded: an office has a handful)."""
    return list(
        db.session.scalars(
            select(AccessRequest).where(AccessRequest.decided_at.is_(None)).order_by(AccessRequest.id).limit(limit)
        )
    )


def pending_access_of(user: User) -> list[AccessRequest]:
    """The undecided requests for one account (a handful at most), oldest first."""
    return list(
        db.session.scalars(
            select(AccessRequest)
            .where(AccessRequest.user_id == user.id, AccessRequest.decided_at.is_(None))
            .order_by(AccessRequest.id)
            .limit(PAGE_SIZE)
        )
    )


def has_pending_access(user: User) -> bool:
    return (
        db.session.scalar(
            select(AccessRequest.id).where(AccessRequest.user_id == user.id, AccessRequest.decided_at.is_(None))
        )
        is not None
    )


# --- search ---------------------------------------------------------------------------------

SEARCH_PAGE = 25
REFERENCE_PATTERN = re.compile(r"SHG-\d{4}-\d{6}", re.IGNORECASE)


def search_cases(me: User, query: str, key: bytes, before: Optional[int] = None) -> tuple[list[Case], Optional[int]]:
    """The cases ``me`` may see that match ``query`` (a reference, an exact e-mail or phone, or words
    of the narrative, place, notes and messages through the blind index), newest first, one page;
    and the id to continue before. A case worker's results, like their queue pages, hold only the
    cases of their queues; nothing counts the others."""
    if me.role not in (Role.CASEWORKER, Role.SUPERVISOR):
        return [], None
    visible = _visible_filter(me)
    if REFERENCE_PATTERN.fullmatch(query.strip()):
        stmt = select(Case).where(Case.reference == query.strip().upper())
        return list(db.session.scalars(stmt.where(visible) if visible is not None else stmt)), None
    groups = [[search.blind(key, t) for t in group] for group in search.query_terms(query)]
    if not groups:
        return [], None
    if len(groups) > 1:  # the rarest word leads, so the scan stops early; each probe reads ≤ PROBE entries
        groups.sort(key=_postings_up_to)
    first = aliased(SearchTerm)
    stmt = select(first.case_id).where(first.term.in_(groups[0]))
    for group in groups[1:]:
        other = aliased(SearchTerm)
        stmt = stmt.where(exists().where(other.case_id == first.case_id, other.term.in_(group)))
    if visible is not None:
        stmt = stmt.join(Case, Case.id == first.case_id).where(visible)
    if before is not None:
        stmt = stmt.where(first.case_id < before)
    ids = list(db.session.scalars(stmt.group_by(first.case_id).order_by(first.case_id.desc()).limit(SEARCH_PAGE + 1)))
    more = len(ids) > SEARCH_PAGE
    ids = ids[:SEARCH_PAGE]
    cases = list(db.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id.desc()))) if ids else []
    return cases, (ids[-1] if more else None)


SEARCH_PROBE = 1000


def _postings_up_to(terms: list[bytes]) -> int:
    """How many cases have one of these terms, counted up to SEARCH_PROBE (an index range read)."""
    probe = select(SearchTerm.case_id).where(SearchTerm.term.in_(terms)).limit(SEARCH_PROBE).subquery()
    return db.session.scalar(select(func.count()).select_from(probe)) or 0


def _visible_filter(me: User):
    """None for a supervisor (every case); for a case worker, the cases of their queues."""
    if me.role == Role.SUPERVISOR:
        return None
    return Case.queue_id.in_(select(QueueMembership.queue_id).where(QueueMembership.user_id == me.id))
