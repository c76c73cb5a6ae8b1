"""The audit witness: the newest head of every audit chain, kept outside the database.

After every commit that appends audit events, the new head (sequence number and
MAC) of each chain it touched is written here, durably, before the answer goes
out; so is every signed checkpoint. Someone who can write to the database but
not to this file cannot delete the tail of a chain, a whole case with its
events, or the newest checkpoints without ``audit verify`` (and the
supervisor's case page) noticing: the database no longer reaches what was
witnessed.

The local witness is a small SQLite file in ``instance/`` (WAL,
``synchronous=FULL``): one row per chain, so a case page asks for its chain's
head with one indexed read, and the file grows with the number of cases, not
of commits. Each row carries an HMAC under the audit key, so editing the file
by hand is noticed too. Optionally every head and checkpoint is also appended,
as one line, to a log on another volume (``AUDIT_WITNESS_LOG``, fsync'd) and/or
sent to syslog (``AUDIT_WITNESS_SYSLOG``), where someone who controls this
machine's disk cannot take it back; ``audit verify --witness-log`` reads such a
log.

Nothing here knows about cases: a head is ``(chain, seq, hash)``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import logging.handlers
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.crypto import Keyring

FILE_NAME = "audit_witness.sqlite3"
SYNCHRONOUS = "FULL"  # every witnessed head is on disk before the answer goes out
SCHEMA = """
CREATE TABLE IF NOT EXISTS heads (
    chain INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL,
    key_id TEXT NOT NULL, mac TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    last_event_id INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL, root TEXT NOT NULL,
    signature TEXT NOT NULL, at REAL NOT NULL);
"""
log = logging.getLogger("shagym.audit")


@dataclass(frozen=True)
class Head:
    chain: int
    seq: int
    hash: str
    key_id: str
    mac: str
    at: float

    def authentic(self, keys: Keyring) -> bool:
        try:
            key = keys.key(self.key_id)
        except Exception:  # an unknown key id: not ours
            return False
        return hmac.compare_digest(self.mac, head_mac(key, self.chain, self.seq, self.hash))


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint as witnessed: the Merkle tree head over the first ``tree_size`` events."""

    last_event_id: int
    tree_size: int
    root: str
    signature: str
    at: float


def head_mac(key: bytes, chain: int, seq: int, event_hash: str) -> str:
    return hmac.new(key, f"shagym-witness-v1:{chain}:{seq}:{event_hash}".encode(), hashlib.sha256).hexdigest()


def log_line(head: Head | SignedHead) -> str:
    if isinstance(head, Head):
        return (
            f"shagym-audit-head v1 chain={head.chain} seq={head.seq} hash={head.hash} key={head.key_id} mac={head.mac}"
        )
    return (
        f"shagym-audit-checkpoint v1 size={head.tree_size} last_event={head.last_event_id} "
        f"root={head.root} signature={head.signature}"
    )


def parse_log(lines: Iterable[str]) -> tuple[dict[int, Head], list[SignedHead]]:
    """The newest head per chain and every checkpoint in a witness log (other lines are skipped,
    so a syslog export with its own prefixes can be read as it is)."""
    heads: dict[int, Head] = {}
    checkpoints: list[SignedHead] = []
    for line in lines:
        for marker in ("shagym-audit-head v1 ", "shagym-audit-checkpoint v1 "):
            start = line.find(marker)
            if start < 0:
                continue
            try:
                fields = dict(part.split("=", 1) for part in line[start + len(marker) :].split())
                if marker.startswith("shagym-audit-head"):
                    head = Head(
                        int(fields["chain"]), int(fields["seq"]), fields["hash"], fields["key"], fields["mac"], 0
                    )
                    if head.chain not in heads or heads[head.chain].seq < head.seq:
                        heads[head.chain] = head
                else:
                    checkpoints.append(
                        SignedHead(
                            int(fields["last_event"]), int(fields["size"]), fields["root"], fields["signature"], 0
                        )
                    )
            except (KeyError, ValueError):
                log.warning("witness_log_line_unreadable")
    return heads, checkpoints


class Witness:
    """The local witness file plus the optional external log and syslog copies."""

    def __init__(self, path: Path, keys: Keyring, log_path: str = "", syslog_address: str = "") -> None:
        self.path = path
        self.keys = keys
        self.log_path = log_path
        self._local = threading.local()
        self._syslog: logging.Logger | None = None
        if syslog_address:
            self._syslog = logging.getLogger("shagym.audit.witness")
            self._syslog.propagate = False
            host, _, port = syslog_address.partition(":")
            address: str | tuple[str, int] = (host, int(port)) if port else syslog_address
            self._syslog.addHandler(logging.handlers.SysLogHandler(address=address))
            self._syslog.setLevel(logging.INFO)

    # --- the connection: one per thread and process (gunicorn forks, then runs threads) ---

    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            conn.executescript(SCHEMA)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (before the file is replaced, e.g. by a restore)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @property
    def exists(self) -> bool:
        return self.path.exists()

    # --- writing ---------------------------------------------------------------------

    def record_heads(self, heads: dict[int, tuple[int, str]]) -> None:
        """Witness the new head of each chain a commit appended to (durable on return)."""
        if not heads:
            return
        key_id, key = self.keys.current()
        now = time.time()
        rows = [Head(chain, seq, h, key_id, head_mac(key, chain, seq, h), now) for chain, (seq, h) in heads.items()]
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            # A slower commit of an older head never replaces a newer one.
            db.executemany(
                "INSERT INTO heads (chain, seq, hash, key_id, mac, at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                "key_id = excluded.key_id, mac = excluded.mac, at = excluded.at WHERE excluded.seq > heads.seq",
                [(r.chain, r.seq, r.hash, r.key_id, r.mac, r.at) for r in rows],
            )
        self._copy_out(rows)

    def record_checkpoint(self, last_event_id: int, tree_size: int, root: str, signature: str) -> None:
        head = SignedHead(last_event_id, tree_size, root, signature, time.time())
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR IGNORE INTO checkpoints (last_event_id, tree_size, root, signature, at) VALUES (?, ?, ?, ?, ?)",
                (head.last_event_id, head.tree_size, head.root, head.signature, head.at),
            )
        self._copy_out([head])

    def _copy_out(self, entries: list[Head] | list[SignedHead]) -> None:
        lines = [log_line(e) for e in entries]
        if self.log_path:
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, ("\n".join(lines) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        if self._syslog is not None:
            for line in lines:
                self._syslog.info(line)

    # --- reading ---------------------------------------------------------------------

    def head(self, chain: int) -> Head | None:
        if not self.exists:
            return None
        row = (
            self._db()
            .execute("SELECT chain, seq, hash, key_id, mac, at FROM heads WHERE chain = ?", (chain,))
            .fetchone()
        )
        return Head(*row) if row else None

    def heads(self) -> Iterator[Head]:
        if not self.exists:
            return
        for row in self._db().execute("SELECT chain, seq, hash, key_id, mac, at FROM heads ORDER BY chain"):
            yield Head(*row)

    def newest_checkpoint(self) -> SignedHead | None:
        if not self.exists:
            return None
        row = (
            self._db()
            .execute(
                "SELECT last_event_id, tree_size, root, signature, at FROM checkpoints ORDER BY last_event_id DESC LIMIT 1"
            )
            .fetchone()
        )
        return SignedHead(*row) if row else None


def open_witness(instance_path: str, keys: Keyring, log_path: str = "", syslog_address: str = "") -> Witness:
    return Witness(Path(instance_path) / FILE_NAME, keys, log_path, syslog_address)
