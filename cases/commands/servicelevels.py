"""Service levels and the queue views staff keep: category targets (administrators), the
escalation of late cases (a scheduled job), and saved queue filters (each staff member's own).

Changing a category's targets applies to cases filed (or reopened) afterwards; a promise made
to a reporter when their report came in is not moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from cases import notify, queries
from cases.commands.unit import CommandError, NotFound, command, lock_case, queue_mail, record
from cases.models import Case, CategorySetting, Queue, SavedView, User
from cases.vocabulary import Action, ActorType, MailKind
from i18n import N_
from storage import db

MAX_HOURS = 24 * 30
MAX_WORKING_DAYS = 260  # a working year
MAX_VIEWS = 30
NAME_MAX = 80


@command
def set_service_levels(
    slug: str,
    first_response_hours: int | None,
    first_response_working_days: int,
    resolution_working_days: int | None,
    by: User,
) -> CategorySetting:
    """A category's targets: a first response within ``first_response_hours`` hours (or, with
    none, ``first_response_working_days`` working days), and a resolution within
    ``resolution_working_days`` working days (None: no resolution target). Refused out of range."""
    setting = db.session.get(CategorySetting, slug)
    if setting is None:
        raise NotFound(N_("No such category."))
    if first_response_hours is not None and not 1 <= first_response_hours <= MAX_HOURS:
        raise CommandError(N_("Hours for a first response must be between 1 and %(max)s."), max=MAX_HOURS)
    for days in (first_response_working_days, resolution_working_days):
        if days is not None and not 1 <= days <= MAX_WORKING_DAYS:
            raise CommandError(N_("Working days must be between 1 and %(max)s."), max=MAX_WORKING_DAYS)
    old = _targets(setting)
    setting.first_response_hours = first_response_hours
    setting.first_response_working_days = first_response_working_days
    setting.resolution_working_days = resolution_working_days
    new = _targets(setting)
    if new != old:
        record(None, ActorType.STAFF, Action.SERVICE_LEVEL_CHANGED, by, new=slug, details={"old": old, "new": new})
    return setting


def _targets(setting: CategorySetting) -> dict:
    return {
        "first_response_hours": setting.first_response_hours,
        "first_response_working_days": setting.first_response_working_days,
        "resolution_working_days": setting.resolution_working_days,
    }


# --- escalation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalated:
    case_id: int
    queue_id: int
    targets: tuple[str, ...]  # "first_response", "resolution"


def due_for_escalation(now: datetime, limit: int = 500) -> list[int]:
    """Open cases late on a target whose supervisors were not told yet, most late first
    (two index range reads; the batch bounds a run, the next run takes the rest)."""
    base = select(Case.id).where(Case.is_open.is_(True), Case.escalated_at.is_(None))
    first = base.where(Case.is_overdue(now)).order_by(Case.due_at).limit(limit)
    resolution = base.where(Case.is_resolution_late(now)).order_by(Case.resolution_due_at).limit(limit)
    ids = list(dict.fromkeys([*db.session.scalars(first), *db.session.scalars(resolution)]))
    return ids[:limit]


@command
def escalate(case_id: int, now: datetime) -> Escalated | None:
    """Mark one late case as escalated (once) with its audit event. Checked again under the row
    lock: a case answered, resolved or already escalated since it was listed is left alone.
    The version is not bumped: a staff member's open form on the case stays valid."""
    return _escalate(case_id, now)


@command
def escalate_late(case_ids: list[int], now: datetime, mail: bool) -> tuple[list[Escalated], int]:
    """``escalate`` each case, and with ``mail`` queue one content-free e-mail per queue to its
    supervisors (``escalation_recipients``) with the number of its cases that became late — in
    the same transaction, so the marks and the e-mails are stored together or not at all (the
    worker sends them). Returns what was escalated and how many e-mails were queued."""
    done = [e for e in (_escalate(i, now) for i in case_ids) if e is not None]
    per_queue: dict[int, int] = {}
    for e in done:
        per_queue[e.queue_id] = per_queue.get(e.queue_id, 0) + 1
    queued = 0
    for queue_id, count in per_queue.items() if mail else ():
        recipients = queries.escalation_recipients(queue_id)
        if recipients:
            queue_mail(MailKind.ESCALATION, recipients, count=count, link=notify.escalation_link())
            queued += 1
    return done, queued


def _escalate(case_id: int, now: datetime) -> Escalated | None:
    case = lock_case(case_id)
    targets = tuple(
        name
        for name, is_late in (("first_response", case.is_overdue(now)), ("resolution", case.is_resolution_late(now)))
        if is_late
    )
    if case.escalated_at is not None or not case.is_open or not targets:
        return None
    case.escalated_at = now
    record(case, ActorType.SYSTEM, Action.ESCALATED, at=now, details={"late": list(targets)})
    return Escalated(case.id, case.queue_id, targets)


# --- saved views -----------------------------------------------------------------------------


@command
def save_view(user: User, queue: Queue, name: str, params: str) -> SavedView:
    """Keep a queue filter under a name of the user's choosing (unique per user, at most
    MAX_VIEWS). ``params`` is the filter's query string; it is parsed again when used."""
    name = " ".join(name.split())
    if not name:
        raise CommandError(N_("Give the view a name."))
    if len(name) > NAME_MAX:
        raise CommandError(N_("A view's name can be at most %(max)s characters."), max=NAME_MAX)
    if db.session.scalar(select(SavedView.id).where(SavedView.user_id == user.id, SavedView.name == name)):
        raise CommandError(N_("You already have a view called “%(name)s”."), name=name)
    if (db.session.scalar(select(func.count(SavedView.id)).where(SavedView.user_id == user.id)) or 0) >= MAX_VIEWS:
        raise CommandError(N_("You can keep at most %(max)s views; delete one first."), max=MAX_VIEWS)
    view = SavedView(user_id=user.id, queue_id=queue.id, name=name, params=params)
    db.session.add(view)
    record(None, ActorType.STAFF, Action.VIEW_SAVED, user, new=name, details={"queue": queue.slug, "filter": params})
    return view


@command
def delete_view(view_id: int, user: User) -> None:
    """Delete one of the user's own saved views; anyone else's is NotFound."""
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        raise NotFound(N_("No such view."))
    record(None, ActorType.STAFF, Action.VIEW_DELETED, user, old=view.name)
    db.session.delete(view)
