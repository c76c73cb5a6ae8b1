"""Who may see and work which case. Deny by default.

Caseworkers see the cases of the queues they belong to; supervisors see every
case; admins manage accounts and routing but never read case content.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Case, QueueMembership, User
from cases.vocabulary import CASE_ROLES, Role


def queue_ids(session: Session, user: User) -> set[int]:
    rows = session.scalars(select(QueueMembership.queue_id).where(QueueMembership.user_id == user.id))
    return set(rows)


def can_read_cases(user: User) -> bool:
    return user.role in CASE_ROLES


def can_see(session: Session, user: User, case: Case) -> bool:
    if user.role == Role.SUPERVISOR:
        return True
    if user.role == Role.CASEWORKER:
        return session.get(QueueMembership, (user.id, case.queue_id)) is not None
    return False


def visible_case(session: Session, user: User, case_id: int) -> Optional[Case]:
    """The case if ``user`` may see it, else None (the caller answers 404)."""
    if not can_read_cases(user):
        return None
    case = session.get(Case, case_id)
    if case is None or not can_see(session, user, case):
        return None
    return case


def case_filter(user: User):
    """The cases ``user`` may see, as a condition on ``Case`` for a query: None for a supervisor
    (every case), the cases of their queues for a case worker, nothing for anyone else."""
    if user.role == Role.SUPERVISOR:
        return None
    if user.role == Role.CASEWORKER:
        return Case.queue_id.in_(select(QueueMembership.queue_id).where(QueueMembership.user_id == user.id))
    return Case.id.is_(None)


def is_supervisor(user: User) -> bool:
    return user.role == Role.SUPERVISOR
