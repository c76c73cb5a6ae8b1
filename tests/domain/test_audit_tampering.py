"""Tampering with the audit trail (edit, delete, reorder, insert, forged checkpoints) is caught
by ``flask --app wsgi audit verify`` and ``audit.verify_all``; checkpoints and their signing key."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update

from cases import audit, commands, worker
from cases.commands import unit
from cases.models import Case, Checkpoint, Event, Message
from storage import db
from tests.conftest import switch_off_triggers, switch_on_triggers
from tests.helpers import chain, report


def public_key(app):
    return app.extensions["shagym_signing_key"].public_key()


def verify(runner) -> tuple[int, str]:
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


# --- tampering: every attack of the outside test, by someone who can write to the database ----------
#
# Each attack returns the case it damages (or None for the trail as a whole) and what
# ``audit verify`` must say; the test checks that verify fails naming it, and that the
# supervisor's page of that case says "broken".


@pytest.fixture
def history(app, make_case, make_user, login_as):
    """Three cases with work done; a checkpoint after the first two, then more events after it
    (the part the signed checkpoint does not cover, where rewriting used to pass)."""
    supervisor_client, sup = login_as("supervisor")
    supervisor_client.set_cookie("lang", "en")
    worker = make_user("caseworker", ["general"])
    a = make_case().case
    b = make_case(category="women").case
    commands.claim(a.id, worker)  # a: created 1, routed 2, assigned 3
    commands.change_status(a.id, worker, "triage")  # 4
    commands.add_note(a.id, worker, "Called the reporter back.")  # 5
    commands.change_status(a.id, worker, "investigating")  # 6
    commands.change_priority(b.id, sup, "high", "Repeat offender")  # b: created 1, routed 2, priority 3
    cp = commands.write_checkpoint()
    commands.add_note(a.id, worker, "Visited the detention centre.")  # a: 7, after the checkpoint
    commands.change_priority(b.id, sup, "urgent", "Threats")  # b: 4
    c = make_case(narrative="A second report, entirely after the checkpoint.").case  # c: 1, 2
    return {"a": a.id, "b": b.id, "c": c.id, "checkpoint": cp.id, "worker": worker.id, "page": supervisor_client}


def event_at(case_id: int, seq: int) -> Event:
    return db.session.scalar(select(Event).where(Event.chain_id == case_id, Event.seq == seq))


def rehash(case_id: int, from_seq: int, changes: dict | None = None, key: bytes | None = None) -> None:
    """What an attacker does after editing: recompute the chain from ``from_seq`` on. Without the
    audit key they can only use plain SHA-256 (``key_id`` NULL) or guess a key."""
    prev = event_at(case_id, from_seq - 1).hash if from_seq > 1 else audit.GENESIS
    for ev in chain(case_id):
        if ev.seq < from_seq:
            continue
        values = {**(changes or {}), "key_id": "guessed0" if key else None} if ev.seq == from_seq else {}
        values.setdefault("key_id", "guessed0" if key else None)
        for name, value in values.items():
            setattr(ev, name, value)
        ev.prev_hash = prev
        ev.hash = audit.compute_hash(prev, audit.event_fields(ev), key)
        prev = ev.hash
    db.session.flush()


def edit_reason_before_checkpoint(h):
    db.session.execute(update(Event).where(Event.id == event_at(h["b"], 3).id).values(reason="Nothing to see"))
    return h["b"], "event 3: content does not match its hash"


def edit_actor_before_checkpoint(h):
    db.session.execute(update(Event).where(Event.id == event_at(h["a"], 3).id).values(actor_id=None))
    return h["a"], "event 3: content does not match its hash"


def edit_after_checkpoint_and_rehash(h):
    rehash(h["a"], 7, {"reason": "Nothing happened"})
    return h["a"], "event 7: has no audit key and no signed checkpoint covers it"


def edit_after_checkpoint_and_rehash_with_a_guessed_key(h):
    rehash(h["a"], 7, {"reason": "Nothing happened"}, key=b"\x00" * 32)
    return h["a"], "event 7: names audit key 'guessed0', which this server does not have"


def edit_after_checkpoint_keeping_the_key_id(h):
    ev = event_at(h["b"], 4)
    ev.reason = "Routine"
    ev.hash = audit.compute_hash(ev.prev_hash, audit.event_fields(ev), b"\x01" * 32)  # not the real key
    db.session.flush()
    return h["b"], "event 4: content does not match its hash"


def rewrite_chain_before_checkpoint(h):
    # Every later hash recomputed with plain SHA-256, as events before keyed chains were.
    rehash(h["a"], 3, {"reason": "Rewritten"})
    # Plain hashes are accepted up to the checkpoint, but its signed root no longer matches,
    # and the first event after it has no key.
    return h["a"], "event 7: has no audit key and no signed checkpoint covers it"


def delete_middle(h):
    db.session.execute(delete(Event).where(Event.id == event_at(h["a"], 4).id))
    return h["a"], "event 4: sequence jumps from 3 to 5"


def delete_last_event_of_a_chain(h):
    db.session.execute(delete(Event).where(Event.id == event_at(h["b"], 4).id))
    return h["b"], "event 4 is missing (committed and witnessed, then deleted)"


def delete_last_two_events_of_a_chain(h):
    db.session.execute(delete(Event).where(Event.chain_id == h["a"], Event.seq >= 6))
    return h["a"], "events 6–7 are missing (committed and witnessed, then deleted)"


def delete_a_whole_case_with_its_events(h):
    for table in ("events", "tracking_sessions", "messages", "evidence"):
        db.session.execute(text(f"DELETE FROM {table} WHERE case_id = :id"), {"id": h["c"]})
    db.session.execute(text("DELETE FROM cases WHERE id = :id"), {"id": h["c"]})
    return h["c"], f"case {h['c']} (row deleted), event 1: all of its events are missing"


def delete_every_event_after_the_checkpoint(h):
    last = db.session.get(Checkpoint, h["checkpoint"]).last_event_id
    db.session.execute(delete(Event).where(Event.id > last))
    return h["b"], "event 4 is missing (committed and witnessed, then deleted)"


def swap_sequence_numbers(h):
    x, y = event_at(h["a"], 4).id, event_at(h["a"], 5).id
    for event_id, seq in ((x, -1), (y, 4), (x, 5)):
        db.session.execute(text("UPDATE events SET seq = :seq WHERE id = :id"), {"id": event_id, "seq": seq})
    return h["a"], "event 4: sequence jumps from 3 to 5"


def swap_sequence_numbers_and_rehash(h):
    x, y = event_at(h["a"], 6).id, event_at(h["a"], 7).id
    for event_id, seq in ((x, -1), (y, 6), (x, 7)):
        db.session.execute(text("UPDATE events SET seq = :seq WHERE id = :id"), {"id": event_id, "seq": seq})
    db.session.expire_all()
    rehash(h["a"], 6)
    # Read in id order, the chain now reaches seq 7 before seq 6.
    return h["a"], "event 6: sequence jumps from 5 to 7"


def swap_contents_and_rehash(h):
    six, seven = event_at(h["a"], 6), event_at(h["a"], 7)
    fields = ("action", "old_value", "new_value", "reason", "actor_id", "created_at")
    swapped = {f: getattr(seven, f) for f in fields}, {f: getattr(six, f) for f in fields}
    for ev, values in zip((six, seven), swapped, strict=True):
        for name, value in values.items():
            setattr(ev, name, value)
    db.session.flush()
    rehash(h["a"], 6)
    return h["a"], "event 7: has no audit key and no signed checkpoint covers it"


def reorder_rows(h):
    # Swap two whole events' places in the table (their ids), keeping their contents.
    x, y = event_at(h["a"], 4).id, event_at(h["a"], 5).id
    for old, new in ((x, -1), (y, x), (-1, y)):
        db.session.execute(text("UPDATE events SET id = :new WHERE id = :old"), {"old": old, "new": new})
    return h["a"], "event 4: sequence jumps from 3 to 5"


def _forged(h, case_id: int, seq: int, key_id: str | None, key: bytes | None) -> Event:
    head = event_at(case_id, seq - 1)
    forged = Event(
        chain_id=case_id,
        case_id=case_id,
        seq=seq,
        created_at=head.created_at + timedelta(seconds=1),
        actor_type="staff",
        actor_id=h["worker"],
        action="status",
        old_value="new",
        new_value="rejected",
        reason="forged rejection",
        prev_hash=head.hash,
        key_id=key_id,
    )
    forged.hash = audit.compute_hash(head.hash, audit.event_fields(forged), key)
    db.session.add(forged)
    db.session.execute(update(Case).where(Case.id == case_id).values(status="rejected", is_open=False))
    return forged


def insert_forged_with_bad_hash(h):
    forged = _forged(h, h["b"], 5, None, None)
    forged.hash = "ab" * 32
    return h["b"], "event 5: has no audit key and no signed checkpoint covers it"


def insert_forged_rejection_at_the_tail_with_a_plain_hash(h):
    _forged(h, h["c"], 3, None, None)
    return h["c"], "event 3: has no audit key and no signed checkpoint covers it"


def insert_forged_rejection_at_the_tail_under_the_current_key_id(h):
    current = audit.audit_keys().current_id
    _forged(h, h["c"], 3, current, b"\x02" * 32)
    return h["c"], "event 3: content does not match its hash"


def insert_forged_in_the_middle(h):
    # Make room at seq 2 and insert a hashed event there: the next link no longer fits.
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
    return h["b"], "event 2: sequence jumps from 1 to 3"  # the forged row's id comes after the others


def delete_the_newest_checkpoint(h):
    db.session.execute(delete(Checkpoint).where(Checkpoint.id == h["checkpoint"]))
    return None, "is missing from the database or differs"


def drop_the_append_only_triggers(h):
    return None, "append-only triggers missing or disabled"


def change_status_in_the_row(h):
    db.session.execute(update(Case).where(Case.id == h["b"]).values(status="rejected", is_open=False))
    return h["b"], "its status is “rejected” but its history says “new”"


def change_queue_in_the_row(h):
    general = db.session.scalar(select(Case.queue_id).where(Case.id == h["a"]))
    db.session.execute(update(Case).where(Case.id == h["b"]).values(queue_id=general))
    return h["b"], "its queue is “general”"


def change_assignee_in_the_row(h):
    db.session.execute(update(Case).where(Case.id == h["c"]).values(assignee_id=h["worker"]))
    return h["c"], "its assignee is"


def change_priority_in_the_row(h):
    db.session.execute(update(Case).where(Case.id == h["b"]).values(priority=3))
    return h["b"], "its priority is"


def swap_the_narratives_of_two_cases(h):
    a, c = (db.session.scalar(select(Case.narrative).where(Case.id == i)) for i in (h["a"], h["c"]))
    db.session.execute(update(Case).where(Case.id == h["a"]).values({Case.narrative: c}))
    db.session.execute(update(Case).where(Case.id == h["c"]).values({Case.narrative: a}))
    return h["a"], "narrative was not written for this case"


def move_a_message_to_another_case(h):
    note = db.session.scalar(select(Message).where(Message.case_id == h["a"]).order_by(Message.id).limit(1))
    db.session.execute(update(Message).where(Message.id == note.id).values(case_id=h["c"]))
    return h["c"], "body was not written for this case"


def alter_the_witness(h):
    with sqlite3.connect(audit.current_witness().path) as conn:
        conn.execute("UPDATE heads SET seq = seq - 1 WHERE chain = ?", (h["b"],))
    return h["b"], "the witness's record of this chain has been altered"


ATTACKS = [
    edit_reason_before_checkpoint,
    edit_actor_before_checkpoint,
    edit_after_checkpoint_and_rehash,
    edit_after_checkpoint_and_rehash_with_a_guessed_key,
    edit_after_checkpoint_keeping_the_key_id,
    rewrite_chain_before_checkpoint,
    delete_middle,
    delete_last_event_of_a_chain,
    delete_last_two_events_of_a_chain,
    delete_a_whole_case_with_its_events,
    delete_every_event_after_the_checkpoint,
    swap_sequence_numbers,
    swap_sequence_numbers_and_rehash,
    swap_contents_and_rehash,
    reorder_rows,
    insert_forged_with_bad_hash,
    insert_forged_rejection_at_the_tail_with_a_plain_hash,
    insert_forged_rejection_at_the_tail_under_the_current_key_id,
    insert_forged_in_the_middle,
    delete_the_newest_checkpoint,
    drop_the_append_only_triggers,
    change_status_in_the_row,
    change_queue_in_the_row,
    change_assignee_in_the_row,
    change_priority_in_the_row,
    swap_the_narratives_of_two_cases,
    move_a_message_to_another_case,
    alter_the_witness,
]


def test_intact_history_verifies(app, history, runner):
    code, output = verify(runner)
    assert code == 0, output
    assert "History intact." in output and "BROKEN" not in output
    report = audit.verify_all(db.session, public_key(app), witness=audit.current_witness())
    assert report.intact, report.problems
    assert report.chains == 3 and report.checkpoints == 1 and report.witnessed == 3
    for case_id in (history["a"], history["b"], history["c"]):
        body = history["page"].get(f"/staff/cases/{case_id}").get_data(as_text=True)
        assert "History intact." in body and "History broken" not in body


@pytest.mark.parametrize("attack", ATTACKS, ids=[t.__name__ for t in ATTACKS])
def test_every_attack_by_a_database_writer_is_detected(app, history, runner, no_triggers, attack):
    case_id, expected = attack(history)
    db.session.commit()
    code, output = verify(runner)
    assert code == 1, output
    assert "History intact." not in output
    assert expected in output, output
    if case_id is not None:
        reference = db.session.scalar(select(Case.reference).where(Case.id == case_id))
        named = [line for line in output.splitlines() if expected in line]
        assert any((reference or f"case {case_id}") in line for line in named), output
    # The supervisor's page of the damaged case (of every case, for the trail as a whole) says so.
    response = history["page"].get(f"/staff/cases/{case_id or history['a']}")
    body = response.get_data(as_text=True)
    if case_id is not None and db.session.get(Case, case_id) is None:
        assert response.status_code == 404 and "Case deleted outside the audit trail" in body
    else:
        assert "History broken" in body and "History intact." not in body


def test_the_attack_table_covers_every_class_of_the_outside_test():
    """27 attacks were tried from outside (13 passed); each class is in the table above, plus the
    witness file itself. Keep this figure in docs/security.md."""
    assert len(ATTACKS) == 28


def test_a_missing_witness_is_reported_and_a_copied_one_can_be_named(app, history, runner, tmp_path):
    """Verifying a copy of the database elsewhere: without the witness nothing vouches for the tail."""
    source = audit.current_witness().path
    copy = tmp_path / "witness-copy.sqlite3"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{source}{suffix}").unlink(missing_ok=True)
    code, output = verify(runner)
    assert code == 1 and "no audit witness at" in output
    result = runner.invoke(args=["audit", "verify", "--witness", str(copy)])
    assert result.exit_code == 0, result.output


def test_an_external_witness_log_catches_what_the_local_witness_lost(make_app, tmp_path):
    """The local witness is on the same disk; a log on another volume (or syslog) is not."""
    log_path = tmp_path / "elsewhere" / "heads.log"
    log_path.parent.mkdir()
    app = make_app(AUDIT_WITNESS_LOG=str(log_path))
    with app.app_context():
        key = app.extensions["shagym_receipt_key"]
        first = commands.file_report(report(), key)
        second_id = commands.file_report(report(), key).case.id
        lines = log_path.read_text().splitlines()
        assert len(lines) == 2 and all(line.startswith("shagym-audit-head v1 chain=") for line in lines)
        assert f"chain={second_id} seq=2 " in lines[1]
        # Someone with the database and this machine's disk deletes the second case and the local witness.
        switch_off_triggers()
        for table in ("events", "tracking_sessions"):
            db.session.execute(text(f"DELETE FROM {table} WHERE case_id = :id"), {"id": second_id})
        db.session.execute(text("DELETE FROM cases WHERE id = :id"), {"id": second_id})
        db.session.commit()
        audit.current_witness().path.unlink()
        runner = app.test_cli_runner()
        result = runner.invoke(args=["audit", "verify", "--witness-log", str(log_path)])
        assert result.exit_code == 1
        assert f"case {second_id} (row deleted), event 1: all of its events are missing" in result.output
        assert first.reference and first.reference not in result.output
        switch_on_triggers()


def test_two_instances_share_the_keys_and_each_keeps_its_own_witness(make_app, tmp_path):
    """Scale-out: every instance has the same audit and signing keys (environment), and its own
    witness of the commits it made; verify takes every instance's witness."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    shared = {
        "SHAGYM_DATA_KEYS": "shared02:" + base64.b64encode(b"\x08" * 32).decode(),
        "SHAGYM_RECEIPT_KEY": base64.urlsafe_b64encode(b"\x09" * 32).decode(),
        "SHAGYM_AUDIT_KEYS": "shared01:" + base64.b64encode(b"\x07" * 32).decode(),
        "SHAGYM_SIGNING_KEY": base64.b64encode(seed).decode(),
        # Every key: an instance with its own search key would refuse to start (web/keycheck.py).
        "SHAGYM_SEARCH_KEYS": "shared03:" + base64.b64encode(b"\x0a" * 32).decode(),
    }
    one = make_app(**shared)
    two = make_app(INSTANCE_PATH=str(tmp_path / "second-instance"), **shared)
    with one.app_context():
        first = commands.file_report(report(), one.extensions["shagym_receipt_key"]).case.id
    with two.app_context():
        second = commands.file_report(report(), two.extensions["shagym_receipt_key"]).case.id
        commands.write_checkpoint()  # signed on the second instance, verified on the first
        witness_two = audit.current_witness().path
    with one.app_context():
        runner = one.test_cli_runner()
        both = ["audit", "verify", "--witness", str(audit.current_witness().path), "--witness", str(witness_two)]
        result = runner.invoke(args=both)
        assert result.exit_code == 0, result.output
        assert "2 witnessed heads" in result.output and first != second
        # The second instance's case loses its last event: only that instance's witness saw it.
        switch_off_triggers()
        db.session.execute(delete(Event).where(Event.chain_id == second, Event.seq == 2))
        db.session.commit()
        result = runner.invoke(args=both)
        assert result.exit_code == 1
        assert f"(case {second}), event 2: event 2 is missing" in result.output
        switch_on_triggers()


