"""The read side: queries for staff pages and for the reporter's tracking page.

Nothing here writes. Every query is bounded and indexed.

Queue pages, their filters, orders and counts are in ``cases/triage.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Optional

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from cases import access, access_review, accounts, history, receipts, search
from cases.models import (
    AccessRequest,
    Case,
    CaseLink,
    CaseTag,
    Event,
    Evidence,
    Message,
    Queue,
    QueueMembership,
    ReplyTemplate,
    SearchTerm,
    Tag,
    TrackingSession,
    User,
)
from cases.triage import PAGE_SIZE
from cases.vocabulary import Action, ActorType, LinkKind, MessageKind, Role
from cases.workflow import FINISHED_STATUSES, Status
from storage import db


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
    # Closed as a duplicate of another case: the page says so in neutral words, naming no case.
    joined: bool = False


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
        joined=case.status == Status.CLOSED and _is_duplicate(case.id),
    )


def _is_duplicate(case_id: int) -> bool:
    """Closed as a duplicate: a ``duplicate_of`` link goes from it (one lookup on the pair key)."""
    found = select(CaseLink.id).where(CaseLink.case_id == case_id, CaseLink.kind == LinkKind.DUPLICATE_OF).limit(1)
    return db.session.scalar(found) is not None


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


def history_labels(events: list[Event], viewer: Optional[User] = None) -> history.Labels:
    """Names, queue names and references for the ids in ``events`` (four bounded queries). The
    other cases of links are named only if ``viewer`` (when given) may see them."""
    user_ids: set[int] = set()
    linked: set[int] = set()
    for e in events:
        if e.actor_id:
            user_ids.add(e.actor_id)
        if e.action in (Action.ASSIGNED, Action.UNASSIGNED):
            user_ids.update(int(v) for v in map(str, (e.old_value, e.new_value)) if v.isdigit())
        if e.action in history.LINK_ACTIONS:
            linked.update(int(v) for v in map(str, (e.old_value, e.new_value)) if v.isdigit())
    case_ids = {e.case_id for e in events if e.case_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).tuples().all())
    references = dict(db.session.execute(select(Case.id, Case.reference).where(Case.id.in_(case_ids))).tuples().all())
    if linked - case_ids:
        stmt = select(Case.id, Case.reference).where(Case.id.in_(linked - case_ids))
        visible = access.case_filter(viewer) if viewer is not None else None
        references |= dict(db.session.execute(stmt if visible is None else stmt.where(visible)).tuples().all())
    queues = dict(db.session.execute(select(Queue.slug, Queue.name)).tuples().all())
    return history.Labels(names, queues, references)


def tags_for(case_ids: Iterable[int]) -> dict[int, list[Tag]]:
    """The tags of these cases (a queue page's rows), in one query on the ``case_tags`` key; each
    list in slug order, and a case without tags absent."""
    ids = sorted(set(case_ids))
    out: dict[int, list[Tag]] = {}
    if not ids:
        return out
    rows = db.session.execute(
        select(CaseTag.case_id, Tag)
        .join(Tag, Tag.id == CaseTag.tag_id)
        .where(CaseTag.case_id.in_(ids))
        .order_by(Tag.slug)
    )
    for case_id, tag in rows.tuples():
        out.setdefault(case_id, []).append(tag)
    return out


# --- access analytics -----------------------------------------------------------------------


@dataclass(frozen=True)
class AccessReport:
    """Read access per person and office day in a period, and the days to review (no case in it)."""

    since: date
    until: date
    days: list[access_review.Day]
    flags: list[access_review.Flag]
    names: dict[int, str]


def access_report(
    since: date, until: date, tz: tzinfo, night: access_review.Night, factor: float, floor: int
) -> AccessReport:
    """Cases opened and files downloaded per staff member and office day from ``since`` to ``until``
    (included), and the days ``access_review.flags`` lists. Raises ``access_review.BadPeriod``.

    One range scan of ``ix_events_created`` over the period and the 30 days before it (what is usual
    for each person), streamed: the cost grows with the read-access events of those days, never
    with the whole trail; the memory with the distinct (person, day, case) triples.
    """
    access_review.check_period(since, until)
    start = datetime.combine(since - timedelta(days=access_review.HISTORY_DAYS), time.min, tz).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, tz).astimezone(UTC)
    stmt = (
        select(Event.actor_id, Event.case_id, Event.action, Event.created_at)
        .where(
            Event.created_at >= start,
            Event.created_at < end,
            Event.action.in_(access_review.ACTIONS),
            Event.actor_type == ActorType.STAFF,
            Event.actor_id.is_not(None),
        )
        .execution_options(yield_per=2000)
    )
    accesses = (
        access_review.Access(actor, case_id, action, at.astimezone(tz))
        for actor, case_id, action, at in db.session.execute(stmt)
    )
    figures = access_review.days(accesses, night)
    rows = access_review.in_period(figures, since, until)
    flags = access_review.flags(figures, since, until, factor, floor)
    ids = {d.actor_id for d in rows}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())
    return AccessReport(since, until, rows, flags, names)


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


def escalation_recipients(queue_id: int) -> list[str]:
    """The addresses of the queue's active supervisors; if it has none, of every active supervisor."""
    supervisors = select(User.email).where(User.role == Role.SUPERVISOR, User.active.is_(True)).order_by(User.id)
    members = supervisors.join(QueueMembership, QueueMembership.user_id == User.id).where(
        QueueMembership.queue_id == queue_id
    )
    return list(db.session.scalars(members)) or list(db.session.scalars(supervisors))


# --- reply templates ------------------------------------------------------------------------

TEMPLATE_LIMIT = 200  # an office keeps a few dozen; the pages show at most this many


def reply_templates(limit: int = TEMPLATE_LIMIT) -> list[ReplyTemplate]:
    """Every template for the supervisors' list: active first, by language and name (``ix_reply_templates_list``)."""
    return list(
        db.session.scalars(
            select(ReplyTemplate)
            .order_by(ReplyTemplate.active.desc(), ReplyTemplate.language, ReplyTemplate.name)
            .limit(limit)
        )
    )


def template_choices(language: str, limit: int = TEMPLATE_LIMIT) -> list[ReplyTemplate]:
    """The active templates a message can start from, those in the reporter's ``language`` first."""
    return list(
        db.session.scalars(
            select(ReplyTemplate)
            .where(ReplyTemplate.active.is_(True))
            .order_by((ReplyTemplate.language != language), ReplyTemplate.language, ReplyTemplate.name)
            .limit(limit)
        )
    )


def active_template(template_id: int | None) -> ReplyTemplate | None:
    """One template still offered in the chooser (None for an unknown, forged or deactivated id)."""
    if template_id is None:
        return None
    return db.session.scalar(
        select(ReplyTemplate).where(ReplyTemplate.id == template_id, ReplyTemplate.active.is_(True))
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
