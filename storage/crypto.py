"""Encryption at rest for the fields that identify or describe people.

Keys live outside the database: files ``instance/keys/data-<id>.key`` (mode
0600, created on first start) or the ``SHAGYM_DATA_KEYS`` environment variable
(``id:base64key,id:base64key``; the last one is current). Each stored value is
``b"E1" || key id (8 ASCII bytes) || nonce (12) || AES-GCM ciphertext+tag``.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

MAGIC = b"E1"
KEY_ID_LEN = 8
NONCE_LEN = 12


class KeyError_(Exception):
    """A value was encrypted under a key this installation does not have."""


@dataclass
class Keyring:
    keys: dict[str, bytes] = field(default_factory=dict)
    current_id: str = ""
    directory: Path | None = None
    _seen_mtime: int = -1

    def refresh(self) -> None:
        """Pick up keys added on disk by ``keys rotate`` in another process."""
        if self.directory is None:
            return
        current = self.directory / "current"
        try:
            mtime = current.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._seen_mtime:
            return
        for path in sorted(self.directory.glob("data-*.key")):
            key_id = path.stem[5:]
            if key_id not in self.keys:
                self.keys[key_id] = base64.b64decode(path.read_bytes())
        key_id = current.read_text().strip()
        if key_id in self.keys:
            self.current_id = key_id
        self._seen_mtime = mtime

    def encrypt(self, plaintext: bytes, purpose: str) -> bytes:
        self.refresh()
        nonce = os.urandom(NONCE_LEN)
        key_id = self.current_id.encode("ascii")
        sealed = AESGCM(self.keys[self.current_id]).encrypt(nonce, plaintext, purpose.encode())
        return MAGIC + key_id + nonce + sealed

    def decrypt(self, stored: bytes, purpose: str) -> bytes:
        if not stored.startswith(MAGIC):
            raise KeyError_("value is not in the encrypted format")
        key_id = stored[2 : 2 + KEY_ID_LEN].decode("ascii")
        nonce = stored[2 + KEY_ID_LEN : 2 + KEY_ID_LEN + NONCE_LEN]
        key = self.keys.get(key_id)
        if key is None:
            self._seen_mtime = -1
            self.refresh()
            key = self.keys.get(key_id)
        if key is None:
            raise KeyError_(f"data key {key_id!r} is not available")
        return AESGCM(key).decrypt(nonce, stored[2 + KEY_ID_LEN + NONCE_LEN :], purpose.encode())

    @staticmethod
    def key_id_of(stored: bytes) -> str:
        return stored[2 : 2 + KEY_ID_LEN].decode("ascii")

    @property
    def from_environment(self) -> bool:
        return self.directory is None

    def add_new_key(self) -> str:
        """Create a new current key on disk; older keys stay readable."""
        if self.directory is None:
            raise RuntimeError("keys come from SHAGYM_DATA_KEYS; add the new key there")
        key_id = secrets.token_hex(KEY_ID_LEN // 2)
        key = AESGCM.generate_key(bit_length=256)
        _write_secret(self.directory / f"data-{key_id}.key", base64.b64encode(key))
        # Atomic: a worker reading ``current`` at this moment sees the old id or the new one, never "".
        tmp = self.directory / f".current-{key_id}"
        tmp.write_text(key_id)
        os.replace(tmp, self.directory / "current")
        self.keys[key_id] = key
        self.current_id = key_id
        return key_id


def _write_secret(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


def load_keyring(instance_path: str, env_value: str | None) -> Keyring:
    if env_value:
        ring = Keyring()
        for item in env_value.split(","):
            key_id, _, b64 = item.strip().partition(":")
            if len(key_id) != KEY_ID_LEN:
                raise ValueError("SHAGYM_DATA_KEYS ids must be 8 characters")
            ring.keys[key_id] = base64.b64decode(b64)
            ring.current_id = key_id
        return ring
    directory = Path(instance_path) / "keys"
    ring = Keyring(directory=directory)
    if directory.exists():
        for path in sorted(directory.glob("data-*.key")):
            ring.keys[path.stem[5:]] = base64.b64decode(path.read_bytes())
        current = directory / "current"
        if current.exists():
            ring.current_id = current.read_text().strip()
    if not ring.current_id:
        ring.add_new_key()
    return ring


def current_keyring() -> Keyring:
    return current_app.extensions["shagym_keyring"]
