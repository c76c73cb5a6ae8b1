"""The only code that changes a case.

Each function checks its rule, applies the change, appends the audit event,
and commits: one transaction per action. Staff actions lock the case row
first (``FOR UPDATE`` on PostgreSQL; SQLite write transactions begin
immediately) and compare the version the actor saw, so two people acting at
once never overwrite each other silently.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from cases import access, audit, deadlines, evidence, receipts, routing, workflow
from cases.categories import N_
from cases.models import Case, CategorySetting, Checkpoint, Event, Evidence, Message, Priority, Queue, RoutingRule, User
from cases.workflow import Status
from extensions import db

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A refused action; the message is safe to show to the actor."""


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class Conflict(ServiceError):
    def __init__(
        self, message: str = N_("This case was changed by someone else — reload the page and try again.")
    ) -> None:
        super().__init__(message)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- intake -----------------------------------------------------------------


@dataclass(frozen=True)
class NewReport:
    category: str
    narrative: str
    occurred_on: Optional[date]
    ongoing: bool
    region: str
    place_description: str
    immediate_danger: bool
    child_affected: str
    in_custody: str
    reporter_role: str
    contact_email: str
    contact_phone: str

    @property
    def facts(self) -> routing.ReportFacts:
        return routing.ReportFacts(
            self.category, self.immediate_danger, self.child_affected, self.in_custody, self.region
        )


@dataclass(frozen=True)
class Filed:
    """The new case, its receipt, and what the receipt page shows, read before the commit
    (so rendering it never reopens a transaction or waits for the writer lock)."""

    case: Case
    receipt: str
    queue: Queue
    reference: str = ""
    due_at: datetime | None = None
    queue_name: str = ""
    queue_description: str = ""
    has_email: bool = False


class DuplicateSubmission(ServiceError):
    """The same form was submitted twice (a refresh or double click)."""


def file_report(
    report: NewReport, receipt_key: bytes, submission_token: str | None = None, files: Sequence[evidence.Checked] = ()
) -> Filed:
    """Store a report and its files, route it and write ``created``, ``routed`` and one
    ``evidence_added`` per file: one transaction, one commit, so a report and its files
    are stored together or not at all.

    Raises ``DuplicateSubmission`` when this form's token was already used.
    """
    session = db.session
    now = utcnow()
    rules = session.scalars(select(RoutingRule).where(RoutingRule.active.is_(True))).all()
    decision = routing.route(report.facts, rules)
    setting = session.get(CategorySetting, report.category)
    code = receipts.new_code()
    case = Case(
        created_at=now,
        updated_at=now,
        public_updated_at=now,
        category=report.category,
        region=report.region,
        place_description=report.place_description or None,
        narrative=report.narrative,
        occurred_on=report.occurred_on,
        ongoing=report.ongoing,
        immediate_danger=report.immediate_danger,
        child_affected=report.child_affected,
        in_custody=report.in_custody,
        reporter_role=report.reporter_role,
        contact_email=report.contact_email or None,
        contact_phone=report.contact_phone or None,
        receipt_hash=receipts.digest(receipt_key, receipts.normalize(code) or ""),
        submission_hash=hashlib.sha256(submission_token.encode()).digest() if submission_token else None,
        queue_id=decision.queue_id,
        routing_rule_id=decision.rule.id,
        routing_rule_name=decision.rule.name,
        priority=decision.priority,
        status=Status.NEW.value,
        is_open=True,
        due_at=deadlines.due_at(
            now,
            decision.priority,
            setting.first_response_hours if setting else None,
            setting.first_response_working_days if setting else 3,
        ),
        version=1,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        if submission_token and _submission_used(submission_token):
            raise DuplicateSubmission(N_("This report was already received.")) from exc
        raise
    case.reference = f"SHG-{now.year}-{case.id:06d}"
    queue = decision.rule.queue
    audit.append(
        session,
        case=case,
        actor_type="public",
        action="created",
        new=case.reference,
        at=now,
        details={"category": report.category},
        new_chain=True,
    )
    audit.append(
        session,
        case=case,
        actor_type="system",
        action="routed",
        new=queue.slug,
        at=now,
        details={
            "rule": decision.rule.name,
            "rule_id": decision.rule.id,
            "priority": Priority.NAMES[decision.priority],
            "due": case.due_at.isoformat(),
        },
    )
    for checked in files:
        add_evidence(case, checked, now)
    filed = Filed(
        case, code, queue, case.reference, case.due_at, queue.name, queue.description or "", bool(report.contact_email)
    )
    _commit()
    return filed


def add_evidence(case: Case, checked: evidence.Checked, now: datetime) -> Evidence:
    """Store one accepted file with the case; its SHA-256 and size go into the audit chain."""
    item = Evidence(
        case_id=case.id,
        created_at=now,
        filename=checked.filename,
        kind=checked.kind,
        size=checked.size,
        sha256=checked.sha256,
        has_gps=checked.has_gps,
        content=checked.content,
    )
    db.session.add(item)
    db.session.flush()
    audit.append(
        db.session,
        case=case,
        actor_type="reporter",
        action="evidence_added",
        new=item.id,
        at=now,
        details={"sha256": checked.sha256, "size": checked.size, "type": checked.kind},
    )
    return item


def _submission_used(token: str) -> bool:
    digest = hashlib.sha256(token.encode()).digest()
    return db.session.scalar(select(Case.id).where(Case.submission_hash == digest)) is not None


def find_by_receipt(receipt_key: bytes, typed: str) -> Optional[Case]:
    """One indexed lookup by the keyed hash; the same work whether or not it exists."""
    normalized = receipts.normalize(typed)
    # Hash something even for malformed input so both paths cost the same.
    digest = receipts.digest(receipt_key, normalized or "0" * receipts.LENGTH)
    case = db.session.scalar(select(Case).where(Case.receipt_hash == digest))
    return case if normalized else None


# --- staff actions ----------------------------------------------------------


def _lock(case_id: int, actor: User, expected_version: int | None) -> Case:
    case = db.session.scalars(
        # OF cases: PostgreSQL cannot lock the outer-joined queue/assignee rows the eager loads add.
        select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True)
    ).first()
    if case is None or not access.can_see(db.session, actor, case):
        raise NotFound(N_("Case not found."))
    if expected_version is not None and case.version != expected_version:
        raise Conflict()
    return case


