"""What a reporter can do with their receipt: read their case, reply, add files.

The reporter is identified only by the receipt (checked by the caller). A
reply to a case that is awaiting information puts it back to investigating,
recorded as a ``system`` event, and flags the case as having news for staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Optional

from sqlalchemy import func, select

from cases import audit, evidence, workflow
from cases.categories import N_
from cases.models import Case, Evidence, Message
from cases.services import ServiceError, _commit, add_evidence
from cases.workflow import FINISHED_STATUSES, Status
from extensions import db

REPLY_MAX = 10_000


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


def view(case: Case) -> CaseView:
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.case_id == case.id, Message.kind.in_(("to_reporter", "from_reporter")))
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
    )


def can_reply(case: Case) -> bool:
    return Status(case.status) not in FINISHED_STATUSES and case.content_destroyed_at is None


def _lock(case_id: int) -> Case:
    case = db.session.scalars(
        select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True)
    ).first()
    if case is None:
        raise ServiceError(N_("Case not found."))
    return case


def reply(case_id: int, body: str, files: Sequence[evidence.Checked] = ()) -> Optional[Message]:
    """The reporter adds a message and/or files. One transaction; audit events for each."""
    body = (body or "").strip()
    if not body and not files:
        raise ServiceError(N_("Write a message or choose a file."))
    if len(body) > REPLY_MAX:
        raise ServiceError(N_("The message is too long."))
    case = _lock(case_id)
    if not can_reply(case):
        raise ServiceError(N_("This case is closed. If something new has happened, please send a new report."))
    now = datetime.now(UTC)
    message = None
    if body:
        message = Message(case_id=case.id, kind="from_reporter", body=body, created_at=now)
        db.session.add(message)
        db.session.flush()
        audit.append(db.session, case=case, actor_type="reporter", action="reporter_message", new=message.id, at=now)
    for checked in files:
        add_evidence(case, checked, now)
    if case.status == Status.AWAITING_INFO.value:
        t = workflow.check(case.status, Status.INVESTIGATING, workflow.SYSTEM, None)
        case.due_at = case.due_at + (now - case.paused_at) if case.paused_at else case.due_at
        if case.paused_at:
            case.paused_seconds += int((now - case.paused_at).total_seconds())
        case.paused_at = None
        case.status = t.target.value
        case.is_open = True
        audit.append(
            db.session,
            case=case,
            actor_type="system",
            action="status",
            old=t.source.value,
            new=t.target.value,
            reason="the reporter replied",
            at=now,
        )
        case.version += 1
    case.reporter_news = True
    db.session.info["shagym_reporter_action"] = True  # no email to the reporter about their own reply
    case.updated_at = now
    case.public_updated_at = now
    _commit()
    return message