def test_each_commit_that_appends_events_witnesses_the_new_heads(app, make_case, make_user):
    witness = audit.current_witness()
    filed = make_case().case
    assert witness.head(filed.id).seq == 2
    worker = make_user("caseworker", ["general"])
    commands.claim(filed.id, worker)
    head = witness.head(filed.id)
    assert (head.seq, head.hash) == (3, event_at(filed.id, 3).hash)
    assert head.authentic(audit.audit_keys())


def test_events_are_keyed_with_the_audit_key_kept_outside_the_database(app, make_case):
    filed = make_case().case
    ring = audit.audit_keys()
    key_files = list((Path(app.instance_path) / "keys").glob("audit-*.key"))
    assert len(key_files) == 1 and key_files[0].stat().st_mode & 0o077 == 0
    for ev in chain(filed.id):
        assert ev.key_id == ring.current_id
        assert ev.hash == audit.compute_hash(ev.prev_hash, audit.event_fields(ev), ring.key(ev.key_id))
        assert ev.hash != audit.compute_hash(ev.prev_hash, audit.event_fields(ev))  # not a plain hash


def test_rotating_the_audit_key_keeps_older_events_verifiable(app, make_case, runner):
    before = make_case().case
    old = audit.audit_keys().current_id
    result = runner.invoke(args=["audit", "rotate-key"])
    assert result.exit_code == 0, result.output
    new = audit.audit_keys().current_id
    assert new != old and new in result.output
    after = make_case().case
    assert {e.key_id for e in chain(before.id)} == {old} and {e.key_id for e in chain(after.id)} == {new}
    rotated = db.session.scalar(select(Event).where(Event.action == "audit_key_rotated"))
    assert (rotated.old_value, rotated.new_value, rotated.key_id) == (old, new, new)
    code, output = verify(runner)
    assert code == 0, output


