"""The audit trail: appending events, the per-case keyed chain, checkpoints, verification.

``hash = HMAC-SHA256(audit key, prev_hash || canonical_json(event))`` per chain
(one chain per case, chain 0 for system events); the event records which audit
key (``key_id``), and the keys live outside the database (``instance/keys/`` or
``SHAGYM_AUDIT_KEYS``), so someone who can write to the database cannot edit an
event and compute a matching hash. Events written before keyed chains
(``key_id`` NULL, plain SHA-256) are accepted only where a signed checkpoint
covers them.

Checkpoints are RFC 6962 Merkle tree heads over every event hash in id order,
signed with an Ed25519 key that also lives in ``instance/``. The newest head of
each chain and every checkpoint are also written to the witness outside the
database (``storage/witness.py``) after each commit, so deleting the tail of a
chain, a whole case, or the newest checkpoints is detected too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, lazyload, undefer

from cases import audit_rows
from cases.models import Case, Checkpoint, Event
from cases.vocabulary import Action, ActorType
from storage import crypto
from storage.types import unreadable
from storage.witness import Head, SignedHead, Witness

GENESIS = "0" * 64
# Set in ``session.info`` by ``append``; the committer pops it to decide on a checkpoint.
APPENDED = "shagym_events_appended"
SYSTEM_CHAIN = 0
VERIFY_BATCH = 5000


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(fields: dict[str, Any]) -> str:
    return _CANONICAL.encode(fields)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_fields(e: Event) -> dict[str, Any]:
    """The hashed content of an event: everything except the hashes themselves."""
    fields = {
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
    if e.key_id is not None:
        fields["key"] = e.key_id
    return fields


def compute_hash(prev_hash: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    """The link: HMAC-SHA256 under the audit key, or plain SHA-256 for events from before keyed chains."""
    message = bytes.fromhex(prev_hash) + canonical_json(fields).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.digest(key, message, "sha256").hex()


def audit_keys() -> crypto.Keyring:
    return current_app.extensions["shagym_audit_keys"]


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
    key_id, key = audit_keys().current()
    event.key_id = key_id
    event.hash = compute_hash(prev, event_fields(event), key)
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


class ChainCheck:
    """Follows one chain event by event (in ``seq`` order); ``feed`` returns the first broken link.

    ``covered_until`` is the newest signed checkpoint's last event id: an event without a key
    id (plain SHA-256, from before keyed chains) is accepted only up to there, because
    anyone can compute a plain hash.
    """

    def __init__(self, chain_id: int, keys: crypto.Keyring, covered_until: int) -> None:
        self.chain_id, self.keys, self.covered_until = chain_id, keys, covered_until
        self.seq, self.hash = 0, GENESIS

    def feed(self, e: Event) -> Break | None:
        if e.seq != self.seq + 1:
            return Break(self.chain_id, self.seq + 1, e.id, f"sequence jumps from {self.seq} to {e.seq}")
        if e.prev_hash != self.hash:
            return Break(self.chain_id, e.seq, e.id, "does not link to the previous event")
        if e.key_id is None:
            if e.id > self.covered_until:
                return Break(self.chain_id, e.seq, e.id, "has no audit key and no signed checkpoint covers it")
            key = None
        else:
            try:
                key = self.keys.key(e.key_id)
            except crypto.KeyError_:
                return Break(
                    self.chain_id, e.seq, e.id, f"names audit key {e.key_id!r}, which this server does not have"
                )
        if not hmac.compare_digest(compute_hash(self.hash, event_fields(e), key), e.hash):
            return Break(self.chain_id, e.seq, e.id, "content does not match its hash")
        self.seq, self.hash = e.seq, e.hash
        return None


def verify_events(
    events: Iterable[Event], chain_id: int, keys: crypto.Keyring | None = None, covered_until: int = 0
) -> Break | None:
    """Check one chain, given its events in ``seq`` order; return the first broken link."""
    check = ChainCheck(chain_id, keys or audit_keys(), covered_until)
    for e in events:
        problem = check.feed(e)
        if problem is not None:
            return problem
    return None


def against_witness(chain_id: int, events: list[Event], head: Head | None, keys: crypto.Keyring) -> Break | None:
    """The chain must reach the head the witness saw committed, with the same hash there."""
    if head is None:
        return None
    if not head.authentic(keys):
        return Break(chain_id, head.seq, None, "the witness's record of this chain has been altered")
    have = len(events) and events[-1].seq
    if have < head.seq:
        missing = f"{have + 1}" if have + 1 == head.seq else f"{have + 1}–{head.seq}"
        return Break(
            chain_id, have + 1, None, f"events {missing} were committed and witnessed but are missing (deleted)"
        )
    at = next((e for e in events if e.seq == head.seq), None)
    if at is None or at.hash != head.hash:
        return Break(chain_id, head.seq, at.id if at else None, "differs from the event the witness saw committed")
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


def newest_checkpoint(session: Session) -> Checkpoint | None:
    return session.scalar(select(Checkpoint).order_by(Checkpoint.last_event_id.desc()).limit(1))


def covered_until(session: Session) -> int:
    """The last event id the newest signed checkpoint covers (0 without one)."""
    return session.scalar(select(Checkpoint.last_event_id).order_by(Checkpoint.last_event_id.desc()).limit(1)) or 0


def chain_events(session: Session, chain_id: int) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.chain_id == chain_id)
            .order_by(Event.seq)
            .execution_options(populate_existing=True)
        )
    )


def verify_chain(session: Session, chain_id: int) -> Break | None:
    """One chain's links and keys, and that it reaches the head the witness saw."""
    events = chain_events(session, chain_id)
    keys = audit_keys()
    return verify_events(events, chain_id, keys, covered_until(session)) or against_witness(
        chain_id, events, current_witness().head(chain_id), keys
    )


