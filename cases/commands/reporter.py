"""What a reporter can do with their receipt: reply and add files.

The reporter is identified only by the receipt (checked by the caller). A
reply to a case that is awaiting information puts it back to investigating
through the same workflow table and transition function as staff use,
recorded as a ``system`` event, and flags the case as having news for staff.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete

from cases import evidence, workflow
from cases.accounts import session_key
from cases.commands import unit
from cases.commands.casework import add_message, apply_transition
from cases.commands.intake import add_evidence, take_evidence_quota
from cases.commands.unit import CommandError, command, lock_case, record, touch
from cases.models import Message, TrackingSession
from cases.notify import REPORTER_ACTION
from cases.queries import can_reply
from cases.vocabulary import Action, ActorType, MessageKind
from cases.workflow import Status
from i18n import N_
from storage import db

REPLY_MAX = 10_000


QUOTA_FULL = N_("We could not keep your files: today's space for files is full. Please try again tomorrow.")


@dataclass(frozen=True)
class Replied:
    message: Optional[Message]
    files_not_kept: int  # accepted files left out because the daily quota was full


@command
def reporter_reply(case_id: int, body: str, files: Sequence[evidence.Checked] = ()) -> Replied:
    """The reporter adds a message and/or files; audit events for each. Refused on a finished case,
    and when only files were sent and the day's quota for files is full (a message is always kept)."""
    body = (body or "").strip()
    if not body and not files:
        raise CommandError(N_("Write a message or choose a file."))
    if len(body) > REPLY_MAX:
        raise CommandError(N_("The message is too long."))
    case = lock_case(case_id)
    if not can_reply(case):
        raise CommandError(N_("This case is closed. If something new has happened, please send a new report."))
    now = unit.utcnow()
    kept = files if take_evidence_quota(files, now) else ()
    if files and not kept and not body:
        raise CommandError(QUOTA_FULL)
    message = add_message(case, None, MessageKind.FROM_REPORTER, body, now) if body else None
    for checked in kept:
        add_evidence(case, checked, now)
    if case.status == Status.AWAITING_INFO:
        transition = workflow.check(case.status, Status.INVESTIGATING, workflow.SYSTEM, None)
        apply_transition(case, transition, now)
        record(
            case,
            ActorType.SYSTEM,
            Action.STATUS,
            old=transition.source.value,
            new=transition.target.value,
            reason="the reporter replied",
            at=now,
        )
    else:
        touch(case, now)  # staff pages opened before the reply are stale: their next action must reload
    case.reporter_news = True
    db.session.info[REPORTER_ACTION] = True  # no email to the reporter about their own reply
    case.public_updated_at = now
    return Replied(message, len(files) - len(kept))


# --- the tracking session ------------------------------------------------------------------


@command
def start_tracking(case_id: int) -> str:
    """The receipt was right: a server-side tracking session for this case; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    now = unit.utcnow()
    db.session.add(TrackingSession(id=session_key(token), case_id=case_id, created_at=now, last_seen_at=now))
    return token


@command
def end_tracking(token: str) -> None:
    """Leave my case, or the quick exit: the session ends at once, wherever its cookie was copied."""
    db.session.execute(delete(TrackingSession).where(TrackingSession.id == session_key(token)))