def _touch(case: Case, now: datetime) -> None:
    case.version += 1
    case.updated_at = now


def _commit() -> None:
    """Commit the action and its events; a lost race (unique seq, stale row) becomes ``Conflict``.

    A checkpoint is due when the newest event id has passed a multiple of
    AUDIT_CHECKPOINT_EVERY since the last checkpoint. (Counting only the events
    still pending here would miss those that autoflush already sent.)
    """
    session = db.session
    wrote_events = session.info.pop(audit.APPENDED, False)
    try:
        session.flush()
        due = wrote_events and _checkpoint_due()
        session.commit()
    except (IntegrityError, StaleDataError) as exc:
        session.rollback()
        raise Conflict() from exc
    if due:
        _write_checkpoint_quietly()


def _checkpoint_due() -> bool:
    every = current_app.config["AUDIT_CHECKPOINT_EVERY"]
    if every <= 0:
        return False
    last_event = db.session.scalar(select(func.max(Event.id))) or 0
    last_signed = db.session.scalar(select(func.max(Checkpoint.last_event_id))) or 0
    return last_event // every > last_signed // every


def _write_checkpoint_quietly() -> None:
    try:
        write_checkpoint()
    except Exception:  # the change itself is committed; a later checkpoint covers it
        db.session.rollback()
        log.exception("audit checkpoint failed")


def write_checkpoint() -> Optional[Checkpoint]:
    """Sign a Merkle tree head over all committed events (waits for in-flight writers)."""
    session = db.session
    if db.engine.dialect.name == "postgresql":
        # Waits for transactions still inserting events, so no lower id commits after the head,
        # and (unlike SHARE) conflicts with itself: one checkpoint writer at a time, so two
        # never race to sign the same head. (``session.bind`` is None under Flask-SQLAlchemy.)
        session.execute(db.text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))
    cp = audit.write_checkpoint(session, current_app.extensions["shagym_signing_key"])
    session.commit()
    if cp is not None:
        audit.record_head(current_app.instance_path, cp)
    return cp


def _staff_event(case: Case, actor: User, action: str, now: datetime, **kw) -> Event:
    return audit.append(db.session, case=case, actor_type="staff", actor_id=actor.id, action=action, at=now, **kw)


