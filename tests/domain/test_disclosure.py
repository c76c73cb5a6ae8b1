"""Disclosure control: no published entry from 1 to threshold − 1, and no hidden entry that the
published ones determine — proved for thousands of small tables by exhaustive search, as an
attacker with the published table and the arithmetic of totals would search."""

from __future__ import annotations

import random

import pytest

from cases.disclosure import TOTAL, protect


def entries(rows, cols):
    all_rows, all_cols = (*rows, TOTAL), (*cols, TOTAL)
    return [(r, c) for r in all_rows for c in all_cols]


def lines(rows, cols):
    """Each row and column of the table with its total: (entry, coefficient) adding up to 0."""
    out = []
    for r in (*rows, TOTAL):
        out.append([((r, c), 1) for c in cols] + [((r, TOTAL), -1)])
    for c in (*cols, TOTAL):
        out.append([((r, c), 1) for r in rows] + [((TOTAL, c), -1)])
    return out


def solvable(published, rows, cols, bound, fixed):
    """Is there a table of non-negative counts ≤ bound that matches every published entry, adds up,
    and has ``fixed`` values? Depth-first search; a line with one unknown left computes it."""
    table = {k: v for k, v in published.items() if v is not None} | fixed
    unknown = [k for k, v in published.items() if v is None and k not in fixed]
    constraint_lines = lines(rows, cols)

    def propagate(values):
        values = dict(values)
        changed = True
        while changed:
            changed = False
            for line in constraint_lines:
                missing = [(k, coef) for k, coef in line if k not in values]
                total = sum(values[k] * coef for k, coef in line if k in values)
                if not missing:
                    if total != 0:
                        return None
                elif len(missing) == 1:
                    key, coef = missing[0]
                    value = -total * coef
                    if not 0 <= value <= bound:
                        return None
                    values[key] = value
                    changed = True
        return values

    def search(values):
        values = propagate(values)
        if values is None:
            return False
        todo = [k for k in unknown if k not in values]
        if not todo:
            return True
        return any(search(values | {todo[0]: v}) for v in range(bound + 1))

    return search(table)


def assert_protected(counts, rows, cols, threshold):
    protected = protect(counts, rows, cols, threshold=threshold)
    true = protect(counts, rows, cols, threshold=1).published  # threshold 1 hides nothing
    for key, value in protected.published.items():
        assert value is None or value == 0 or value >= threshold, (key, value)
        assert value is None or value == true[key]
    bound = true[(TOTAL, TOTAL)]
    for key, value in protected.published.items():
        if value is not None:
            continue
        others = [v for v in range(bound + 1) if v != true[key]]
        others.sort(key=lambda v: abs(v - true[key]))
        assert any(solvable(protected.published, rows, cols, bound, {key: v}) for v in others[:3]), (
            f"{key} = {true[key]} is determined by {protected.published}"
        )


def random_table(rng, n_rows, n_cols):
    rows = [f"r{i}" for i in range(n_rows)]
    cols = [f"c{j}" for j in range(n_cols)]
    # Mostly small counts and zeros: the hard cases for suppression.
    counts = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 12, 20]) for r in rows for c in cols}
    return counts, rows, cols


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (1, 3), (2, 2), (2, 3), (3, 2), (3, 3)])
def test_no_hidden_entry_can_be_worked_out_in_small_tables(shape):
    rng = random.Random(f"shagym-{shape}")
    for _ in range(120 if shape != (3, 3) else 40):
        assert_protected(*random_table(rng, *shape), threshold=5)


def test_the_classic_two_by_two_hides_the_whole_rectangle():
    counts = {("a", "x"): 3, ("a", "y"): 10, ("b", "x"): 12, ("b", "y"): 9}
    table = protect(counts, ["a", "b"], ["x", "y"])
    assert [table.value(r, c) for r in ("a", "b") for c in ("x", "y")] == [None, None, None, None]
    assert (table.value("a", TOTAL), table.value(TOTAL, "x"), table.value(TOTAL, TOTAL)) == (13, 15, 34)
    assert (table.primary, table.secondary) == (1, 3)


def test_zeros_and_large_counts_stay_visible_and_small_totals_are_hidden():
    table = protect({("a", "x"): 0, ("a", "y"): 2, ("b", "x"): 40, ("b", "y"): 50}, ["a", "b"], ["x", "y"])
    assert table.value("a", "x") == 0
    assert table.value("a", "y") is None and table.value("a", TOTAL) is None  # 2 and its total 2
    assert table.value(TOTAL, TOTAL) == 92


def test_threshold_is_a_parameter_and_rounding_applies_to_what_is_shown():
    counts = {("a", "x"): 7, ("a", "y"): 11, ("b", "x"): 23, ("b", "y"): 12}
    assert protect(counts, ["a", "b"], ["x", "y"], threshold=5).value("a", "x") == 7
    hidden = protect(counts, ["a", "b"], ["x", "y"], threshold=10)
    assert hidden.value("a", "x") is None
    rounded = protect(counts, ["a", "b"], ["x", "y"], threshold=5, round_to=5)
    assert [rounded.value("a", c) for c in ("x", "y", TOTAL)] == [5, 10, 20]
    assert rounded.round_to == 5


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        protect({("a", "x"): -1}, ["a"], ["x"])
    with pytest.raises(ValueError):
        protect({}, ["a"], ["x"], threshold=0)


def test_the_search_finds_a_small_count_that_only_primary_suppression_leaves_open(monkeypatch):
    """Guard the guard: without secondary suppression, the attack above recovers the 3."""
    monkeypatch.setattr("cases.disclosure._a_bridge", lambda hidden: None)
    counts = {("a", "x"): 3, ("a", "y"): 10, ("b", "x"): 12, ("b", "y"): 9}
    table = protect(counts, ["a", "b"], ["x", "y"])
    assert table.value("a", "x") is None and table.value("a", "y") == 10
    bound = 34
    assert not any(solvable(table.published, ["a", "b"], ["x", "y"], bound, {("a", "x"): v}) for v in (2, 4, 0, 5))
    assert solvable(table.published, ["a", "b"], ["x", "y"], bound, {("a", "x"): 3})
    with pytest.raises(AssertionError, match="is determined by"):
        assert_protected(counts, ["a", "b"], ["x", "y"], threshold=5)
