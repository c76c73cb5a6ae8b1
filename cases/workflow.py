"""Case statuses and the one table of allowed transitions.

Each transition says who may take it and whether a reason is required. The
README's workflow diagram is generated from ``TRANSITIONS`` (``mermaid()``),
so the picture cannot drift from the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.refusals import Refused
from cases.vocabulary import ActorType, Role
from i18n import N_


class Status(StrEnum):
    """A case's status. The value is stored, and shown to staff through ``_()`` in the history."""

    NEW = N_("new")
    TRIAGE = N_("triage")
    INVESTIGATING = N_("investigating")
    AWAITING_INFO = N_("awaiting_info")
    REFERRED = N_("referred")
    RESOLVED = N_("resolved")
    CLOSED = N_("closed")
    REJECTED = N_("rejected")

    @property
    def title(self) -> str:
        return STATUS_TITLES[self]

    @property
    def public_explanation(self) -> str:
        return PUBLIC_EXPLANATIONS[self]


STATUS_TITLES = {
    Status.NEW: N_("New"),
    Status.TRIAGE: N_("Triage"),
    Status.INVESTIGATING: N_("Investigating"),
    Status.AWAITING_INFO: N_("Awaiting information"),
    Status.REFERRED: N_("Referred"),
    Status.RESOLVED: N_("Resolved"),
    Status.CLOSED: N_("Closed"),
    Status.REJECTED: N_("Rejected"),
}

# What a reporter reads on the tracking page: plain words, never the status name.
PUBLIC_EXPLANATIONS = {
    Status.NEW: N_("We have received your report. A case worker will look at it soon."),
    Status.TRIAGE: N_("A case worker is reading your report and deciding how we can help."),
    Status.INVESTIGATING: N_("A case worker is looking into what happened."),
    Status.AWAITING_INFO: N_("We need more information from you. Please read the messages below and reply."),
    Status.REFERRED: N_("We have passed your case to an authority or organisation that can act on it."),
    Status.RESOLVED: N_("We have finished our work on your case. Read the messages below for the outcome."),
    Status.CLOSED: N_("Your case is closed. You can still read the messages below."),
    Status.REJECTED: N_("We cannot take up this case. Read the messages below to learn why and where else to turn."),
}

OPEN_STATUSES = frozenset({Status.NEW, Status.TRIAGE, Status.INVESTIGATING, Status.AWAITING_INFO, Status.REFERRED})
# Statuses in which the first-response clock runs (awaiting_info pauses it).
CLOCK_RUNNING = frozenset({Status.NEW, Status.TRIAGE, Status.INVESTIGATING})
# Statuses in which the resolution clock runs: every open one except awaiting the reporter
# (a referred case is still the office's to resolve).
RESOLUTION_RUNNING = OPEN_STATUSES - {Status.AWAITING_INFO}
FINISHED_STATUSES = frozenset({Status.CLOSED, Status.REJECTED})
# Moves that answer the reporter for the first-response target (so does the first message to them).
FIRST_RESPONSES = frozenset({Status.REFERRED, Status.REJECTED})

STAFF = frozenset({Role.CASEWORKER, Role.SUPERVISOR})
SUPERVISOR = Role.SUPERVISOR
# The application itself may take a transition too (a reporter's reply resumes investigating).
SYSTEM = ActorType.SYSTEM


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    roles: frozenset[str]
    reason_required: bool
    label: str
    reason_label: str = N_("Reason")


def _t(source, target, roles, reason, label, reason_label=N_("Reason")) -> Transition:
    return Transition(source, target, frozenset(roles), reason, label, reason_label)


