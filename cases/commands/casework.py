"""Staff actions on a case: claim, assign, status, priority, queue, notes, messages, hold, read access.

Each command locks the case row first and compares the version the actor saw,
so two people acting at once never overwrite each other silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from cases import access, deadlines, reference, search, workflow
from cases.commands import unit
from cases.commands.searchindex import index_terms
from cases.commands.unit import CommandError, Conflict, Forbidden, NotFound, command, lock_case, record, touch
from cases.models import Case, Event, Evidence, Message, Queue, QueueMembership, ReplyTemplate, User
from cases.vocabulary import Action, ActorType, MessageKind, Priority, Role
from cases.workflow import Status
from i18n import N_
from storage import db


def _staff_event(case: Case, actor: User, action: Action, now: datetime, **kw) -> Event:
    return record(case, ActorType.STAFF, action, actor, at=now, **kw)


def reference_data() -> reference.Reference:
    """Routing rules, queues and category settings: this process's copy, checked against the
    database's version number in the current transaction."""
    return reference.cached(current_app.extensions.setdefault("shagym_reference", {}))


def first_response_due(
    category: str, start: datetime, priority: int, office: reference.Reference | None = None
) -> datetime:
    """The first-response due date for this category and priority, counted from ``start``
    in the office's time zone (``office``: the reference data the caller already holds)."""
    setting = (office or reference_data()).categories.get(category)
    return deadlines.due_at(
        start,
        priority,
        setting.first_response_hours if setting else None,
        setting.first_response_working_days if setting else 3,
        ZoneInfo(current_app.config["OFFICE_TIMEZONE"]),
    )


def resolution_due(category: str, start: datetime, office: reference.Reference | None = None) -> datetime | None:
    """The resolution target for this category counted from ``start``; None if it has none."""
    setting = (office or reference_data()).categories.get(category)
    days = setting.resolution_working_days if setting else None
    return deadlines.resolution_due(start, days, ZoneInfo(current_app.config["OFFICE_TIMEZONE"]))


@command
def claim(case_id: int, actor: User, expected_version: int | None = None) -> Case:
    """Take an unassigned open case. Refused if someone else holds it (Conflict)."""
    case = lock_case(case_id, actor, expected_version)
    if not case.is_open:
        raise CommandError(N_("Only open cases can be claimed."))
    if case.assignee_id is not None:
        if case.assignee_id == actor.id:
            raise CommandError(N_("You already hold this case."))
        raise Conflict(N_("Someone else claimed this case first — reload the page."))
    now = unit.utcnow()
    case.assignee_id = actor.id
    touch(case, now)
    # They claim it from the open case page: the reporter's news is read by its new assignee.
    details = {"claim": True, "news_read": True} if case.reporter_news else {"claim": True}
    case.reporter_news = False
    _staff_event(case, actor, Action.ASSIGNED, now, old=None, new=actor.id, details=details)
    return case


@command
def assign(
    case_id: int, actor: User, assignee_id: int | None, expected_version: int | None = None, reason: str = ""
) -> Case:
    """Supervisor assigns, reassigns or unassigns. The assignee must work the case's queue."""
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors can assign cases."))
    case = lock_case(case_id, actor, expected_version)
    if assignee_id is not None:
        user = db.session.get(User, assignee_id)
        if user is None or not user.active or not access.can_see(db.session, user, case):
            raise CommandError(N_("That person cannot work cases in this queue."))
    if case.assignee_id == assignee_id:
        raise CommandError(N_("The case is already assigned that way."))
    now = unit.utcnow()
    old = case.assignee_id
    case.assignee_id = assignee_id
    touch(case, now)
    _staff_event(
        case,
        actor,
        Action.ASSIGNED if assignee_id else Action.UNASSIGNED,
        now,
        old=old,
        new=assignee_id,
        reason=reason.strip() or None,
    )
    return case


@command
def hand_over(
    case_id: int, actor: User, colleague_id: int, expected_version: int | None = None, reason: str = ""
) -> Case:
    """A case worker of the queue hands an open case to a colleague in the same queue (audited as an
    assignment by the case worker). Supervisors assign with ``assign``."""
    if actor.role != Role.CASEWORKER:
        raise Forbidden(N_("Only case workers hand cases to colleagues; supervisors assign them."))
    case = lock_case(case_id, actor, expected_version)
    if not case.is_open:
        raise CommandError(N_("This case is finished; it cannot be handed over."))
    colleague = db.session.get(User, colleague_id)
    if (
        colleague is None
        or not colleague.active
        or colleague.role != Role.CASEWORKER
        or db.session.get(QueueMembership, (colleague.id, case.queue_id)) is None
    ):
        raise CommandError(N_("Choose a colleague who works this queue."))
    if case.assignee_id == colleague.id:
        raise CommandError(N_("The case is already assigned that way."))
    now = unit.utcnow()
    old = case.assignee_id
    case.assignee_id = colleague.id
    touch(case, now)
    _staff_event(case, actor, Action.ASSIGNED, now, old=old, new=colleague.id, reason=reason.strip() or None)
    return case


