"""Checkpoints are signed by the worker, read only the events since the last one, and old ones
(from before frontiers were kept) still verify and are continued from."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases import audit, commands, worker
from cases.models import Checkpoint, Event
from storage import db
from tests.helpers import report, report_form


@pytest.fixture
def counted_leaves(monkeypatch):
    """How many event hashes each checkpoint folds in (``MerkleAccumulator.add`` calls)."""
    calls = []
    real_add = audit.MerkleAccumulator.add

    def add(self, data):
        calls.append(data)
        real_add(self, data)

    monkeypatch.setattr(audit.MerkleAccumulator, "add", add)
    return calls


def signed_without_frontier(app) -> Checkpoint:
    """A checkpoint as revisions before 0008 wrote them: signed, no frontier (test set-up)."""
    acc, last_id = audit.MerkleAccumulator(), 0
    for event_id, event_hash in db.session.execute(select(Event.id, Event.hash).order_by(Event.id)):
        acc.add(bytes.fromhex(event_hash))
        last_id = event_id
    key = app.extensions["shagym_signing_key"]
    root = acc.root().hex()
    cp = Checkpoint(
        last_event_id=last_id,
        tree_size=acc.size,
        root_hash=root,
        key_id=audit.key_id(key.public_key()),
        signature=key.sign(audit._signed_message(acc.size, last_id, root)).hex(),
        frontier=None,
    )
    db.session.add(cp)
    db.session.commit()
    return cp


def test_no_reporter_waits_for_a_checkpoint(make_app):
    """With a checkpoint due after every event, filing through the web writes none; the worker does."""
    app = make_app(AUDIT_CHECKPOINT_EVERY=1)
    client = app.test_client()
    for _ in range(3):
        assert client.post("/report", data=report_form()).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkpoint)) == 0
        assert db.session.scalar(select(func.count()).select_from(Event)) == 6
        # ... and the witness already holds every chain's head: the tail is protected meanwhile.
        heads = audit.current_witness().heads()
        assert sorted(h.seq for h in heads) == [2, 2, 2]
        assert worker.run_once().checkpoint == 6
        assert worker.run_once().checkpoint is None  # nothing new
        assert audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key()).intact


def test_a_checkpoint_reads_only_the_events_since_the_last(app, make_case, counted_leaves):
    for _ in range(5):
        make_case()
    first = commands.write_checkpoint()
    assert (first.tree_size, len(counted_leaves)) == (10, 10)
    make_case()
    counted_leaves.clear()
    second = commands.write_checkpoint()
    assert second.tree_size == 12 and len(counted_leaves) == 2  # the two new events, not all twelve
    assert audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key()).intact


def test_a_checkpoint_without_a_frontier_still_verifies_and_the_next_one_reads_everything_once(
    app, make_case, counted_leaves, runner
):
    for _ in range(3):
        make_case()
    old = signed_without_frontier(app)
    make_case()
    counted_leaves.clear()
    cp = commands.write_checkpoint()
    assert cp.tree_size == 8 and len(counted_leaves) == 8 and cp.frontier
    make_case()
    counted_leaves.clear()
    assert commands.write_checkpoint().tree_size == 10 and len(counted_leaves) == 2
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 checkpoints" in result.output and old.frontier is None


def test_a_forged_checkpoint_row_is_not_continued_from(app, make_case, counted_leaves, runner):
    """Someone who can insert rows adds a checkpoint with a frontier of their making: the next
    checkpoint does not trust it (its signature fails), and verify names it."""
    for _ in range(2):
        make_case()
    commands.write_checkpoint()
    make_case()
    fake = audit.MerkleAccumulator()
    for _ in range(6):
        fake.add(b"forged")
    db.session.add(
        Checkpoint(
            last_event_id=6,
            tree_size=6,
            root_hash=fake.root().hex(),
            key_id="attacker",
            signature="00" * 64,
            frontier=fake.frontier(),
        )
    )
    db.session.commit()
    make_case()
    counted_leaves.clear()
    cp = commands.write_checkpoint()
    leaves = [bytes.fromhex(h) for h in db.session.scalars(select(Event.hash).order_by(Event.id))]
    honest = audit.MerkleAccumulator()
    for leaf in leaves:
        honest.add(leaf)
    assert cp.root_hash == honest.root().hex() and len(counted_leaves) == len(leaves) + len(leaves)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "do not match the signed root" in result.output


def test_the_worker_signs_when_the_count_is_reached(make_app):
    app = make_app(AUDIT_CHECKPOINT_EVERY=4)
    with app.app_context():
        key = app.extensions["shagym_receipt_key"]
        commands.file_report(report(), key)
        assert worker.run_once().checkpoint is None  # 2 events: not yet
        commands.file_report(report(), key)
        assert worker.run_once().checkpoint == 4
