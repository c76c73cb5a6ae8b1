"""Tampering with the audit trail (edit, delete, reorder, insert, forged checkpoints) is caught
by ``flask --app wsgi audit verify`` and ``audit.verify_all``; checkpoints and their signing key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from cases import audit, commands
from cases.models import Case, Checkpoint, Event
from storage import db
from tests.helpers import chain, report


def public_key(app):
    return app.extensions["shagym_signing_key"].public_key()


def verify(runner) -> tuple[int, str]:
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


# --- tampering --------------------------------------------------------------------------


@pytest.fixture
def history(app, make_case, make_user):
    """Two cases with some work done, and a checkpoint over all of it."""
    worker, sup = make_user("caseworker", ["general"]), make_user("supervisor")
    a = make_case().case
    b = make_case(category="women").case
    commands.claim(a.id, worker)  # a: created 1, routed 2, assigned 3
    commands.change_status(a.id, worker, "triage")  # 4
    commands.add_note(a.id, worker, "Called the reporter back.")  # 5
    commands.change_status(a.id, worker, "investigating")  # 6
    commands.change_priority(b.id, sup, "high", "Repeat offender")  # b: created 1, routed 2, priority 3
    cp = commands.write_checkpoint()
    assert cp.tree_size == 9
    return {"a": a.id, "b": b.id, "checkpoint": cp.id}


def event_at(case_id: int, seq: int) -> Event:
    return db.session.scalar(select(Event).where(Event.chain_id == case_id, Event.seq == seq))


def edit_reason(h):
    db.session.execute(update(Event).where(Event.id == event_at(h["b"], 3).id).values(reason="Nothing to see"))
    return f"case {h['b']}, event 3: content does not match its hash"


def edit_actor(h):
    db.session.execute(update(Event).where(Event.id == event_at(h["a"], 3).id).values(actor_id=None))
    return f"case {h['a']}, event 3: content does not match its hash"


def delete_middle(h):
    db.session.execute(delete(Event).where(Event.id == event_at(h["a"], 4).id))
    return f"case {h['a']}, event 4: sequence jumps from 3 to 5"


def delete_last(h):
    # The chains stay consistent; only the signed checkpoint knows the last event existed.
    last = db.session.scalar(select(func.max(Event.id)))
    db.session.execute(delete(Event).where(Event.id == last))
    return f"checkpoint {h['checkpoint']} covers event {last}, which is missing"


def delete_end_of_other_chain(h):
    db.session.execute(delete(Event).where(Event.id == event_at(h["a"], 6).id))
    return f"checkpoint {h['checkpoint']}: 9 events signed, 8 found"


def swap_sequence_numbers(h):
    x, y = event_at(h["a"], 4).id, event_at(h["a"], 5).id
    for event_id, seq in ((x, -1), (y, 4), (x, 5)):
        db.session.execute(text("UPDATE events SET seq = :seq WHERE id = :id"), {"id": event_id, "seq": seq})
    return f"case {h['a']}, event 4: sequence jumps from 3 to 5"


def reorder_rows(h):
    # Swap two whole events' places in the table (their ids), keeping their contents.
    x, y = event_at(h["a"], 4).id, event_at(h["a"], 5).id
    for old, new in ((x, -1), (y, x), (-1, y)):
        db.session.execute(text("UPDATE events SET id = :new WHERE id = :old"), {"old": old, "new": new})
    return f"case {h['a']}, event 4: sequence jumps from 3 to 5"


def insert_forged_with_bad_hash(h):
    head = event_at(h["b"], 3)
    forged = Event(
        chain_id=h["b"],
        case_id=h["b"],
        seq=4,
        created_at=head.created_at + timedelta(seconds=1),
        actor_type="staff",
        actor_id=None,
        action="status",
        old_value="new",
        new_value="closed",
        prev_hash=head.hash,
        hash="ab" * 32,
    )
    db.session.add(forged)
    return f"case {h['b']}, event 4: content does not match its hash"


def insert_forged_in_the_middle(h):
    # Make room at seq 2 and insert a perfectly hashed event there: the next link no longer fits.
    for ev in sorted(chain(h["b"]), key=lambda e: -e.seq)[:-1]:
        db.session.execute(update(Event).where(Event.id == ev.id).values(seq=ev.seq + 1))
    first = event_at(h["b"], 1)
    forged = Event(
        chain_id=h["b"],
        case_id=h["b"],
        seq=2,
        created_at=first.created_at,
        actor_type="system",
        action="routed",
        new_value="general",
        prev_hash=first.hash,
    )
    forged.hash = audit.compute_hash(first.hash, audit.event_fields(forged))
    db.session.add(forged)
    return f"case {h['b']}, event 2: sequence jumps from 1 to 3"


def rewrite_chain_consistently(h):
    # Edit an event and recompute every later hash of its chain: every chain verifies,
    # but the signed Merkle root over all event hashes does not.
    events = chain(h["a"])
    prev = events[1].hash
    for ev in events[2:]:
        reason = "Rewritten" if ev.seq == 3 else ev.reason
        ev_fields = {**audit.event_fields(ev), "reason": reason}
        new_hash = audit.compute_hash(prev, ev_fields)
        db.session.execute(update(Event).where(Event.id == ev.id).values(reason=reason, prev_hash=prev, hash=new_hash))
        prev = new_hash
    return f"checkpoint {h['checkpoint']}: events up to"


TAMPERING = [
    edit_reason,
    edit_actor,
    delete_middle,
    delete_last,
    delete_end_of_other_chain,
    swap_sequence_numbers,
    reorder_rows,
    insert_forged_with_bad_hash,
    insert_forged_in_the_middle,
    rewrite_chain_consistently,
]


def test_intact_history_verifies(app, history, runner):
    code, output = verify(runner)
    assert code == 0, output
    assert "9 events in 2 chains, 1 checkpoints checked." in output
    assert "History intact." in output and "BROKEN" not in output
    report = audit.verify_all(db.session, public_key(app))
    assert report.intact and report.events == 9 and report.chains == 2 and report.checkpoints == 1


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__ for t in TAMPERING])
def test_tampering_is_detected(app, history, runner, no_triggers, tamper):
    expected = tamper(history)
    db.session.commit()
    code, output = verify(runner)
    assert code == 1, output
    assert "BROKEN: " + expected in output
    assert "History intact." not in output
    report = audit.verify_all(db.session, public_key(app))
    assert not report.intact
    assert expected in f"{report.first_break} {report.checkpoint_problem}"


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("root_hash", "00" * 32, "do not match the signed root"),
        ("signature", "00" * 64, "signature is not valid"),
        ("signature", "not hex", "signature is not valid"),
        ("tree_size", 8, "8 events signed, 9 found"),
    ],
)
def test_checkpoint_tampering_is_detected(app, history, runner, column, value, problem, no_triggers):
    db.session.execute(update(Checkpoint).where(Checkpoint.id == history["checkpoint"]).values(**{column: value}))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"BROKEN: checkpoint {history['checkpoint']}" in output and problem in output
    assert problem in audit.verify_all(db.session, public_key(app)).checkpoint_problem


def test_recomputed_root_without_the_key_is_detected(app, history, runner, no_triggers):
    """An attacker who rewrites a chain and recomputes the root still cannot sign it."""
    rewrite_chain_consistently(history)
    db.session.commit()
    root = merkle_root(bytes.fromhex(h) for h in db.session.scalars(select(Event.hash).order_by(Event.id)))
    db.session.execute(update(Checkpoint).values(root_hash=root.hex()))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "signature is not valid" in output


def test_checkpoint_signed_by_another_key_is_detected(app, history, runner, no_triggers):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    cp = db.session.get(Checkpoint, history["checkpoint"])
    other = Ed25519PrivateKey.generate()
    cp.signature = other.sign(audit._signed_message(cp.tree_size, cp.last_event_id, cp.root_hash)).hex()
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "signature is not valid" in output


# --- checkpoints -----------------------------------------------------------------------


def test_checkpoint_command_writes_one(app, make_case, runner):
    make_case()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    cp = db.session.scalar(select(Checkpoint))
    assert f"Checkpoint {cp.id}: 2 events up to id {cp.last_event_id}, root {cp.root_hash}" in result.output
    assert cp.key_id == audit.key_id(public_key(app))
    again = runner.invoke(args=["audit", "checkpoint"])
    assert "No new events since the last checkpoint." in again.output
    assert db.session.scalar(select(func.count()).select_from(Checkpoint)) == 1
    assert verify(runner)[0] == 0


def test_checkpoint_root_is_rfc6962_merkle_tree_head():
    leaves = [bytes([i]) * 32 for i in range(7)]

    def mth(d):
        if len(d) == 1:
            return audit.leaf_hash(d[0])
        k = 1
        while k * 2 < len(d):
            k *= 2
        return audit.node_hash(mth(d[:k]), mth(d[k:]))

    for n in range(1, len(leaves) + 1):
        assert merkle_root(leaves[:n]) == mth(leaves[:n])
    assert merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_automatic_checkpoints_every_n_events(make_app):
    app = make_app(AUDIT_CHECKPOINT_EVERY=5)
    with app.app_context():
        key = app.extensions["shagym_receipt_key"]
        for _ in range(6):
            commands.file_report(report(), key)  # two events each
        checkpoints = db.session.scalars(select(Checkpoint).order_by(Checkpoint.id)).all()
        # Crossing event ids 5 and 10 each wrote one, covering everything committed so far.
        assert [(c.tree_size, c.last_event_id) for c in checkpoints] == [(6, 6), (10, 10)]
        report_ = audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key())
        assert report_.intact and report_.checkpoints == 2 and report_.events == 12


def test_no_automatic_checkpoints_when_switched_off(app, make_case):
    for _ in range(3):
        make_case()
    assert db.session.scalar(select(func.count()).select_from(Checkpoint)) == 0


def test_signing_key_lives_in_the_instance_folder(app):
    from pathlib import Path

    path = Path(app.instance_path) / "audit_ed25519.pem"
    assert path.exists() and path.stat().st_mode & 0o077 == 0
    assert (
        audit.load_signing_key(app.instance_path).public_key().public_bytes_raw() == public_key(app).public_bytes_raw()
    )


def test_verify_all_does_not_detach_the_callers_objects(app, history, make_user):
    user = make_user("caseworker", ["general"])
    db.session.commit()
    audit.verify_all(db.session, public_key(app))
    assert user.email.startswith("caseworker")  # still usable: not expunged


def test_case_rows_are_changed_only_with_an_event(app, make_case, make_user):
    """Every version bump of a case comes with at least one event in its chain."""
    worker, sup = make_user("caseworker", ["general"]), make_user("supervisor")
    case = make_case().case
    commands.claim(case.id, worker)
    commands.change_status(case.id, worker, "triage")
    commands.change_priority(case.id, worker, "high")
    commands.set_legal_hold(case.id, sup, True, "Litigation")
    commands.assign(case.id, sup, None, reason="Rebalancing")
    db.session.expire_all()
    version = db.session.get(Case, case.id).version
    changing = [e for e in chain(case.id) if e.action not in ("created", "routed", "viewed", "note", "message_sent")]
    assert version == 1 + len(changing) == 6


def test_checkpoints_are_append_only(app, make_case):
    from sqlalchemy.exc import DatabaseError

    from cases.models import Checkpoint

    make_case()
    commands.write_checkpoint()
    for statement in ("UPDATE checkpoints SET root_hash = 'x'", "DELETE FROM checkpoints"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert db.session.scalar(select(func.count(Checkpoint.id))) == 1


def test_deleting_the_newest_checkpoints_is_caught_by_the_head_kept_outside_the_database(
    app, make_case, runner, request
):
    make_case()
    commands.write_checkpoint()
    make_case()
    commands.write_checkpoint()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    request.getfixturevalue("no_triggers")
    db.session.execute(text("DELETE FROM checkpoints WHERE id = (SELECT MAX(id) FROM checkpoints)"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "missing from the database" in result.output


def merkle_root(leaves):
    """The RFC 6962 root of ``leaves`` through the streaming accumulator the checkpoints use."""
    acc = audit.MerkleAccumulator()
    for leaf in leaves:
        acc.add(leaf)
    return acc.root()


def test_dropping_or_disabling_the_append_only_triggers_alone_is_reported(app, make_case, runner, request):
    """The first step of any rewrite: with the guards gone, ``audit verify`` fails and names each one."""
    make_case()
    assert verify(runner)[0] == 0
    assert audit.missing_triggers(db.session) == []
    request.getfixturevalue("no_triggers")
    code, output = verify(runner)
    assert code == 1 and "append-only triggers missing or disabled" in output
    expected = audit.APPEND_ONLY_TRIGGERS[db.engine.dialect.name]
    assert all(name in output for name in expected)
    assert audit.missing_triggers(db.session) == list(expected)


ROW_TAMPERING = [
    pytest.param({"status": "rejected"}, "status", id="status"),
    pytest.param({"queue_id": 1}, "queue", id="queue"),
    pytest.param({"priority": 0}, "priority", id="priority"),
    pytest.param({"legal_hold": True}, "legal hold", id="legal hold"),
    pytest.param({"assignee_id": "worker"}, "assignee", id="assignee"),
]


@pytest.mark.parametrize(("change", "field"), ROW_TAMPERING)
def test_a_case_row_changed_outside_the_audit_trail_is_reported(
    app, make_case, make_user, runner, login_as, change, field
):
    """Writing to ``cases`` directly needs no trigger to be dropped: the row is replayed against its history."""
    filed = make_case(category="women")  # routed to the women's queue, normal priority, nobody assigned
    worker = make_user("caseworker", ["women"])
    values = {k: (worker.id if v == "worker" else v) for k, v in change.items()}
    assert verify(runner)[0] == 0
    db.session.execute(update(Case).where(Case.id == filed.case.id).values(**values))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and filed.case.reference in output and f"its {field} is" in output
    client, _ = login_as("supervisor")
    page = client.get(f"/staff/cases/{filed.case.id}").get_data(as_text=True)
    assert "History broken" in page and f"its {field} is" in page


def test_changes_made_through_the_commands_replay_cleanly(app, make_case, make_user, runner):
    filed = make_case()
    supervisor = make_user("supervisor")
    worker = make_user("caseworker", ["general"])
    commands.claim(filed.case.id, worker)
    commands.change_priority(filed.case.id, worker, "urgent", "danger")
    commands.change_status(filed.case.id, worker, "triage")
    commands.set_legal_hold(filed.case.id, supervisor, True, "court order")
    commands.move_queue(filed.case.id, supervisor, "women", "belongs there")
    assert list(audit.replay_all(db.session)) == []
    assert verify(runner)[0] == 0
