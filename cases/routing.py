"""Routing: the first matching rule decides the queue and the priority.

Rules are data (the ``routing_rules`` table); this module is the pure
decision. A rule's ``None`` condition matches anything, so a rule with no
conditions is a catch-all; the rule set must end with one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, Protocol


@dataclass(frozen=True)
class ReportFacts:
    category: str
    immediate_danger: bool
    child_affected: str  # yes / no / unknown
    in_custody: str  # yes / no / unknown
    region: str


class Rule(Protocol):
    id: int
    position: int
    name: str
    category: Optional[str]
    immediate_danger: Optional[bool]
    child_affected: Optional[str]
    in_custody: Optional[str]
    region: Optional[str]
    queue_id: int
    priority: int
    active: bool


@dataclass(frozen=True)
class Decision:
    queue_id: int
    priority: int
    rule: Rule


class NoRouteError(Exception):
    """No active rule matched: the rule set lacks its final catch-all."""


CONDITIONS = ("category", "immediate_danger", "child_affected", "in_custody", "region")


def matches(rule: Rule, facts: ReportFacts) -> bool:
    return all(getattr(rule, name) is None or getattr(rule, name) == getattr(facts, name) for name in CONDITIONS)


def is_catch_all(rule: Rule) -> bool:
    return all(getattr(rule, name) is None for name in CONDITIONS)


def route(facts: ReportFacts, rules: Sequence[Rule]) -> Decision:
    for rule in sorted((r for r in rules if r.active), key=lambda r: r.position):
        if matches(rule, facts):
            return Decision(rule.queue_id, rule.priority, rule)
    raise NoRouteError("no routing rule matched; the rules must end with a catch-all")


def check_rule_set(rules: Sequence[Rule]) -> None:
    """Raise unless the last active rule is a catch-all (so no case is ever unrouted)."""
    active = sorted((r for r in rules if r.active), key=lambda r: r.position)
    if not active or not is_catch_all(active[-1]):
        raise NoRouteError("the last active routing rule must match every report (a catch-all)")


def can_switch_off(rule: Rule, rules: Sequence[Rule]) -> bool:
    """Whether the rule set keeps its final catch-all without ``rule`` (so the admin page offers
    "Switch off" only where it is allowed)."""
    rest = sorted((r for r in rules if r.active and r is not rule), key=lambda r: r.position)
    return bool(rest) and is_catch_all(rest[-1])


def describe(rule: Rule) -> str:
    parts = [f"{name}={getattr(rule, name)}" for name in CONDITIONS if getattr(rule, name) is not None]
    return " and ".join(parts) if parts else "any report"