def current_witness() -> Witness:
    return current_app.extensions["shagym_witness"]


# --- one case, for its page and ``cases show`` ---------------------------------------


def check_case(session: Session, case: Case, events: list[Event], related: Iterable[object] = ()) -> Break | None:
    """Everything that can be checked about one case from its own rows, cheaply: its chain (links,
    keys), the head the witness saw, the row against its history, and that its encrypted text
    (and that of ``related`` messages and files) belongs to it. Then the trail as a whole
    (``trail_problem``), so a page never says "intact" while the trail is known to be broken."""
    keys = audit_keys()
    problem = (
        verify_events(events, case.id, keys, covered_until(session))
        or against_witness(case.id, events, current_witness().head(case.id), keys)
        or disagreement(case, events)
    )
    if problem is not None:
        return problem
    last = events[-1].seq if events else 0
    for obj in (case, *related):
        for name in unreadable(obj):
            what = type(obj).__name__.lower()
            return Break(
                case.id,
                last,
                None,
                f"its {what} {name.replace('_', ' ')} was not written for this case (moved in the database)",
            )
    trail = trail_problem(session, current_witness())
    return Break(case.id, last, None, trail) if trail else None


def trail_problem(session: Session, witness: Witness) -> str | None:
    """Problems of the whole trail that two cheap queries can see: missing append-only triggers,
    and the newest witnessed checkpoint missing from the database."""
    missing = missing_triggers(session)
    if missing:
        return f"the append-only triggers {', '.join(missing)} are missing or disabled"
    # A missing witness file is not judged here: an instance that has not committed yet has none
    # (each instance keeps its own); ``audit verify`` reports it, given every instance's witness.
    signed = witness.newest_checkpoint()
    if signed is not None:
        found = session.scalar(select(Checkpoint).where(Checkpoint.last_event_id == signed.last_event_id))
        if found is None or found.root_hash != signed.root or found.tree_size != signed.tree_size:
            return (
                f"the newest signed checkpoint (over {signed.tree_size} events, up to event "
                f"{signed.last_event_id}) is missing from the database or differs from what was witnessed"
            )
    return None


EVENT_COLUMNS = tuple(Event.__table__.columns)


def _all_events(session: Session) -> Iterator[Event]:
    """Every event in id order as plain rows (attribute access like an ``Event``, no ORM objects),
    in batches of VERIFY_BATCH; memory stays bounded and the caller's objects are left alone."""
    last_id = 0
    while True:
        batch = session.execute(
            select(*EVENT_COLUMNS).where(Event.id > last_id).order_by(Event.id).limit(VERIFY_BATCH)
        ).all()
        if not batch:
            return
        yield from batch  # type: ignore[misc] - a Row has every attribute ``event_fields`` reads
        last_id = batch[-1].id


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

    @classmethod
    def from_frontier(cls, size: int, frontier: str) -> MerkleAccumulator | None:
        """Resume from a stored frontier; None when it does not describe a tree of ``size`` leaves."""
        try:
            stack = [(int(h), bytes.fromhex(node)) for h, node in json.loads(frontier)]
        except (ValueError, TypeError):
            return None
        if sum(1 << h for h, _ in stack) != size:
            return None
        acc = cls()
        acc.size, acc._stack = size, stack
        return acc

    def frontier(self) -> str:
        return json.dumps([[h, node.hex()] for h, node in self._stack], separators=(",", ":"))

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


