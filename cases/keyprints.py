"""Fingerprints of the keys in use, so that several instances on one database provably share them.

Each instance loads its keys from the environment, from files named by settings or from
``instance/`` (generated on first start, the default for one machine). Two instances with their
own generated keys on one database break silently: a receipt filed on one is "not found" on the
other, a form from one is refused by the other, audit MACs and checkpoint signatures of one do not
verify on the other, and what one encrypts the other cannot open. So the first instance to start
records one fingerprint per key in the database, and every later start compares.

A fingerprint is the first 16 hex digits (64 bits) of SHA-256 over a domain-separated message
(``shagym-key-fingerprint-v1``, the key's name, the key) — never the key. The keys are 256-bit
random values (the session secret too, when generated), so the prefix helps nobody guess them;
64 bits are plenty to tell two keys apart. The signing key is fingerprinted by its public half.

Names: ``receipt``, ``signing``, ``session``, and ``data:<id>``, ``audit:<id>``, ``search:<id>``
for every key of the three rings (after a rotation a ring holds several). A key the database
knows that this instance lacks, or holds under the same name with another value, is a
difference; a key the database does not know yet (a new ring key after rotation, a first start)
is recorded. Nothing here knows about Flask or the database: these are plain mappings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

DOMAIN = b"shagym-key-fingerprint-v1"
LENGTH = 16
RINGS = ("data", "audit", "search")
# name (or ring prefix) -> (what the operator calls it, the setting that gives it)
LABELS = {
    "receipt": ("the receipt key", "SHAGYM_RECEIPT_KEY"),
    "signing": ("the checkpoint signing key", "SHAGYM_SIGNING_KEY"),
    "session": ("the session secret", "SECRET_KEY"),
    "data": ("data key", "SHAGYM_DATA_KEYS"),
    "audit": ("audit key", "SHAGYM_AUDIT_KEYS"),
    "search": ("search-index key", "SHAGYM_SEARCH_KEYS"),
}


def fingerprint(name: str, key: bytes) -> str:
    return hashlib.sha256(DOMAIN + b"\x00" + name.encode() + b"\x00" + key).hexdigest()[:LENGTH]


def of_keys(rings: Mapping[str, Mapping[str, bytes]], singles: Mapping[str, bytes]) -> dict[str, str]:
    """Name -> fingerprint of every key an instance loaded: ``rings`` is prefix -> {id: key}."""
    names = {f"{prefix}:{key_id}": key for prefix, ring in rings.items() for key_id, key in ring.items()}
    names.update(singles)
    return {name: fingerprint(name, key) for name, key in sorted(names.items())}


def describe(name: str) -> str:
    prefix, _, key_id = name.partition(":")
    label, setting = LABELS.get(prefix, (name, "?"))
    return f"{label} {key_id!r} ({setting})" if key_id else f"{label} ({setting})"


def compare(have: Mapping[str, str], recorded: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """(differences, one short phrase each; keys to record, name -> fingerprint)."""
    problems = []
    for name, print_ in sorted(recorded.items()):
        if name not in have:
            if name.partition(":")[0] in RINGS:
                problems.append(f"{describe(name)} is recorded in the database but not loaded here")
        elif have[name] != print_:
            problems.append(f"{describe(name)} differs from the one recorded in the database")
    new = {name: print_ for name, print_ in have.items() if name not in recorded}
    return problems, new


def refusal(problems: list[str]) -> str:
    """The one line an instance with other keys prints before it stops."""
    return (
        "refusing to start: this instance's keys are not the ones the other instances on this database use — "
        + "; ".join(problems)
        + ". Give every instance the same keys (the settings or their *_FILE files, docs/operations.md); "
        "nothing was written."
    )
