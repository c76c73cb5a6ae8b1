"""Receipt codes: 100 random bits, Crockford base32, stored only as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O or U
LENGTH = 20  # 20 x 5 bits = 100 bits
GROUP = 4
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    return grouped("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def grouped(normalized: str) -> str:
    """A normalized code as it is shown: groups of four joined by dashes."""
    return "-".join(normalized[i : i + GROUP] for i in range(0, len(normalized), GROUP))


def normalize(typed: str) -> str | None:
    """Forgiving about case, spaces, dashes and look-alikes; None if it cannot be a code."""
    if len(typed) > 100:
        return None
    cleaned = "".join(ch for ch in typed.upper() if ch not in " -\t\r\n").translate(_LOOKALIKES)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def digest(key: bytes, normalized: str) -> bytes:
    return hmac.new(key, normalized.encode("ascii"), hashlib.sha256).digest()


def speakable(code: str) -> str:
    """The code spelled out for reading aloud over the phone."""
    return " · ".join(" ".join(group) for group in code.split("-"))