@command
def change_status(
    case_id: int,
    actor: User,
    target: str,
    reason: str = "",
    expected_version: int | None = None,
    message_to_reporter: str = "",
) -> Case:
    """Move a case along the workflow table; raises TransitionRefused with the reason."""
    case = lock_case(case_id, actor, expected_version)
    transition = workflow.check(case.status, target, actor.role, reason)
    now = unit.utcnow()
    apply_transition(case, transition, now)
    _staff_event(
        case,
        actor,
        Action.STATUS,
        now,
        old=transition.source.value,
        new=transition.target.value,
        reason=reason.strip() or None,
    )
    if message_to_reporter.strip():
        add_message(case, actor, MessageKind.TO_REPORTER, message_to_reporter, now)
    return case


def apply_transition(case: Case, t: workflow.Transition, now: datetime) -> None:
    """Move the case along ``t`` (already checked): the one place that keeps the service-level
    clocks, open/finished flags and version right, for staff and for the reporter's reply alike."""
    if case.status == Status.AWAITING_INFO.value and case.paused_at is not None:
        # Both clocks stood still while the case waited for the reporter.
        case.due_at = deadlines.resume(case.due_at, case.paused_at, now)
        if case.resolution_due_at is not None:
            case.resolution_due_at = deadlines.resume(case.resolution_due_at, case.paused_at, now)
        case.paused_seconds += int((now - case.paused_at).total_seconds())
        case.paused_at = None
    if t.target == Status.AWAITING_INFO:
        case.paused_at = now
    if workflow.is_reopen(t):
        case.due_at = first_response_due(case.category, now, case.priority)
        case.resolution_due_at = resolution_due(case.category, now)
        case.paused_seconds = 0
        case.first_response_at = None  # a reopened case owes the reporter a new first response
        case.escalated_at = None  # and may be escalated again
        case.reopened += 1
    elif t.target in workflow.FIRST_RESPONSES:
        deadlines.meet_first_response(case, now)
    case.status = t.target.value
    case.is_open = t.target in workflow.OPEN_STATUSES
    case.resolved_at = None if case.is_open else (case.resolved_at or now)
    case.finished_at = now if t.target in workflow.FINISHED_STATUSES else None
    case.public_updated_at = now
    touch(case, now)


@command
def change_priority(
    case_id: int, actor: User, priority: str, reason: str = "", expected_version: int | None = None
) -> Case:
    """Set urgent/high/normal/low; the first-response due date follows the new priority."""
    value = Priority.from_label(priority)
    if value is None:
        raise CommandError(N_("Unknown priority."))
    case = lock_case(case_id, actor, expected_version)
    if not case.is_open:
        raise CommandError(N_("Only open cases can change priority."))
    if value == case.priority:
        raise CommandError(N_("The case already has that priority."))
    now = unit.utcnow()
    old = case.priority_name
    case.priority = value
    case.due_at = first_response_due(case.category, _clock_start(case), value) + timedelta(seconds=case.paused_seconds)
    touch(case, now)
    _staff_event(
        case,
        actor,
        Action.PRIORITY,
        now,
        old=old,
        new=priority,
        reason=reason.strip() or None,
        details={"due": case.due_at.isoformat()},
    )
    return case


def _clock_start(case: Case) -> datetime:
    """When the first-response clock started: the last reopening, else the report itself."""
    reopened = db.session.scalar(
        select(func.max(Event.created_at)).where(
            Event.chain_id == case.id,
            Event.action == Action.STATUS,
            Event.new_value == Status.TRIAGE.value,
            Event.old_value.in_([s.value for s in (Status.RESOLVED, Status.CLOSED, Status.REJECTED)]),
        )
    )
    return reopened or case.created_at


@command
def move_queue(case_id: int, actor: User, queue_slug: str, reason: str, expected_version: int | None = None) -> Case:
    """Supervisor moves a case to another queue; a reason is required. The assignee is cleared."""
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors can move cases between queues."))
    if not reason.strip():
        raise CommandError(N_("A reason is required to move a case to another queue."))
    queue = db.session.scalar(select(Queue).where(Queue.slug == queue_slug, Queue.active.is_(True)))
    if queue is None:
        raise CommandError(N_("Unknown queue."))
    case = lock_case(case_id, actor, expected_version)
    if queue.id == case.queue_id:
        raise CommandError(N_("The case is already in that queue."))
    now = unit.utcnow()
    old_slug = case.queue.slug
    case.queue_id = queue.id
    if case.assignee_id is not None:
        _staff_event(
            case, actor, Action.UNASSIGNED, now, old=case.assignee_id, new=None, reason="moved to another queue"
        )
        case.assignee_id = None
    touch(case, now)
    _staff_event(case, actor, Action.QUEUE, now, old=old_slug, new=queue.slug, reason=reason.strip())
    return case


