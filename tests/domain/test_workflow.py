"""The workflow table, every (from, to, role) triple, against a table written out here by hand.

Pure unit tests: no app, no database. If someone edits ``TRANSITIONS`` without
meaning to, a triple here fails; if they mean to, they update EXPECTED too.
"""

from __future__ import annotations

import itertools

import pytest

from cases import workflow
from cases.workflow import Status, TransitionRefused

CW, SUP, ADMIN, SYSTEM = "caseworker", "supervisor", "admin", "system"
ROLES = (CW, SUP, ADMIN, SYSTEM)
STAFF = {CW, SUP}

# (from, to) -> (roles that may take it, reason required). Every pair not listed is refused for everyone.
EXPECTED: dict[tuple[str, str], tuple[set[str], bool]] = {
    ("new", "triage"): (STAFF, False),
    ("triage", "investigating"): (STAFF, False),
    ("investigating", "awaiting_info"): (STAFF, False),
    # A reporter's reply resumes the case on its own (recorded as the system).
    ("awaiting_info", "investigating"): (STAFF | {SYSTEM}, False),
    # Referring names the authority or organisation.
    ("investigating", "referred"): (STAFF, True),
    ("awaiting_info", "referred"): (STAFF, True),
    # Resolving states the outcome.
    ("investigating", "resolved"): (STAFF, True),
    ("referred", "resolved"): (STAFF, True),
    ("resolved", "closed"): (STAFF, False),
    # Outside the mandate or no grounds: only early on, always with a reason.
    ("new", "rejected"): (STAFF, True),
    ("triage", "rejected"): (STAFF, True),
    ("investigating", "rejected"): (STAFF, True),
    # Reopening is for supervisors only, with a reason, back to triage.
    ("resolved", "triage"): ({SUP}, True),
    ("closed", "triage"): ({SUP}, True),
    ("rejected", "triage"): ({SUP}, True),
}

TRIPLES = list(itertools.product([s.value for s in Status], [s.value for s in Status], ROLES))


def test_expected_table_names_only_real_statuses():
    values = {s.value for s in Status}
    assert values == {"new", "triage", "investigating", "awaiting_info", "referred", "resolved", "closed", "rejected"}
    assert all(a in values and b in values for a, b in EXPECTED)


def test_table_has_exactly_the_expected_transitions():
    actual = {(t.source.value, t.target.value): (set(t.roles), t.reason_required) for t in workflow.TRANSITIONS}
    assert actual == EXPECTED


@pytest.mark.parametrize(("source", "target", "role"), TRIPLES, ids=["-".join(t) for t in TRIPLES])
def test_transition_triple(source, target, role):
    roles, reason_required = EXPECTED.get((source, target), (set(), False))
    if role not in roles:
        with pytest.raises(TransitionRefused) as refused:
            workflow.check(source, target, role, "a good reason")
        # The message says why, naming both ends in words a person reads.
        message = str(refused.value)
        assert Status(source).title in message and Status(target).title in message
        if (source, target) not in EXPECTED:
            assert "cannot go from" in message
        elif roles == {SUP}:
            assert "Only a supervisor" in message
        else:
            assert "Your role may not" in message
        assert target not in {t.target.value for t in workflow.available(source, role)}
        return
    # Allowed for this role, with a reason.
    t = workflow.check(source, target, role, "a good reason")
    assert (t.source.value, t.target.value) == (source, target)
    assert target in {x.target.value for x in workflow.available(source, role)}
    for missing in ("", "   \n", None):
        if reason_required:
            with pytest.raises(TransitionRefused, match="A reason is required") as refused:
                workflow.check(source, target, role, missing)
            assert Status(target).title in str(refused.value)
            assert t.reason_label in str(refused.value)
        else:
            assert workflow.check(source, target, role, missing) is t


def test_admin_can_take_no_transition():
    assert all(workflow.available(s, ADMIN) == [] for s in Status)


def test_system_can_only_resume_from_awaiting_info():
    taken = [(t.source.value, t.target.value) for s in Status for t in workflow.available(s, SYSTEM)]
    assert taken == [("awaiting_info", "investigating")]


def test_referral_asks_to_name_the_authority():
    for source in ("investigating", "awaiting_info"):
        assert "authority or organisation" in workflow.find(source, "referred").reason_label


def test_unknown_status_is_not_a_transition():
    with pytest.raises(ValueError):
        workflow.check("new", "archived", SUP, "reason")


def test_refusal_carries_a_translatable_template():
    with pytest.raises(TransitionRefused) as refused:
        workflow.check("closed", "triage", CW, "reason")
    exc = refused.value
    assert "%(source)s" in exc.template and exc.params == {"source": "Closed", "target": "Triage"}
    assert str(exc) == exc.template % exc.params


def test_open_and_finished_statuses():
    assert {s.value for s in workflow.OPEN_STATUSES} == {"new", "triage", "investigating", "awaiting_info", "referred"}
    assert {s.value for s in workflow.FINISHED_STATUSES} == {"closed", "rejected"}
    # The first-response clock stops while waiting for the reporter.
    assert Status.AWAITING_INFO not in workflow.CLOCK_RUNNING


def test_reopen_is_exactly_the_transitions_out_of_finished_work():
    reopens = {(t.source.value, t.target.value) for t in workflow.TRANSITIONS if workflow.is_reopen(t)}
    assert reopens == {("resolved", "triage"), ("closed", "triage"), ("rejected", "triage")}


def test_mermaid_diagram_contains_every_transition():
    diagram = workflow.mermaid()
    lines = diagram.splitlines()
    assert lines[0] == "stateDiagram-v2"
    edges = [line.strip() for line in lines if "-->" in line and "[*]" not in line]
    assert len(edges) == len(EXPECTED)
    for (source, target), (roles, reason) in EXPECTED.items():
        label = "/".join(sorted(roles)) + (", reason" if reason else "")
        assert f"{source} --> {target}: {label}" in edges


def test_every_status_is_reachable_from_new():
    seen, todo = {"new"}, ["new"]
    while todo:
        current = todo.pop()
        for a, b in EXPECTED:
            if a == current and b not in seen:
                seen.add(b)
                todo.append(b)
    assert seen == {s.value for s in Status}


@pytest.mark.parametrize("status", list(workflow.Status))
def test_a_duplicate_is_closed_from_any_open_status_with_a_reason(status):
    t = workflow.duplicate_closing(status)
    if status in workflow.OPEN_STATUSES:
        assert (t.source, t.target, t.reason_required) == (status, workflow.Status.CLOSED, True)
    else:
        assert t is None