def claim(case_id: int, actor: User, expected_version: int | None = None) -> Case:
    """Take an unassigned open case. Refused if someone else holds it (Conflict)."""
    case = _lock(case_id, actor, expected_version)
    if not case.is_open:
        raise ServiceError(N_("Only open cases can be claimed."))
    if case.assignee_id is not None:
        if case.assignee_id == actor.id:
            raise ServiceError(N_("You already hold this case."))
        raise Conflict(N_("Someone else claimed this case first — reload the page."))
    now = utcnow()
    case.assignee_id = actor.id
    _touch(case, now)
    _staff_event(case, actor, "assigned", now, old=None, new=actor.id, details={"claim": True})
    _commit()
    return case


def assign(
    case_id: int, actor: User, assignee_id: int | None, expected_version: int | None = None, reason: str = ""
) -> Case:
    """Supervisor assigns, reassigns or unassigns. The assignee must work the case's queue."""
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors can assign cases."))
    case = _lock(case_id, actor, expected_version)
    if assignee_id is not None:
        user = db.session.get(User, assignee_id)
        if user is None or not user.active or not access.can_see(db.session, user, case):
            raise ServiceError(N_("That person cannot work cases in this queue."))
    if case.assignee_id == assignee_id:
        raise ServiceError(N_("The case is already assigned that way."))
    now = utcnow()
    old = case.assignee_id
    case.assignee_id = assignee_id
    _touch(case, now)
    _staff_event(
        case,
        actor,
        "assigned" if assignee_id else "unassigned",
        now,
        old=old,
        new=assignee_id,
        reason=reason.strip() or None,
    )
    _commit()
    return case


def change_status(
    case_id: int,
    actor: User,
    target: str,
    reason: str = "",
    expected_version: int | None = None,
    message_to_reporter: str = "",
) -> Case:
    """Move a case along the workflow table; raises TransitionRefused with the reason."""
    case = _lock(case_id, actor, expected_version)
    transition = workflow.check(case.status, target, actor.role, reason)
    now = utcnow()
    _apply_transition(case, transition, now)
    _staff_event(
        case,
        actor,
        "status",
        now,
        old=transition.source.value,
        new=transition.target.value,
        reason=reason.strip() or None,
    )
    if message_to_reporter.strip():
        _add_message(case, actor, "to_reporter", message_to_reporter, now)
    _commit()
    return case


def _apply_transition(case: Case, t: workflow.Transition, now: datetime) -> None:
    if case.status == Status.AWAITING_INFO.value and case.paused_at is not None:
        case.due_at = deadlines.resume(case.due_at, case.paused_at, now)
        case.paused_seconds += int((now - case.paused_at).total_seconds())
        case.paused_at = None
    if t.target == Status.AWAITING_INFO:
        case.paused_at = now
    if workflow.is_reopen(t):
        setting = db.session.get(CategorySetting, case.category)
        case.due_at = deadlines.due_at(
            now,
            case.priority,
            setting.first_response_hours if setting else None,
            setting.first_response_working_days if setting else 3,
        )
        case.paused_seconds = 0
    case.status = t.target.value
    case.is_open = t.target in workflow.OPEN_STATUSES
    case.finished_at = now if t.target in workflow.FINISHED_STATUSES else None
    case.public_updated_at = now
    _touch(case, now)


def change_priority(
    case_id: int, actor: User, priority: str, reason: str = "", expected_version: int | None = None
) -> Case:
    """Set urgent/high/normal/low; the first-response due date follows the new priority."""
    if priority not in Priority.BY_NAME:
        raise ServiceError(N_("Unknown priority."))
    case = _lock(case_id, actor, expected_version)
    if not case.is_open:
        raise ServiceError(N_("Only open cases can change priority."))
    value = Priority.BY_NAME[priority]
    if value == case.priority:
        raise ServiceError(N_("The case already has that priority."))
    now = utcnow()
    old = case.priority_name
    case.priority = value
    setting = db.session.get(CategorySetting, case.category)
    base = deadlines.due_at(
        _clock_start(case),
        value,
        setting.first_response_hours if setting else None,
        setting.first_response_working_days if setting else 3,
    )
    case.due_at = base + timedelta(seconds=case.paused_seconds)
    _touch(case, now)
    _staff_event(
        case,
        actor,
        "priority",
        now,
        old=old,
        new=priority,
        reason=reason.strip() or None,
        details={"due": case.due_at.isoformat()},
    )
    _commit()
    return case