S = Status
TRANSITIONS: tuple[Transition, ...] = (
    _t(S.NEW, S.TRIAGE, STAFF, False, N_("Start triage")),
    _t(S.TRIAGE, S.INVESTIGATING, STAFF, False, N_("Start investigating")),
    _t(S.INVESTIGATING, S.AWAITING_INFO, STAFF, False, N_("Wait for information from the reporter")),
    _t(S.AWAITING_INFO, S.INVESTIGATING, STAFF | {SYSTEM}, False, N_("Resume investigating")),
    _t(
        S.INVESTIGATING,
        S.REFERRED,
        STAFF,
        True,
        N_("Refer to another authority or organisation"),
        N_("Referred to (name the authority or organisation)"),
    ),
    _t(
        S.AWAITING_INFO,
        S.REFERRED,
        STAFF,
        True,
        N_("Refer to another authority or organisation"),
        N_("Referred to (name the authority or organisation)"),
    ),
    _t(S.INVESTIGATING, S.RESOLVED, STAFF, True, N_("Resolve"), N_("Outcome")),
    _t(S.REFERRED, S.RESOLVED, STAFF, True, N_("Resolve"), N_("Outcome")),
    _t(S.RESOLVED, S.CLOSED, STAFF, False, N_("Close")),
    _t(S.NEW, S.REJECTED, STAFF, True, N_("Reject (outside mandate or no grounds)")),
    _t(S.TRIAGE, S.REJECTED, STAFF, True, N_("Reject (outside mandate or no grounds)")),
    _t(S.INVESTIGATING, S.REJECTED, STAFF, True, N_("Reject (outside mandate or no grounds)")),
    _t(S.RESOLVED, S.TRIAGE, {SUPERVISOR}, True, N_("Reopen")),
    _t(S.CLOSED, S.TRIAGE, {SUPERVISOR}, True, N_("Reopen")),
    _t(S.REJECTED, S.TRIAGE, {SUPERVISOR}, True, N_("Reopen")),
)
_BY_PAIR = {(t.source, t.target): t for t in TRANSITIONS}


class TransitionRefused(Refused):
    """The move is not in the table, not for this role, or lacks a reason.

    Its parameters are status titles, translated where the message is shown.
    """


def find(source: Status | str, target: Status | str) -> Transition | None:
    return _BY_PAIR.get((Status(source), Status(target)))


def check(source: Status | str, target: Status | str, role: str, reason: str | None) -> Transition:
    """Return the transition if ``role`` may take it with this reason; else raise TransitionRefused."""
    source, target = Status(source), Status(target)
    names = {"source": STATUS_TITLES[source], "target": STATUS_TITLES[target]}
    t = find(source, target)
    if t is None:
        raise TransitionRefused(
            N_("A case cannot go from “%(source)s” to “%(target)s”: the workflow has no such step."), **names
        )
    if role not in t.roles:
        if t.roles == {SUPERVISOR}:
            raise TransitionRefused(N_("Only a supervisor may move a case from “%(source)s” to “%(target)s”."), **names)
        raise TransitionRefused(N_("Your role may not move a case from “%(source)s” to “%(target)s”."), **names)
    if t.reason_required and not (reason or "").strip():
        raise TransitionRefused(
            N_("A reason is required to move a case to “%(target)s”: %(what)s."), what=t.reason_label, **names
        )
    return t


def available(source: Status | str, role: str) -> list[Transition]:
    source = Status(source)
    return [t for t in TRANSITIONS if t.source == source and role in t.roles]


def duplicate_closing(source: Status | str) -> Transition | None:
    """How a case marked a duplicate of another is closed: from any open status to "closed", with
    the reason required. Not a move of the status menu: it comes only with the link to the kept
    case (``commands.mark_duplicate``); None for a case that is not open."""
    source = Status(source)
    if source not in OPEN_STATUSES:
        return None
    return Transition(source, S.CLOSED, STAFF, True, N_("Close as a duplicate"), N_("Why it is a duplicate"))


def is_reopen(t: Transition) -> bool:
    """Back to triage from finished work (not resolved → closed, which also starts at "resolved")."""
    return t.source in {S.RESOLVED, S.CLOSED, S.REJECTED} and t.target == S.TRIAGE


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> new"]
    for t in TRANSITIONS:
        who = "/".join(sorted(t.roles))
        reason = ", reason" if t.reason_required else ""
        lines.append(f"    {t.source.value} --> {t.target.value}: {who}{reason}")
    lines.append("    closed --> [*]")
    return "\n".join(lines)
