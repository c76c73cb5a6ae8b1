"""Routing: the first matching active rule decides queue and priority; a catch-all ends every rule set.

The same table of facts → expected queue is checked against plain rules built
from the seed (the pure function) and against the rules seeded in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select

from cases import routing, seed
from cases.models import Queue, RoutingRule
from cases.routing import NoRouteError, ReportFacts
from cases.vocabulary import Priority
from storage import db


@dataclass(frozen=True)
class Rule:
    id: int
    position: int
    name: str
    queue_id: int
    priority: int
    category: str | None = None
    immediate_danger: bool | None = None
    child_affected: str | None = None
    in_custody: str | None = None
    region: str | None = None
    active: bool = True


QUEUE_IDS = {slug: i for i, (slug, _name, _desc) in enumerate(seed.QUEUES, start=1)}
QUEUE_SLUGS = {i: slug for slug, i in QUEUE_IDS.items()}


def seeded_rules() -> list[Rule]:
    return [
        Rule(
            id=i,
            position=i * 10,
            name=r.name,
            queue_id=QUEUE_IDS[r.queue],
            priority=r.priority,
            category=r.category,
            immediate_danger=r.immediate_danger,
            child_affected=r.child_affected,
            in_custody=r.in_custody,
        )
        for i, r in enumerate(seed.RULES, start=1)
    ]


def facts(category="other", danger=False, child="no", custody="no", region="astana") -> ReportFacts:
    return ReportFacts(category, danger, child, custody, region)


@dataclass(frozen=True)
class RouteCase:
    """Facts of a report, the queue and priority they must get, and the rule that decides."""

    id: str
    facts: ReportFacts
    queue: str
    priority: str
    rule: str


CASES = [
    RouteCase(
        "danger beats everything",
        facts("torture", danger=True, custody="yes", child="yes"),
        queue="urgent",
        priority="urgent",
        rule="Immediate danger → urgent response",
    ),
    RouteCase(
        "danger in any category",
        facts("other", danger=True),
        queue="urgent",
        priority="urgent",
        rule="Immediate danger → urgent response",
    ),
    RouteCase(
        "torture in custody",
        facts("torture", custody="yes"),
        queue="torture-prevention",
        priority="high",
        rule="Torture of someone in custody → torture prevention",
    ),
    RouteCase(
        "torture, custody unknown",
        facts("torture", custody="unknown"),
        queue="torture-prevention",
        priority="high",
        rule="torture → torture-prevention",
    ),
    RouteCase(
        "cyberbullying of a child",
        facts("cyberbullying", child="yes"),
        queue="children",
        priority="high",
        rule="Cyberbullying of a child → children's rights",
    ),
    RouteCase(
        "cyberbullying, child unknown",
        facts("cyberbullying", child="unknown"),
        queue="online",
        priority="normal",
        rule="cyberbullying → online",
    ),
    RouteCase(
        "trafficking of a child",
        facts("trafficking", child="yes"),
        queue="trafficking",
        priority="high",
        rule="Trafficking of a child → anti-trafficking (high)",
    ),
    RouteCase(
        "trafficking of an adult",
        facts("trafficking"),
        queue="trafficking",
        priority="high",
        rule="trafficking → trafficking",
    ),
    RouteCase("women", facts("women", child="yes"), queue="women", priority="normal", rule="women → women"),
    RouteCase(
        "disability",
        facts("disability", custody="yes"),
        queue="disability",
        priority="normal",
        rule="disability → disability",
    ),
    RouteCase(
        "association",
        facts("association"),
        queue="civic-freedoms",
        priority="normal",
        rule="association → civic-freedoms",
    ),
    RouteCase(
        "expression", facts("expression"), queue="civic-freedoms", priority="normal", rule="expression → civic-freedoms"
    ),
    RouteCase("life", facts("life"), queue="policing", priority="high", rule="life → policing"),
    RouteCase(
        "justice, in custody",
        facts("justice", custody="yes"),
        queue="justice",
        priority="normal",
        rule="justice → justice",
    ),
    RouteCase("other", facts("other", region="none"), queue="general", priority="normal", rule="other → general"),
    RouteCase(
        "catch-all for a category without a rule",
        facts("a-new-category"),
        queue="general",
        priority="normal",
        rule="Catch-all → general intake",
    ),
]


def test_every_seeded_rule_is_exercised_by_the_table():
    deciding = {case.rule for case in CASES}
    assert deciding == {r.name for r in seed.RULES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_seeded_rules_as_plain_data(case):
    decision = routing.route(case.facts, seeded_rules())
    assert (QUEUE_SLUGS[decision.queue_id], Priority(decision.priority).label, decision.rule.name) == (
        case.queue,
        case.priority,
        case.rule,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_seeded_rules_in_the_database(app, case):
    decision = routing.route(case.facts, db.session.scalars(select(RoutingRule)).all())
    assert (db.session.get(Queue, decision.queue_id).slug, Priority(decision.priority).label, decision.rule.name) == (
        case.queue,
        case.priority,
        case.rule,
    )
    assert decision.rule.queue_id == decision.queue_id


def test_seeded_database_rules_are_ordered_and_end_with_a_catch_all(app):
    rules = db.session.scalars(select(RoutingRule).order_by(RoutingRule.position)).all()
    assert [r.name for r in rules] == [r.name for r in seed.RULES]
    assert routing.is_catch_all(rules[-1]) and not any(routing.is_catch_all(r) for r in rules[:-1])
    routing.check_rule_set(rules)


def test_first_match_wins_by_position_not_list_order():
    broad = Rule(1, 20, "broad", queue_id=1, priority=2, category="torture")
    narrow = Rule(2, 10, "narrow", queue_id=2, priority=1, category="torture", in_custody="yes")
    catch = Rule(3, 99, "catch", queue_id=3, priority=2)
    assert routing.route(facts("torture", custody="yes"), [catch, broad, narrow]).rule is narrow
    assert routing.route(facts("torture", custody="no"), [catch, broad, narrow]).rule is broad
    assert routing.route(facts("life"), [narrow, catch, broad]).rule is catch


def test_inactive_rules_are_skipped():
    rules = seeded_rules()
    rules[0] = replace(rules[0], active=False)
    decision = routing.route(facts("torture", danger=True, custody="yes"), rules)
    assert decision.rule.name == "Torture of someone in custody → torture prevention"


def test_inactive_rule_in_the_database_is_skipped(app):
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.name == "life → policing"))
    rule.active = False
    db.session.commit()
    decision = routing.route(facts("life"), db.session.scalars(select(RoutingRule)).all())
    assert decision.rule.name == "Catch-all → general intake"


@pytest.mark.parametrize(
    "condition, matching, other",
    [
        ("category", "torture", "life"),
        ("immediate_danger", True, False),
        ("immediate_danger", False, True),
        ("child_affected", "unknown", "yes"),
        ("in_custody", "no", "unknown"),
        ("region", "almaty-city", "almaty"),
    ],
)
def test_each_condition_matches_only_its_value(condition, matching, other):
    rule = Rule(1, 1, "specific", queue_id=1, priority=1, **{condition: matching})
    catch = Rule(2, 2, "catch", queue_id=2, priority=2)
    field = {
        "category": "category",
        "immediate_danger": "danger",
        "child_affected": "child",
        "in_custody": "custody",
        "region": "region",
    }[condition]
    assert routing.route(facts(**{field: matching}), [rule, catch]).rule is rule
    assert routing.route(facts(**{field: other}), [rule, catch]).rule is catch


def test_all_conditions_of_a_rule_must_hold():
    rule = Rule(1, 1, "both", queue_id=1, priority=1, category="cyberbullying", child_affected="yes")
    catch = Rule(2, 2, "catch", queue_id=2, priority=2)
    assert routing.route(facts("cyberbullying", child="yes"), [rule, catch]).rule is rule
    assert routing.route(facts("cyberbullying", child="no"), [rule, catch]).rule is catch
    assert routing.route(facts("women", child="yes"), [rule, catch]).rule is catch


def test_no_matching_rule_raises():
    only = [Rule(1, 1, "torture only", queue_id=1, priority=1, category="torture")]
    with pytest.raises(NoRouteError):
        routing.route(facts("life"), only)
    with pytest.raises(NoRouteError):
        routing.route(facts("life"), [])


@pytest.mark.parametrize(
    "rules",
    [
        [],
        [Rule(1, 1, "torture", queue_id=1, priority=1, category="torture")],
        [
            Rule(1, 1, "catch", queue_id=1, priority=2),
            Rule(2, 2, "torture", queue_id=1, priority=1, category="torture"),
        ],
        [
            Rule(1, 1, "torture", queue_id=1, priority=1, category="torture"),
            Rule(2, 2, "catch", queue_id=1, priority=2, active=False),
        ],
    ],
    ids=["empty", "no catch-all", "catch-all not last", "catch-all inactive"],
)
def test_rule_set_without_a_final_catch_all_is_refused(rules):
    with pytest.raises(NoRouteError):
        routing.check_rule_set(rules)


def test_rule_set_ending_with_an_active_catch_all_is_accepted():
    routing.check_rule_set(seeded_rules())
    rules = [*seeded_rules(), Rule(99, 5, "disabled early catch", queue_id=1, priority=2, active=False)]
    routing.check_rule_set(rules)


def test_describe_names_the_conditions():
    rules = {r.name: r for r in seeded_rules()}
    assert routing.describe(rules["Catch-all → general intake"]) == "any report"
    assert routing.describe(rules["Torture of someone in custody → torture prevention"]) == (
        "category=torture and in_custody=yes"
    )
