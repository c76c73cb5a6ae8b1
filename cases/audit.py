"""The audit trail: appending events, the per-case hash chain, checkpoints.

``hash = SHA-256(prev_hash || canonical_json(event))`` per chain (one chain per
case, chain 0 for system events). Checkpoints are RFC 6962 Merkle tree heads
over every event hash in id order, signed with an Ed25519 key that lives in
``instance/``, never in the database.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, lazyload

from cases.models import Case, Checkpoint, Event
from cases.vocabulary import Action, ActorType

GENESIS = "0" * 64
# Set in ``session.info`` by ``append``; the committer pops it to decide on a checkpoint.
APPENDED = "shagym_events_appended"
SYSTEM_CHAIN = 0
VERIFY_BATCH = 5000


def canonical_json(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_fields(e: Event) -> dict[str, Any]:
    """The hashed content of an event: everything except the hashes themselves."""
    return {
        "chain": e.chain_id,
        "case": e.case_id,
        "seq": e.seq,
        "at": _iso(e.created_at),
        "actor_type": e.actor_type,
        "actor": e.actor_id,
        "action": e.action,
        "old": e.old_value,
        "new": e.new_value,
        "reason": e.reason,
        "details": e.details,
    }


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(fields).encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    case: Case | None,
    actor_type: ActorType | str,
    action: Action | str,
    actor_id: int | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
    new_chain: bool = False,
) -> Event:
    """Append one event to the case's chain (or the system chain) in the caller's transaction.

    The caller holds the case row (``FOR UPDATE`` on PostgreSQL, the write lock
    on SQLite), so reading the chain head and inserting the next link cannot
    interleave with another writer; the unique ``(chain_id, seq)`` constraint
    backs this up.
    """
    chain_id = case.id if case is not None else SYSTEM_CHAIN
    # Heads appended earlier in this same transaction are remembered (see _forget_heads).
    heads: dict[int, tuple[int, str]] = session.info.setdefault(HEADS_KEY, {})
    head = heads.get(chain_id)
    if head is None and not new_chain:
        head = session.execute(
            select(Event.seq, Event.hash).where(Event.chain_id == chain_id).order_by(Event.seq.desc()).limit(1)
        ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    event = Event(
        chain_id=chain_id,
        case_id=case.id if case is not None else None,
        seq=seq,
        created_at=at or datetime.now(UTC),
        actor_type=ActorType(actor_type).value,  # an unknown code fails here, not in a report later
        actor_id=actor_id,
        action=Action(action).value,
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        reason=reason or None,
        details=canonical_json(details) if details else None,
        prev_hash=prev,
    )
    event.hash = compute_hash(prev, event_fields(event))
    session.add(event)
    session.info[APPENDED] = True
    heads[chain_id] = (seq, event.hash)
    return event


HEADS_KEY = "shagym_audit_heads"


@listens_for(Session, "after_transaction_end")
def _forget_heads(session: Session, transaction) -> None:
    # After commit or rollback another writer may extend the chain: read the head again.
    if transaction.parent is None:
        session.info.pop(HEADS_KEY, None)


# --- verification ---------------------------------------------------------


@dataclass(frozen=True)
class Break:
    chain_id: int
    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = "system chain" if self.chain_id == SYSTEM_CHAIN else f"case {self.chain_id}"
        return f"{where}, event {self.seq}: {self.problem}"


def verify_events(events: Iterable[Event], chain_id: int) -> Break | None:
    """Check one chain, given its events in ``seq`` order; return the first broken link."""
    prev = GENESIS
    expected_seq = 1
    for e in events:
        if e.seq != expected_seq:
            return Break(chain_id, expected_seq, e.id, f"sequence jumps from {expected_seq - 1} to {e.seq}")
        if e.prev_hash != prev:
            return Break(chain_id, e.seq, e.id, "does not link to the previous event")
        if compute_hash(prev, event_fields(e)) != e.hash:
            return Break(chain_id, e.seq, e.id, "content does not match its hash")
        prev = e.hash
        expected_seq += 1
    return None


# --- the case row against its history -----------------------------------------------------

# What each action sets, as (field, where the new value is): the case row must agree with the
# last event that set each field, or someone changed the row without writing history.
REPLAYED_FIELDS = ("status", "queue", "assignee", "priority", "legal hold")


def replay(events: Iterable[Event]) -> dict[str, tuple[str | None, int]]:
    """The value of each field after ``events`` (in ``seq`` order), with the seq that set it."""
    state: dict[str, tuple[str | None, int]] = {"status": ("new", 1), "assignee": (None, 1), "legal hold": ("false", 1)}
    for e in events:
        if e.action == Action.ROUTED:
            state["queue"] = (e.new_value, e.seq)
            state["priority"] = (json.loads(e.details or "{}").get("priority"), e.seq)
        elif e.action in (Action.STATUS, Action.QUEUE, Action.PRIORITY):
            state[{"status": "status", "queue": "queue", "priority": "priority"}[e.action]] = (e.new_value, e.seq)
        elif e.action in (Action.ASSIGNED, Action.UNASSIGNED):
            state["assignee"] = (e.new_value, e.seq)
        elif e.action == Action.LEGAL_HOLD:
            state["legal hold"] = (e.new_value, e.seq)
    return state


def row_values(case: Case) -> dict[str, str | None]:
    return {
        "status": case.status,
        "queue": case.queue.slug,
        "assignee": None if case.assignee_id is None else str(case.assignee_id),
        "priority": case.priority_name,
        "legal hold": str(bool(case.legal_hold)).lower(),
    }


def disagreement(case: Case, events: Iterable[Event]) -> Break | None:
    """The first field where the case row differs from what its own history says, or None."""
    expected = replay(events)
    actual = row_values(case)
    for name in REPLAYED_FIELDS:
        if name in expected and actual[name] != expected[name][0]:
            value, seq = expected[name]
            return Break(
                case.id,
                seq,
                None,
                f"its {name} is “{actual[name]}” but its history says “{value}” (changed outside the audit trail)",
            )
    return None


def replay_all(session: Session, batch: int = 500) -> Iterator[tuple[Case, Break]]:
    """Every case whose row disagrees with its history, in id order; two queries per ``batch`` cases."""
    last_id = 0
    while True:
        cases = session.scalars(select(Case).where(Case.id > last_id).order_by(Case.id).limit(batch)).all()
        if not cases:
            return
        events: dict[int, list[Event]] = {}
        for e in session.scalars(
            select(Event)
            .options(lazyload(Event.actor))
            .where(Event.chain_id.in_([c.id for c in cases]))
            .order_by(Event.chain_id, Event.seq)
        ):
            events.setdefault(e.chain_id, []).append(e)
        for case in cases:
            problem = disagreement(case, events.get(case.id, []))
            if problem is not None:
                yield case, problem
        last_id = cases[-1].id


def verify_chain(session: Session, chain_id: int) -> Break | None:
    events = session.scalars(
        select(Event).where(Event.chain_id == chain_id).order_by(Event.seq).execution_options(populate_existing=True)
    )
    return verify_events(events, chain_id)


def _all_events(session: Session) -> Iterator[Event]:
    """Every event in id order, in batches; memory stays bounded.

    Only the batch's own events leave the session afterwards: ``expunge_all``
    would also detach the caller's objects (the signed-in user of a request).
    """
    last_id = 0
    while True:
        batch = session.scalars(
            select(Event)
            .options(lazyload(Event.actor))
            .where(Event.id > last_id)
            .order_by(Event.id)
            .limit(VERIFY_BATCH)
            .execution_options(populate_existing=True)
        ).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        for e in batch:
            session.expunge(e)


# --- Merkle tree heads (RFC 6962, section 2.1) -----------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """Streaming RFC 6962 tree head: O(log n) memory, root of any prefix on demand.

    The stack holds the roots of the perfect subtrees that make up the leaves
    so far (sizes are the binary digits of n); folding it from the right gives
    exactly MTH(D[n]) because RFC 6962 splits at the largest power of two < n.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def add(self, data: bytes) -> None:
        node, height = leaf_hash(data), 0
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            node, height = node_hash(left, node), height + 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


