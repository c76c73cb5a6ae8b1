"""A case's history as people read it: names instead of ids, statuses and priorities in words,
queue names and case references, and a run of views by one person as one line.

Pure: the caller looks up the names (``queries.history_labels``) and translates the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from cases.vocabulary import ACTION_TITLES, PRIORITY_TITLES, Action, Priority
from cases.workflow import STATUS_TITLES, Status
from i18n import N_

# Actions whose values are row ids (messages, files): nothing a reader needs to see.
_HIDDEN_VALUES = frozenset(
    {Action.NOTE, Action.MESSAGE_SENT, Action.REPORTER_MESSAGE, Action.EVIDENCE_ADDED, Action.EVIDENCE_DOWNLOADED}
)
_HOLD = {"true": N_("on"), "false": N_("off")}
# Actions whose value is the id of the other case of a link: shown as its reference, when the
# reader may see that case, else in words that name no case.
LINK_ACTIONS = frozenset({Action.CASE_LINKED, Action.CASE_UNLINKED, Action.MARKED_DUPLICATE})
ANOTHER_CASE = N_("a case in another queue")
_STATUSES = frozenset(s.value for s in Status)


@dataclass(frozen=True)
class Labels:
    """What the ids and codes in events stand for."""

    names: Mapping[int, str] = field(default_factory=dict)  # user id → name
    queues: Mapping[str, str] = field(default_factory=dict)  # queue slug → name
    references: Mapping[int, str] = field(default_factory=dict)  # case id → reference


@dataclass
class Entry:
    """One line of a history: an event, or consecutive views of a case by one person."""

    seq: int
    at: datetime
    case_id: Optional[int]
    reference: Optional[str]
    actor: Optional[str]  # a person's name; None: say the actor type
    actor_type: str
    actor_id: Optional[int]
    action: str
    title: str  # the action in words (translatable)
    old: Optional[str]  # words to show (translatable titles, queue names, names)
    new: Optional[str]
    reason: Optional[str]
    views: int = 1
    last_seq: Optional[int] = None
    last_at: Optional[datetime] = None


def value(action: str, raw: object, labels: Labels) -> Optional[str]:
    """An event's old or new value in words."""
    if raw is None or raw == "" or action in _HIDDEN_VALUES:
        return None
    raw = str(raw)  # an event just written in this session may still hold the id as a number
    if action in (Action.ASSIGNED, Action.UNASSIGNED):
        return labels.names.get(int(raw), raw) if raw.isdigit() else raw
    if action == Action.STATUS and raw in _STATUSES:
        return STATUS_TITLES[Status(raw)]
    if action == Action.PRIORITY:
        found = Priority.from_label(raw)
        return PRIORITY_TITLES[found] if found is not None else raw
    if action in (Action.QUEUE, Action.ROUTED):
        return labels.queues.get(raw, raw)
    if action in LINK_ACTIONS:
        return labels.references.get(int(raw), ANOTHER_CASE) if raw.isdigit() else ANOTHER_CASE
    if action == Action.LEGAL_HOLD:
        return _HOLD.get(raw, raw)
    return raw


def entries(events: Iterable, labels: Labels) -> list[Entry]:
    """The events in the order given, consecutive views of the same case by the same person merged."""
    out: list[Entry] = []
    for e in events:
        last = out[-1] if out else None
        if (
            e.action == Action.VIEWED
            and last is not None
            and last.action == Action.VIEWED
            and last.actor_id == e.actor_id
            and last.case_id == e.case_id
        ):
            last.views += 1
            last.last_seq, last.last_at = e.seq, e.created_at
            continue
        out.append(
            Entry(
                seq=e.seq,
                at=e.created_at,
                case_id=e.case_id,
                reference=labels.references.get(e.case_id) if e.case_id else None,
                actor=labels.names.get(e.actor_id) if e.actor_id else None,
                actor_type=e.actor_type,
                actor_id=e.actor_id,
                action=e.action,
                title=ACTION_TITLES.get(e.action, e.action),
                old=value(e.action, e.old_value, labels),
                new=value(e.action, e.new_value, labels),
                reason=e.reason,
            )
        )
    return out


# "Also open now": someone else opened the case within this window.
OPEN_NOW = timedelta(minutes=2)


def recent_viewers(events: Iterable, me: int, now: datetime, window: timedelta = OPEN_NOW) -> list[int]:
    """Staff other than ``me`` who opened the case within ``window`` before ``now``, most recent
    first (from the case's own events, which the page has loaded anyway)."""
    seen: dict[int, datetime] = {}
    for e in events:
        if e.action == Action.VIEWED and e.actor_id and e.actor_id != me and now - e.created_at <= window:
            seen[e.actor_id] = max(seen.get(e.actor_id, e.created_at), e.created_at)
    return sorted(seen, key=seen.__getitem__, reverse=True)