def load_signing_key(instance_path: str, env_value: str | None = None) -> Ed25519PrivateKey:
    """The checkpoint signing key: ``SHAGYM_SIGNING_KEY`` (base64 of the 32-byte Ed25519 seed,
    the same on every instance) or ``instance/audit_ed25519.pem``, created on first start."""
    if env_value:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(env_value))
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
    """Sign the tree head over every event so far; None when nothing is new.

    Continues from the previous checkpoint's frontier (O(log n) hashes) when that checkpoint
    carries our valid signature and its frontier folds to the signed root, reading only the
    newer events: the cost is O(new events). Otherwise (a checkpoint from before frontiers were
    kept, or one that does not check out) it reads every event once, and the checkpoint it
    writes carries a frontier again.
    """
    last = newest_checkpoint(session)
    acc, after_id = MerkleAccumulator(), 0
    if last is not None and last.frontier and _signed_by(last, key.public_key()):
        resumed = MerkleAccumulator.from_frontier(last.tree_size, last.frontier)
        if resumed is not None and resumed.root().hex() == last.root_hash:
            acc, after_id = resumed, last.last_event_id
    last_id = after_id
    for event_id, event_hash in session.execute(
        select(Event.id, Event.hash).where(Event.id > after_id).order_by(Event.id)
    ):
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
        frontier=acc.frontier(),
    )
    session.add(cp)
    return cp