# --- the append-only guards ---------------------------------------------------------

# The triggers the migrations create; a database writer who drops (or disables) one can then
# rewrite history, so ``audit verify`` checks that they are all still there and enabled.
APPEND_ONLY_TRIGGERS = {
    "sqlite": ("events_no_update", "events_no_delete", "checkpoints_no_update", "checkpoints_no_delete"),
    "postgresql": ("events_append_only", "events_no_truncate", "checkpoints_append_only", "checkpoints_no_truncate"),
}


def missing_triggers(session: Session) -> list[str]:
    """The append-only triggers that are gone (or, on PostgreSQL, disabled), by name."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        present = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    else:
        present = set(
            session.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"))
        )
    return [name for name in APPEND_ONLY_TRIGGERS.get(dialect, ()) if name not in present]


# --- signing key ------------------------------------------------------------


def load_signing_key(instance_path: str) -> Ed25519PrivateKey:
    path = Path(instance_path) / "audit_ed25519.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)  # noqa: S101 - our own file format  # nosec B101
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return load_signing_key(instance_path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _signed_message(tree_size: int, last_event_id: int, root_hex: str) -> bytes:
    return f"shagym-checkpoint-v1:{tree_size}:{last_event_id}:{root_hex}".encode()


def write_checkpoint(session: Session, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the tree head over every event so far; None when nothing is new."""
    last = session.scalar(select(Checkpoint).order_by(Checkpoint.last_event_id.desc()).limit(1))
    acc = MerkleAccumulator()
    last_id = 0
    for event_id, event_hash in session.execute(select(Event.id, Event.hash).order_by(Event.id)):
        acc.add(bytes.fromhex(event_hash))
        last_id = event_id
    if acc.size == 0 or (last is not None and last.last_event_id >= last_id):
        return None
    root = acc.root().hex()
    cp = Checkpoint(
        last_event_id=last_id,
        tree_size=acc.size,
        root_hash=root,
        key_id=key_id(key.public_key()),
        signature=key.sign(_signed_message(acc.size, last_id, root)).hex(),
    )
    session.add(cp)
    return cp


