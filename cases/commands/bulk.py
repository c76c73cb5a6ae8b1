"""One action on many selected cases (claim, assign, move, change status): each case is its own
command — its own check, audit event and commit — so one refusal never undoes the others, and
the answer says per case what was done or why not."""

from __future__ import annotations

from dataclasses import dataclass

from cases import access
from cases.commands.casework import assign, change_status, claim, move_queue
from cases.models import Case, User
from cases.refusals import Refused
from storage import db

MAX_BULK = 100
BULK_ACTIONS = ("claim", "status", "assign", "move")


@dataclass(frozen=True)
class Outcome:
    case_id: int
    reference: str | None  # None when the actor may not see the case: nothing about it is shown
    refused: Refused | None = None  # why not, translated by the page

    @property
    def done(self) -> bool:
        return self.refused is None


def apply_to_each(actor: User, case_ids: list[int], action: str, **params: str) -> list[Outcome]:
    """Run ``action`` on each case in turn (at most MAX_BULK) and report what happened to each."""
    if action not in BULK_ACTIONS:
        raise ValueError(action)
    outcomes = []
    for case_id in list(dict.fromkeys(case_ids))[:MAX_BULK]:
        try:
            case = _run(actor, case_id, action, params)
        except Refused as refused:
            outcomes.append(Outcome(case_id, _visible_reference(actor, case_id), refused))
            continue
        outcomes.append(Outcome(case_id, case.reference))
    return outcomes


def _run(actor: User, case_id: int, action: str, p: dict[str, str]) -> Case:
    if action == "claim":
        return claim(case_id, actor)
    if action == "status":
        return change_status(case_id, actor, p.get("target", ""), reason=p.get("reason", ""))
    if action == "assign":
        assignee = p.get("assignee") or ""
        return assign(case_id, actor, int(assignee) if assignee.isdigit() else None, reason=p.get("reason", ""))
    return move_queue(case_id, actor, p.get("queue", ""), p.get("reason", ""))


def _visible_reference(actor: User, case_id: int) -> str | None:
    case = access.visible_case(db.session, actor, case_id)
    return case.reference if case is not None else None
