"""The office's set-up: queues and the ordered routing rules.

Changing a rule or a queue never changes existing cases: a case keeps the queue,
priority and rule name it was routed with (``cases.routing_rule_name``). Every
change is an event in the system chain, attributed to the admin who made it.
"""

from __future__ import annotations

from sqlalchemy import select

from cases import routing
from cases.commands.accounts import _system_event
from cases.commands.unit import CommandError, command
from cases.models import Queue, RoutingRule, User
from cases.vocabulary import Action, Priority
from i18n import N_
from storage import db

# --- queues ------------------------------------------------------------------------


@command
def create_queue(slug: str, name: str, description: str, by: User) -> Queue:
    """A new queue; the short name is letters, digits and dashes, and unique."""
    slug = slug.strip().lower()
    if not slug.replace("-", "").isalnum():
        raise CommandError(N_("The short name may contain only letters, digits and dashes."))
    if db.session.scalar(select(Queue.id).where(Queue.slug == slug)):
        raise CommandError(N_("A queue with this short name exists."))
    queue = Queue(slug=slug, name=name.strip(), description=description or "")
    db.session.add(queue)
    _system_event(by, Action.QUEUE_CREATED, new=slug)
    return queue


@command
def edit_queue(queue: Queue, name: str, description: str, by: User) -> dict:
    """Change a queue's name and description (the short name stays: it is in links and the
    audit trail). Refused with an empty name. Returns what changed, as ``{field: [old, new]}``."""
    name, description = name.strip(), (description or "").strip()
    if not name:
        raise CommandError(N_("Give the queue a name."))
    changed = {
        field: [getattr(queue, field), value]
        for field, value in (("name", name), ("description", description))
        if getattr(queue, field) != value
    }
    if not changed:
        raise CommandError(N_("Nothing was changed."))
    for field, (_old, value) in changed.items():
        setattr(queue, field, value)
    _system_event(by, Action.QUEUE_EDITED, new=queue.slug, details={"changed": changed})
    return changed


@command
def set_queue_active(queue: Queue, active: bool, by: User) -> None:
    """Switch a queue off (no new cases are moved there or routed to it) or on again.

    Refused while an active routing rule sends reports to it: the message names the rules,
    so the admin changes or switches them off first. Its open cases stay where they are.
    """
    if queue.active == active:
        raise CommandError(N_("The queue is already in this state."))
    if not active:
        names = list(
            db.session.scalars(
                select(RoutingRule.name)
                .where(RoutingRule.queue_id == queue.id, RoutingRule.active.is_(True))
                .order_by(RoutingRule.position)
            )
        )
        if names:
            raise CommandError(
                N_("Active routing rules send reports to this queue: %(rules)s. Change or switch them off first."),
                rules=", ".join(names),
            )
    queue.active = active
    _system_event(by, Action.QUEUE_TOGGLED, new=queue.slug, details={"active": active})


# --- routing rules ---------------------------------------------------------------------

CATCH_ALL_REQUIRED = N_(
    "The last active rule must match every report (a catch-all), so that no report is ever unrouted."
)
RULE_FIELDS = ("name", "position", "category", "immediate_danger", "child_affected", "in_custody", "region")


def _check_rules() -> None:
    db.session.flush()
    try:
        routing.check_rule_set(db.session.scalars(select(RoutingRule)).all())
    except routing.NoRouteError as exc:
        raise CommandError(CATCH_ALL_REQUIRED) from exc


def _target(queue_slug: str, priority: str) -> tuple[Queue, Priority]:
    """The queue and priority a rule sends reports to: a known, active queue and a known priority."""
    queue = db.session.scalar(select(Queue).where(Queue.slug == queue_slug))
    level = Priority.from_label(priority)
    if queue is None or level is None:
        raise CommandError(N_("Unknown queue."))
    if not queue.active:
        raise CommandError(N_("This queue is switched off; choose an active one."))
    return queue, level