@dataclass
class Report:
    events: int = 0
    chains: int = 0
    checkpoints: int = 0
    first_break: Break | None = None
    checkpoint_problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None and self.checkpoint_problem is None


def verify_all(session: Session, public: Ed25519PublicKey) -> Report:
    """Recompute every chain and every checkpoint in one pass over the events.

    Events are read in id order; each chain's running head is kept in a dict,
    and the Merkle accumulator yields the root at each checkpoint's size.
    """
    report = Report()
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.last_event_id)))
    cp_index = 0
    heads: dict[int, tuple[int, str]] = {}
    acc = MerkleAccumulator()
    for e in _all_events(session):
        report.events += 1
        seq, prev = heads.get(e.chain_id, (0, GENESIS))
        if report.first_break is None:
            if e.seq != seq + 1:
                report.first_break = Break(e.chain_id, seq + 1, e.id, f"sequence jumps from {seq} to {e.seq}")
            elif e.prev_hash != prev:
                report.first_break = Break(e.chain_id, e.seq, e.id, "does not link to the previous event")
            elif compute_hash(prev, event_fields(e)) != e.hash:
                report.first_break = Break(e.chain_id, e.seq, e.id, "content does not match its hash")
        heads[e.chain_id] = (e.seq, e.hash)
        acc.add(bytes.fromhex(e.hash))
        while cp_index < len(checkpoints) and checkpoints[cp_index].last_event_id == e.id:
            problem = _check_checkpoint(checkpoints[cp_index], acc, public)
            if problem and report.checkpoint_problem is None:
                report.checkpoint_problem = problem
            cp_index += 1
            report.checkpoints += 1
    if cp_index < len(checkpoints) and report.checkpoint_problem is None:
        cp = checkpoints[cp_index]
        report.checkpoint_problem = f"checkpoint {cp.id} covers event {cp.last_event_id}, which is missing"
    report.chains = len(heads)
    return report


def _check_checkpoint(cp: Checkpoint, acc: MerkleAccumulator, public: Ed25519PublicKey) -> str | None:
    if acc.size != cp.tree_size:
        return f"checkpoint {cp.id}: {cp.tree_size} events signed, {acc.size} found"
    root = acc.root().hex()
    if root != cp.root_hash:
        return f"checkpoint {cp.id}: events up to {cp.last_event_id} do not match the signed root"
    try:
        public.verify(bytes.fromhex(cp.signature), _signed_message(cp.tree_size, cp.last_event_id, cp.root_hash))
    except (InvalidSignature, ValueError):
        return f"checkpoint {cp.id}: signature is not valid"
    return None


# --- the newest signed head, kept outside the database ---------------------------

HEAD_FILE = "audit_head"


def record_head(instance_path: str, cp: Checkpoint) -> None:
    """Remember the newest checkpoint in ``instance/`` (atomic replace), so deleting
    checkpoints from the database — and rewriting the chains after them — is noticed."""
    path = Path(instance_path) / HEAD_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{cp.tree_size} {cp.last_event_id} {cp.root_hash}\n")
    os.replace(tmp, path)


def check_head(session: Session, instance_path: str) -> str | None:
    """A problem if the newest head recorded outside the database is missing from it."""
    path = Path(instance_path) / HEAD_FILE
    if not path.exists():
        return None
    try:
        size, last_id, root = path.read_text().split()
    except ValueError:
        return f"{path} is unreadable"
    found = session.scalar(select(Checkpoint).where(Checkpoint.last_event_id == int(last_id)))
    if found is None or found.root_hash != root or found.tree_size != int(size):
        return (
            f"the newest signed checkpoint (over {size} events, up to event {last_id}) recorded in "
            f"{HEAD_FILE} is missing from the database or differs"
        )
    return None