MESSAGE_ACTIONS = {
    MessageKind.NOTE: Action.NOTE,
    MessageKind.TO_REPORTER: Action.MESSAGE_SENT,
    MessageKind.FROM_REPORTER: Action.REPORTER_MESSAGE,
}


def add_message(
    case: Case, actor: User | None, kind: MessageKind, body: str, now: datetime, details: dict | None = None
) -> Message:
    """Store a note or a message (``actor`` None: the reporter) and its audit event; part of a command."""
    message = Message(
        case_id=case.id, kind=kind.value, author_id=actor.id if actor else None, body=body.strip(), created_at=now
    )
    db.session.add(message)
    db.session.flush()
    index_terms(case.id, search.text_terms(message.body))
    record(
        case,
        ActorType.STAFF if actor else ActorType.REPORTER,
        MESSAGE_ACTIONS[kind],
        actor,
        new=message.id,
        at=now,
        details=details,
    )
    if kind == MessageKind.TO_REPORTER:
        case.public_updated_at = now
        case.reporter_news = False  # the reporter has been answered
        deadlines.meet_first_response(case, now)
    return message


@command
def add_note(case_id: int, actor: User, body: str) -> Message:
    """An internal note: staff only, never shown to the reporter."""
    if not body.strip():
        raise CommandError(N_("The note is empty."))
    case = lock_case(case_id, actor)
    now = unit.utcnow()
    message = add_message(case, actor, MessageKind.NOTE, body, now)
    case.updated_at = now
    return message


@command
def send_message(case_id: int, actor: User, body: str, template_id: int | None = None) -> Message:
    """A message the reporter reads on the tracking page. ``template_id``: the reply template it
    was started from, recorded in the event's details (an id that names no template is left out)."""
    if not body.strip():
        raise CommandError(N_("The message is empty."))
    case = lock_case(case_id, actor)
    if case.content_destroyed_at is not None:
        raise CommandError(N_("This case's personal content was destroyed; it cannot take messages."))
    now = unit.utcnow()
    used = template_id is not None and db.session.get(ReplyTemplate, template_id) is not None
    message = add_message(case, actor, MessageKind.TO_REPORTER, body, now, {"template": template_id} if used else None)
    case.updated_at = now
    return message


@command
def record_view(case_id: int, actor: User) -> None:
    """Every time staff open a case, an access event joins its chain (read access is audited).
    When the case's assignee opens it, the reporter's news counts as read (``news_read`` in the event)."""
    case = lock_case(case_id, actor)
    news_read = bool(case.reporter_news) and case.assignee_id == actor.id
    if news_read:
        case.reporter_news = False
    _staff_event(case, actor, Action.VIEWED, unit.utcnow(), details={"news_read": True} if news_read else None)


@command
def set_legal_hold(case_id: int, actor: User, on: bool, reason: str, expected_version: int | None = None) -> Case:
    """Supervisor puts a case on legal hold (exempt from retention) or lifts it; reason required."""
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors can set a legal hold."))
    if not reason.strip():
        raise CommandError(N_("A reason is required for a legal hold."))
    case = lock_case(case_id, actor, expected_version)
    if case.legal_hold == on:
        raise CommandError(N_("The legal hold is already set that way."))
    now = unit.utcnow()
    case.legal_hold = on
    touch(case, now)
    _staff_event(
        case, actor, Action.LEGAL_HOLD, now, old=str(not on).lower(), new=str(on).lower(), reason=reason.strip()
    )
    return case


@dataclass(frozen=True)
class Download:
    """An evidence file as handed out, read before the commit (nothing to reload afterwards)."""

    id: int
    filename: str
    kind: str
    content: bytes


@command
def record_download(case_id: int, evidence_id: int, actor: User) -> Download:
    """A staff member downloads an evidence file: the file, and an ``evidence_downloaded`` event
    in the case's chain (read access is audited). A case or file they may not see is ``NotFound``."""
    case = lock_case(case_id, actor)
    item = db.session.scalar(
        select(Evidence)
        .options(undefer(Evidence.content))
        .where(Evidence.id == evidence_id, Evidence.case_id == case.id)
    )
    if item is None or item.content is None:
        raise NotFound(N_("Case not found."))
    _staff_event(case, actor, Action.EVIDENCE_DOWNLOADED, unit.utcnow(), new=item.id, details={"sha256": item.sha256})
    return Download(item.id, item.filename or "file", item.kind, item.content)
