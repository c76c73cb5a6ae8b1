"""Every key the app reads on start, in one file encrypted with a passphrase — never in a backup.

``keys export`` gathers the data, audit and search keyrings (every key, and which is current),
the checkpoint signing key, the receipt-code key and the session secret, as the running app
loaded them (from ``instance/`` or the environment). The file is JSON: the Argon2id parameters
and salt, an AES-GCM nonce and the ciphertext; the header is the associated data, so changing a
parameter makes the file fail to open like a wrong passphrase does.

``keys import`` opens it and writes the files ``create_app`` reads (``instance/keys/*``,
``instance/audit_ed25519.pem``, ``instance/receipt_key``, ``instance/secret_key``), mode 0600.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto import Keyring

FORMAT = "shagym-keys"
VERSION = 1
PREFIXES = ("data", "audit", "search")
# Argon2id, RFC 9106's second recommendation (64 MiB, 3 passes); the export is rare, opening it too.
TIME_COST = 3
MEMORY_COST = 64 * 1024
PARALLELISM = 4
MIN_PASSPHRASE = 12


class KeyFileError(Exception):
    """A key file that cannot be written or opened; the message says why."""


@dataclass(frozen=True)
class Bundle:
    rings: dict[str, dict[str, Any]]  # prefix -> {"current": id, "keys": {id: base64}}
    signing_seed: str  # base64 of the Ed25519 seed
    receipt_key: str  # as stored in instance/receipt_key (urlsafe base64)
    secret_key: str

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "rings": self.rings,
                "signing_seed": self.signing_seed,
                "receipt_key": self.receipt_key,
                "secret_key": self.secret_key,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Bundle:
        data = json.loads(raw)
        return cls(data["rings"], data["signing_seed"], data["receipt_key"], data["secret_key"])


def gather(rings: dict[str, Keyring], signing_key: Ed25519PrivateKey, receipt_key: bytes, secret_key: str) -> Bundle:
    """The keys as the app loaded them."""
    seed = signing_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return Bundle(
        rings={
            prefix: {
                "current": ring.current_id,
                "keys": {kid: base64.b64encode(key).decode() for kid, key in sorted(ring.keys.items())},
            }
            for prefix, ring in rings.items()
        },
        signing_seed=base64.b64encode(seed).decode(),
        receipt_key=base64.urlsafe_b64encode(receipt_key).decode().rstrip("="),
        secret_key=secret_key,
    )


def _derive(passphrase: str, salt: bytes, header: dict[str, Any]) -> bytes:
    return hash_secret_raw(
        passphrase.encode(),
        salt,
        time_cost=header["time_cost"],
        memory_cost=header["memory_cost"],
        parallelism=header["parallelism"],
        hash_len=32,
        type=Type.ID,
    )


def _associated(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal(bundle: Bundle, passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyFileError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": "argon2id",
        "time_cost": TIME_COST,
        "memory_cost": MEMORY_COST,
        "parallelism": PARALLELISM,
        "salt": base64.b64encode(secrets.token_bytes(16)).decode(),
        "nonce": base64.b64encode(secrets.token_bytes(12)).decode(),
    }
    key = _derive(passphrase, base64.b64decode(header["salt"]), header)
    sealed = AESGCM(key).encrypt(base64.b64decode(header["nonce"]), bundle.to_json(), _associated(header))
    return json.dumps({**header, "ciphertext": base64.b64encode(sealed).decode()}, indent=1).encode() + b"\n"


def open_sealed(raw: bytes, passphrase: str) -> Bundle:
    try:
        data = json.loads(raw)
        header = {k: v for k, v in data.items() if k != "ciphertext"}
        if header.get("format") != FORMAT or header.get("version") != VERSION or header.get("kdf") != "argon2id":
            raise KeyFileError("this is not a Shagym key export (version 1)")
        key = _derive(passphrase, base64.b64decode(header["salt"]), header)
        plain = AESGCM(key).decrypt(
            base64.b64decode(header["nonce"]), base64.b64decode(data["ciphertext"]), _associated(header)
        )
    except InvalidTag as exc:
        raise KeyFileError("wrong passphrase, or the key file was altered: nothing was written") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError("this is not a readable Shagym key export") from exc
    return Bundle.from_json(plain)


def write_new_file(path: Path, content: bytes) -> None:
    """A new file, mode 0600; an existing one is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists: give a new path") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


def instance_files(bundle: Bundle) -> dict[str, bytes]:
    """Relative path in ``instance/`` -> content, exactly as ``create_app`` reads them."""
    files: dict[str, bytes] = {}
    for prefix in PREFIXES:
        ring = bundle.rings.get(prefix)
        if not ring:
            continue
        for kid, b64 in ring["keys"].items():
            files[f"keys/{prefix}-{kid}.key"] = b64.encode()
        files["keys/current" if prefix == "data" else f"keys/{prefix}-current"] = ring["current"].encode()
    signing = Ed25519PrivateKey.from_private_bytes(base64.b64decode(bundle.signing_seed))
    files["audit_ed25519.pem"] = signing.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files["receipt_key"] = bundle.receipt_key.encode()
    files["secret_key"] = bundle.secret_key.encode()
    return files


def _same(path: Path, content: bytes) -> bool:
    if path.name.endswith(".pem"):
        try:
            old = serialization.load_pem_private_key(path.read_bytes(), password=None)
            new = serialization.load_pem_private_key(content, password=None)
        except ValueError:
            return False
        raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return old.public_key().public_bytes(*raw) == new.public_key().public_bytes(*raw)  # type: ignore[union-attr]
    return path.read_bytes().strip() == content.strip()


def conflicts(bundle: Bundle, instance: Path) -> list[str]:
    """Files in ``instance/`` that hold a different key than the export."""
    return sorted(
        rel
        for rel, content in instance_files(bundle).items()
        if (instance / rel).exists() and not _same(instance / rel, content)
    )


def install(bundle: Bundle, instance: Path, replace: bool = False) -> list[str]:
    """Write every key file; with ``replace``, the instance's own generated keys (a fresh
    instance's, which have never sealed anything) give way: differing files are replaced and
    key files the export does not name are removed. Returns the files written."""
    clash = conflicts(bundle, instance)
    if clash and not replace:
        raise KeyFileError("these files hold other keys: " + ", ".join(clash))
    files = instance_files(bundle)
    (instance / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for rel, content in files.items():
        path = instance / rel
        if path.exists() and _same(path, content):
            continue
        tmp = path.with_name(f".{path.name}.importing")
        tmp.unlink(missing_ok=True)
        write_new_file(tmp, content)
        os.replace(tmp, path)
        written.append(rel)
    if replace:
        for prefix in PREFIXES:
            for path in (instance / "keys").glob(f"{prefix}-*.key"):
                if f"keys/{path.name}" not in files:
                    path.unlink()
    return sorted(written)