def _clock_start(case: Case) -> datetime:
    """When the first-response clock started: the last reopening, else the report itself."""
    reopened = db.session.scalar(
        select(func.max(Event.created_at)).where(
            Event.chain_id == case.id,
            Event.action == "status",
            Event.new_value == Status.TRIAGE.value,
            Event.old_value.in_([s.value for s in (Status.RESOLVED, Status.CLOSED, Status.REJECTED)]),
        )
    )
    return reopened or case.created_at


def move_queue(case_id: int, actor: User, queue_slug: str, reason: str, expected_version: int | None = None) -> Case:
    """Supervisor moves a case to another queue; a reason is required. The assignee is cleared."""
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors can move cases between queues."))
    if not reason.strip():
        raise ServiceError(N_("A reason is required to move a case to another queue."))
    queue = db.session.scalar(select(Queue).where(Queue.slug == queue_slug, Queue.active.is_(True)))
    if queue is None:
        raise ServiceError(N_("Unknown queue."))
    case = _lock(case_id, actor, expected_version)
    if queue.id == case.queue_id:
        raise ServiceError(N_("The case is already in that queue."))
    now = utcnow()
    old_slug = case.queue.slug
    case.queue_id = queue.id
    if case.assignee_id is not None:
        _staff_event(case, actor, "unassigned", now, old=case.assignee_id, new=None, reason="moved to another queue")
        case.assignee_id = None
    _touch(case, now)
    _staff_event(case, actor, "queue", now, old=old_slug, new=queue.slug, reason=reason.strip())
    _commit()
    return case


def _add_message(case: Case, actor: User | None, kind: str, body: str, now: datetime) -> Message:
    message = Message(
        case_id=case.id, kind=kind, author_id=actor.id if actor else None, body=body.strip(), created_at=now
    )
    db.session.add(message)
    db.session.flush()
    action = {"note": "note", "to_reporter": "message_sent", "from_reporter": "reporter_message"}[kind]
    audit.append(
        db.session,
        case=case,
        actor_type="staff" if actor else "reporter",
        actor_id=actor.id if actor else None,
        action=action,
        new=message.id,
        at=now,
    )
    if kind == "to_reporter":
        case.public_updated_at = now
    return message


def add_note(case_id: int, actor: User, body: str) -> Message:
    """An internal note: staff only, never shown to the reporter."""
    if not body.strip():
        raise ServiceError(N_("The note is empty."))
    case = _lock(case_id, actor, None)
    now = utcnow()
    message = _add_message(case, actor, "note", body, now)
    case.updated_at = now
    _commit()
    return message


def send_message(case_id: int, actor: User, body: str) -> Message:
    """A message the reporter reads on the tracking page."""
    if not body.strip():
        raise ServiceError(N_("The message is empty."))
    case = _lock(case_id, actor, None)
    if case.content_destroyed_at is not None:
        raise ServiceError(N_("This case's personal content was destroyed; it cannot take messages."))
    now = utcnow()
    message = _add_message(case, actor, "to_reporter", body, now)
    case.updated_at = now
    _commit()
    return message


def record_view(case_id: int, actor: User) -> None:
    """Every time staff open a case, an access event joins its chain (read access is audited)."""
    case = _lock(case_id, actor, None)
    audit.append(db.session, case=case, actor_type="staff", actor_id=actor.id, action="viewed", at=utcnow())
    _commit()


def set_legal_hold(case_id: int, actor: User, on: bool, reason: str, expected_version: int | None = None) -> Case:
    """Supervisor puts a case on legal hold (exempt from retention) or lifts it; reason required."""
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors can set a legal hold."))
    if not reason.strip():
        raise ServiceError(N_("A reason is required for a legal hold."))
    case = _lock(case_id, actor, expected_version)
    if case.legal_hold == on:
        raise ServiceError(N_("The legal hold is already set that way."))
    now = utcnow()
    case.legal_hold = on
    _touch(case, now)
    _staff_event(case, actor, "legal_hold", now, old=str(not on).lower(), new=str(on).lower(), reason=reason.strip())
    _commit()
    return case
