"""Encryption at rest for the fields that identify or describe people.

Keys live outside the database: files ``instance/keys/data-<id>.key`` (mode
0600, created on first start) or the ``SHAGYM_DATA_KEYS`` environment variable
(``id:base64key,id:base64key``; the last one is current). Each stored value is
``b"E2" || key id (8 ASCII bytes) || nonce (12) || AES-GCM ciphertext+tag``, with
associated data ``purpose || 0x00 || owner`` (the column and the id of the row or case
it belongs to), so a value moved to another column, row or case no longer opens.
Values written before owners were bound start with ``E1`` (associated data: the
purpose alone); ``keys rotate`` rewrites them as ``E2``.

The audit trail's MAC keys use the same ring with ``prefix="audit"``
(``instance/keys/audit-<id>.key``, ``instance/keys/audit-current``, or
``SHAGYM_AUDIT_KEYS``).
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

MAGIC = b"E2"
LEGACY_MAGIC = b"E1"
KEY_ID_LEN = 8
NONCE_LEN = 12


class KeyError_(Exception):
    """A value was encrypted under a key this installation does not have."""


class Misplaced(Exception):
    """A value does not open for this column and owner: it was written for another row or case
    (moved or swapped in the database) or altered."""


def associated_data(purpose: str, owner: int | str | None) -> bytes:
    return purpose.encode() if owner is None else f"{purpose}\x00{owner}".encode()


@dataclass
class Keyring:
    keys: dict[str, bytes] = field(default_factory=dict)
    current_id: str = ""
    directory: Path | None = None
    prefix: str = "data"
    _seen_mtime: int = -1

    @property
    def _current_file(self) -> Path:
        assert self.directory is not None  # noqa: S101  # nosec B101
        # ``current`` for data keys (the original layout), ``<prefix>-current`` for the others.
        return self.directory / ("current" if self.prefix == "data" else f"{self.prefix}-current")

    def refresh(self) -> None:
        """Pick up keys added on disk by ``keys rotate`` in another process."""
        if self.directory is None:
            return
        current = self._current_file
        try:
            mtime = current.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._seen_mtime:
            return
        self._read_key_files()
        key_id = current.read_text().strip()
        if key_id in self.keys:
            self.current_id = key_id
        self._seen_mtime = mtime

    def _read_key_files(self) -> None:
        assert self.directory is not None  # noqa: S101  # nosec B101
        start = len(self.prefix) + 1
        for path in sorted(self.directory.glob(f"{self.prefix}-*.key")):
            if path.stem[start:] not in self.keys:
                self.keys[path.stem[start:]] = base64.b64decode(path.read_bytes())

    def key(self, key_id: str) -> bytes:
        """The key with this id, looking on disk again once (another process may have added it)."""
        key = self.keys.get(key_id)
        if key is None:
            self._seen_mtime = -1
            self.refresh()
            key = self.keys.get(key_id)
        if key is None:
            raise KeyError_(f"{self.prefix} key {key_id!r} is not available")
        return key

    def current(self) -> tuple[str, bytes]:
        self.refresh()
        return self.current_id, self.keys[self.current_id]

    def encrypt(self, plaintext: bytes, purpose: str, owner: int | str | None = None) -> bytes:
        """Seal ``plaintext`` for one column (``purpose``) and, when given, the row or case it belongs to."""
        self.refresh()
        nonce = os.urandom(NONCE_LEN)
        key_id = self.current_id.encode("ascii")
        sealed = AESGCM(self.keys[self.current_id]).encrypt(nonce, plaintext, associated_data(purpose, owner))
        return (MAGIC if owner is not None else LEGACY_MAGIC) + key_id + nonce + sealed

    def decrypt(self, stored: bytes, purpose: str, owner: int | str | None = None) -> bytes:
        """Open a stored value; ``Misplaced`` if it was not sealed for this column and owner."""
        if stored.startswith(MAGIC):
            ad = associated_data(purpose, owner)
        elif stored.startswith(LEGACY_MAGIC):
            ad = associated_data(purpose, None)
        else:
            raise KeyError_("value is not in the encrypted format")
        key = self.key(self.key_id_of(stored))
        nonce = stored[2 + KEY_ID_LEN : 2 + KEY_ID_LEN + NONCE_LEN]
        try:
            return AESGCM(key).decrypt(nonce, stored[2 + KEY_ID_LEN + NONCE_LEN :], ad)
        except InvalidTag as exc:
            raise Misplaced(f"{purpose} does not belong to {owner}") from exc

    @staticmethod
    def is_bound(stored: bytes) -> bool:
        return stored.startswith(MAGIC)

    @staticmethod
    def key_id_of(stored: bytes) -> str:
        return stored[2 : 2 + KEY_ID_LEN].decode("ascii")

    @property
    def from_environment(self) -> bool:
        return self.directory is None

    def add_new_key(self) -> str:
        """Create a new current key on disk; older keys stay readable."""
        if self.directory is None:
            raise RuntimeError(f"keys come from SHAGYM_{self.prefix.upper()}_KEYS; add the new key there")
        key_id = secrets.token_hex(KEY_ID_LEN // 2)
        key = AESGCM.generate_key(bit_length=256)
        _write_secret(self.directory / f"{self.prefix}-{key_id}.key", base64.b64encode(key))
        # Atomic: a worker reading ``current`` at this moment sees the old id or the new one, never "".
        tmp = self.directory / f".{self.prefix}-current-{key_id}"
        tmp.write_text(key_id)
        os.replace(tmp, self._current_file)
        self.keys[key_id] = key
        self.current_id = key_id
        return key_id


def _write_secret(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


def load_keyring(instance_path: str, env_value: str | None, prefix: str = "data") -> Keyring:
    if env_value:
        ring = Keyring(prefix=prefix)
        for item in env_value.split(","):
            key_id, _, b64 = item.strip().partition(":")
            if len(key_id) != KEY_ID_LEN:
                raise ValueError(f"SHAGYM_{prefix.upper()}_KEYS ids must be 8 characters")
            ring.keys[key_id] = base64.b64decode(b64)
            ring.current_id = key_id
        return ring
    directory = Path(instance_path) / "keys"
    ring = Keyring(directory=directory, prefix=prefix)
    if directory.exists():
        ring._read_key_files()
        current = ring._current_file
        if current.exists():
            ring.current_id = current.read_text().strip()
    if not ring.current_id:
        ring.add_new_key()
    return ring


def current_keyring() -> Keyring:
    return current_app.extensions["shagym_keyring"]
