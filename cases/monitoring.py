"""What the metrics read from the database at scrape time: the open backlog and the late cases per
queue, and how far the signed audit checkpoints lag. Counts and ages only, by queue slug (a name
the office chose, never a case, a reference or a person).

Each figure is one indexed query (``ix_cases_open_due`` / ``ix_cases_queue_due``; the checkpoint
by ``last_event_id``), so a scrape every 15 s costs a few milliseconds even with many cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.models import Case, Checkpoint, Event, Queue
from cases.triage import late


@dataclass(frozen=True)
class Backlog:
    queue: str
    open: int
    late: int


def backlog(session: Session, now: datetime) -> list[Backlog]:
    """Open and late cases of every queue (queues without any are listed with 0)."""
    slugs = dict(session.execute(select(Queue.id, Queue.slug)).all())
    open_by = dict(
        session.execute(select(Case.queue_id, func.count()).where(Case.is_open.is_(True)).group_by(Case.queue_id)).all()
    )
    late_by = dict(
        session.execute(
            select(Case.queue_id, func.count()).where(Case.is_open.is_(True), late(now)).group_by(Case.queue_id)
        ).all()
    )
    return [Backlog(slug, open_by.get(qid, 0), late_by.get(qid, 0)) for qid, slug in sorted(slugs.items())]


@dataclass(frozen=True)
class CheckpointLag:
    seconds: float | None  # age of the newest signed checkpoint; None when there is none
    unsigned_events: int  # events committed after it


def checkpoint_lag(session: Session, now: datetime) -> CheckpointLag:
    newest = session.execute(
        select(Checkpoint.created_at, Checkpoint.last_event_id).order_by(Checkpoint.last_event_id.desc()).limit(1)
    ).first()
    last_event = session.scalar(select(func.max(Event.id))) or 0
    if newest is None:
        return CheckpointLag(None, last_event)
    created_at = newest[0] if newest[0].tzinfo else newest[0].replace(tzinfo=now.tzinfo)
    return CheckpointLag(max(0.0, (now - created_at).total_seconds()), max(0, last_event - newest[1]))