def _position_free(position: int, rule_id: int | None = None) -> None:
    taken = db.session.scalar(select(RoutingRule.id).where(RoutingRule.position == position))
    if taken is not None and taken != rule_id:
        raise CommandError(N_("Another rule has this position; choose a free number."))


@command
def add_rule(
    *,
    name: str,
    position: int,
    queue_slug: str,
    priority: str,
    by: User,
    category: str | None = None,
    immediate_danger: bool | None = None,
    child_affected: str | None = None,
    in_custody: str | None = None,
    region: str | None = None,
) -> RoutingRule:
    """A new routing rule at a free position; refused if the rule set would lose its catch-all."""
    _position_free(position)
    queue, level = _target(queue_slug, priority)
    rule = RoutingRule(
        name=name.strip(),
        position=position,
        category=category,
        immediate_danger=immediate_danger,
        child_affected=child_affected,
        in_custody=in_custody,
        region=region,
        queue_id=queue.id,
        priority=level,
        active=True,
    )
    db.session.add(rule)
    _check_rules()
    _system_event(by, Action.RULE_CREATED, new=rule.name, details={"position": rule.position})
    return rule


@command
def edit_rule(
    rule: RoutingRule,
    *,
    name: str,
    position: int,
    queue_slug: str,
    priority: str,
    by: User,
    category: str | None = None,
    immediate_danger: bool | None = None,
    child_affected: str | None = None,
    in_custody: str | None = None,
    region: str | None = None,
) -> dict:
    """Change a rule's conditions, position, queue or priority, with the checks of a new rule
    (a free position, a known active queue, the catch-all kept last). Cases already routed keep
    their queue and priority. Returns what changed, as ``{field: [old, new]}``."""
    _position_free(position, rule.id)
    queue, level = _target(queue_slug, priority)
    wanted = {
        "name": name.strip(),
        "position": position,
        "category": category,
        "immediate_danger": immediate_danger,
        "child_affected": child_affected,
        "in_custody": in_custody,
        "region": region,
    }
    changed = {field: [getattr(rule, field), value] for field, value in wanted.items() if getattr(rule, field) != value}
    if rule.queue_id != queue.id:
        changed["queue"] = [rule.queue.slug, queue.slug]
    if rule.priority != level:
        changed["priority"] = [Priority(rule.priority).label, level.label]
    if not changed:
        raise CommandError(N_("Nothing was changed."))
    for field, value in wanted.items():
        setattr(rule, field, value)
    rule.queue_id, rule.priority = queue.id, int(level)
    _check_rules()
    _system_event(by, Action.RULE_EDITED, new=rule.name, details={"changed": changed})
    return changed


@command
def toggle_rule(rule: RoutingRule, by: User) -> bool:
    """Switch a rule on or off; refused if no catch-all would remain. Returns the new state."""
    rule.active = not rule.active
    _check_rules()
    _system_event(by, Action.RULE_TOGGLED, new=rule.name, details={"active": rule.active})
    return rule.active


@command
def move_rule(rule: RoutingRule, up: bool, by: User) -> RoutingRule:
    """Swap a rule with the one just before (``up``) or after it, in one transaction.

    Positions are unique (checked per statement on PostgreSQL and SQLite), so the rule first
    goes to a temporary negative position, which no rule uses. Refused at either end, and if
    the last active rule would no longer be a catch-all. Returns the rule it swapped with.
    """
    order = RoutingRule.position.desc() if up else RoutingRule.position
    beyond = RoutingRule.position < rule.position if up else RoutingRule.position > rule.position
    other = db.session.scalar(select(RoutingRule).where(beyond).order_by(order).limit(1))
    if other is None:
        raise CommandError(N_("This rule is already first.") if up else N_("This rule is already last."))
    mine, theirs = rule.position, other.position
    rule.position = -mine
    db.session.flush()
    other.position = mine
    db.session.flush()
    rule.position = theirs
    _check_rules()
    _system_event(
        by, Action.RULE_MOVED, new=rule.name, details={"from": mine, "to": theirs, "swapped_with": other.name}
    )
    return other