def test_checkpoints_continue_from_the_previous_frontier(app, make_case):
    for _ in range(3):
        make_case()
    first = commands.write_checkpoint()
    make_case()
    second = commands.write_checkpoint()
    leaves = [bytes.fromhex(h) for h in db.session.scalars(select(Event.hash).order_by(Event.id))]
    assert second.tree_size == len(leaves) and second.root_hash == merkle_root(leaves).hex()
    resumed = audit.MerkleAccumulator.from_frontier(first.tree_size, first.frontier)
    assert resumed.root().hex() == first.root_hash
    assert audit.MerkleAccumulator.from_frontier(first.tree_size + 1, first.frontier) is None


def test_a_checkpoint_is_signed_after_the_time_limit_too(make_app, monkeypatch):
    app = make_app(AUDIT_CHECKPOINT_EVERY=1000, AUDIT_CHECKPOINT_SECONDS=60)
    with app.app_context():
        key = app.extensions["shagym_receipt_key"]
        commands.file_report(report(), key)
        assert worker.run_once().checkpoint is None
        assert db.session.scalar(select(func.count()).select_from(Checkpoint)) == 0
        later = datetime.now(UTC) + timedelta(minutes=2)
        monkeypatch.setattr(unit, "utcnow", lambda: later)
        commands.file_report(report(), key)
        assert db.session.scalar(select(func.count()).select_from(Checkpoint)) == 0  # not in the request
        assert worker.run_once().checkpoint == 4
        assert [c.tree_size for c in db.session.scalars(select(Checkpoint))] == [4]
        assert audit.current_witness().newest_checkpoint().tree_size == 4


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
    assert any(problem in str(p) for p in audit.verify_all(db.session, public_key(app)).problems)


