"""Exports of case lists: each file handed out is an audit event in the system chain."""

from __future__ import annotations

from typing import Optional

from cases.commands.unit import Forbidden, command, record
from cases.exports import Choice, Written
from cases.models import Event, Queue, User
from cases.triage import QueueFilter
from cases.vocabulary import Action, ActorType, Role
from i18n import N_


@command
def record_export(by: User, queue: Optional[Queue], f: QueueFilter, choice: Choice, written: Written) -> Event:
    """Record that ``by`` exported ``written.rows`` cases of ``queue`` (None: all queues) under
    the filter ``f``, with the chosen fields and format and the file's SHA-256; the reason given
    for sensitive fields is the event's reason. Only supervisors export (``Forbidden``); a choice
    the rules refuse (no field, sensitive fields without a reason) is ``exports.BadChoice``.

    The file is written before this runs, and handed out only after it commits: no file leaves
    without its event, and the event names the exact bytes."""
    if by.role != Role.SUPERVISOR:
        raise Forbidden(N_("Only supervisors export case lists."))
    choice.check()
    return record(
        None,
        ActorType.STAFF,
        Action.CASES_EXPORTED,
        by,
        new=queue.slug if queue else "*",
        reason=choice.reason if choice.sensitive else None,
        details={
            "queue": queue.slug if queue else None,
            "filter": f.query_string(),
            "fields": list(choice.fields),
            "format": choice.fmt,
            "rows": written.rows,
            "bytes": written.size,
            "sha256": written.sha256,
        },
    )