def _signed_by(cp: Checkpoint, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(bytes.fromhex(cp.signature), _signed_message(cp.tree_size, cp.last_event_id, cp.root_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class Report:
    events: int = 0
    chains: int = 0
    checkpoints: int = 0
    witnessed: int = 0
    # Events after the newest checkpoint: protected by the witness until the worker signs one.
    unchecked_tail: int = 0
    problems: list[Break | str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_all(
    session: Session,
    public: Ed25519PublicKey,
    keys: crypto.Keyring | None = None,
    witness: Witness | None = None,
    extra_heads: dict[int, Head] | None = None,
    extra_checkpoints: Iterable[SignedHead] = (),
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Recompute every chain and every checkpoint in one pass over the events, and compare the
    database with every head the witness saw (and those of an external witness log).

    Events are streamed in id order as plain rows (``audit_rows``); each chain's head is kept
    in a dict, and the Merkle frontier yields the root at each checkpoint's size. The checks
    are those of ``ChainCheck.feed``, inlined: this loop is what ``audit verify`` spends its
    time in. One problem is reported per chain (its first), so a report names every damaged
    case. ``progress`` is called with the number of events read after each batch.
    """
    keys = keys or audit_keys()
    report = Report()
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.last_event_id)))
    covered = checkpoints[-1].last_event_id if checkpoints else 0
    witnessed = {chain: (h.seq, h.hash) for chain, h in _witnessed_heads(witness, extra_heads, keys, report).items()}
    cp_index, cp_next = 0, checkpoints[0].last_event_id if checkpoints else None
    heads: dict[int, tuple[int, str]] = {}  # chain -> (seq, hash) of its last good event
    broken: set[int] = set()
    mac_keys: dict[str, bytes | None] = {}
    acc = MerkleAccumulator()
    stack, sha256, digest, genesis = acc._stack, hashlib.sha256, hmac.digest, (0, GENESIS)
    for batch in audit_rows.batches(session, VERIFY_BATCH):
        for row in batch:
            event_id, chain_id, seq, prev_hash, event_hash, event_key = (
                row[0],
                row[1],
                row[3],
                row[12],
                row[13],
                row[14],
            )
            if chain_id not in broken:
                have_seq, have_hash = heads.get(chain_id, genesis)
                problem = None
                if seq != have_seq + 1:
                    problem = Break(chain_id, have_seq + 1, event_id, f"sequence jumps from {have_seq} to {seq}")
                elif prev_hash != have_hash:
                    problem = Break(chain_id, seq, event_id, "does not link to the previous event")
                else:
                    message = bytes.fromhex(prev_hash) + audit_rows.canonical(row).encode("utf-8")
                    if event_key is None:
                        if event_id > covered:
                            problem = Break(
                                chain_id, seq, event_id, "has no audit key and no signed checkpoint covers it"
                            )
                        else:
                            computed = sha256(message).hexdigest()
                    else:
                        key = mac_keys.get(event_key, b"")
                        if key == b"":
                            try:
                                key = mac_keys[event_key] = keys.key(event_key)
                            except crypto.KeyError_:
                                key = mac_keys[event_key] = None
                        if key is None:
                            problem = Break(
                                chain_id,
                                seq,
                                event_id,
                                f"names audit key {event_key!r}, which this server does not have",
                            )
                        else:
                            computed = digest(key, message, "sha256").hex()
                    if problem is None and not hmac.compare_digest(computed, event_hash):
                        problem = Break(chain_id, seq, event_id, "content does not match its hash")
                    if problem is None and witnessed.get(chain_id, genesis)[0] == seq:
                        if witnessed[chain_id][1] != event_hash:
                            problem = Break(chain_id, seq, event_id, "differs from the event the witness saw committed")
                if problem is None:
                    heads[chain_id] = (seq, event_hash)
                else:
                    report.problems.append(problem)
                    broken.add(chain_id)
                    heads.setdefault(chain_id, genesis)
            # The Merkle leaf (MerkleAccumulator.add, inlined).
            node, height = sha256(b"\x00" + bytes.fromhex(event_hash)).digest(), 0
            while stack and stack[-1][0] == height:
                node, height = sha256(b"\x01" + stack.pop()[1] + node).digest(), height + 1
            stack.append((height, node))
            acc.size += 1
            while cp_next == event_id:
                problem_text = _check_checkpoint(checkpoints[cp_index], acc, public)
                if problem_text:
                    report.problems.append(problem_text)
                cp_index += 1
                report.checkpoints += 1
                cp_next = checkpoints[cp_index].last_event_id if cp_index < len(checkpoints) else None
        report.events = acc.size
        if progress is not None:
            progress(report.events)
    for cp in checkpoints[cp_index:]:
        report.problems.append(f"checkpoint {cp.id} covers event {cp.last_event_id}, which is missing")
    for chain_id, (head_seq, _hash) in witnessed.items():
        if chain_id in broken:
            continue
        have = heads[chain_id][0] if chain_id in heads else 0
        if have < head_seq:
            what = "all of its events are missing" if have == 0 else f"events {have + 1}–{head_seq} are missing"
            if have + 1 == head_seq and have:
                what = f"event {head_seq} is missing"
            report.problems.append(Break(chain_id, have + 1, None, f"{what} (committed and witnessed, then deleted)"))
    signed = [*([witness.newest_checkpoint()] if witness is not None else []), *extra_checkpoints]
    by_last = {cp.last_event_id: cp for cp in checkpoints}
    for head in signed:
        if head is None:
            continue
        found = by_last.get(head.last_event_id)
        if found is None or found.root_hash != head.root or found.tree_size != head.tree_size:
            report.problems.append(
                f"the signed checkpoint over {head.tree_size} events (up to event {head.last_event_id}) that the "
                "witness recorded is missing from the database or differs"
            )
    report.chains = len(heads)
    report.unchecked_tail = acc.size - (checkpoints[-1].tree_size if checkpoints else 0)
    return report


def _witnessed_heads(
    witness: Witness | None, extra: dict[int, Head] | None, keys: crypto.Keyring, report: Report
) -> dict[int, Head]:
    """The newest authentic head per chain from the local witness and any external log."""
    heads: dict[int, Head] = {}
    sources = [*(witness.heads() if witness is not None else ()), *(extra or {}).values()]
    for head in sources:
        report.witnessed += 1
        if not head.authentic(keys):
            report.problems.append(
                Break(head.chain, head.seq, None, "the witness's record of this chain has been altered")
            )
            continue
        if head.chain not in heads or heads[head.chain].seq < head.seq:
            heads[head.chain] = head
    return heads


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


# --- encrypted text that belongs to another row -------------------------------------------


def misplaced_values(session: Session, models: Iterable[type], batch: int = 200) -> Iterator[tuple[object, str]]:
    """Every (row, field) whose encrypted value does not open for its owner: moved or swapped in
    the database. Reads each table in id batches; values are opened one by one."""
    for model in models:
        last_id = 0
        while True:
            rows = session.scalars(
                select(model).where(model.id > last_id).order_by(model.id).limit(batch).options(undefer("*"))
            ).all()
            if not rows:
                break
            for row in rows:
                for name in unreadable(row):
                    yield row, name
                session.expunge(row)
            last_id = rows[-1].id