def test_recomputed_root_without_the_key_is_detected(app, history, runner, no_triggers):
    """An attacker who rewrites a chain and recomputes the root still cannot sign it."""
    rewrite_chain_before_checkpoint(history)
    db.session.commit()
    cp = db.session.get(Checkpoint, history["checkpoint"])
    hashes = db.session.scalars(select(Event.hash).where(Event.id <= cp.last_event_id).order_by(Event.id))
    db.session.execute(update(Checkpoint).values(root_hash=merkle_root(bytes.fromhex(h) for h in hashes).hex()))
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
            worker.run_once()  # the worker's round after each report
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


def test_only_a_supervisor_learns_that_a_case_was_deleted_behind_the_apps_back(app, history, login_as, no_triggers):
    """A case worker of the queue, or anyone else, gets the plain 404 as for any unknown case."""
    delete_a_whole_case_with_its_events(history)
    db.session.commit()
    worker, _ = login_as("caseworker", ["general"])
    body = worker.get(f"/staff/cases/{history['c']}")
    assert body.status_code == 404 and "audit trail" not in body.get_data(as_text=True)
    supervisor = history["page"].get(f"/staff/cases/{history['c']}")
    assert supervisor.status_code == 404 and "Case deleted outside the audit trail" in supervisor.get_data(as_text=True)
    never = history["page"].get("/staff/cases/424242")
    assert never.status_code == 404 and "audit trail" not in never.get_data(as_text=True)
