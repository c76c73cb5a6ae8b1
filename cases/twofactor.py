"""TOTP second factor (RFC 6238) with single-use codes, and recovery codes.

The checks here change only the user object they are given (the last used step,
a spent recovery code); the sign-in and enrolment commands commit them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta

import pyotp
import segno
from sqlalchemy import select

from cases import accounts
from cases.models import RecoveryCode, User
from cases.vocabulary import Role
from storage import crypto, db

ISSUER = "Shagym"
STEP = 30
RECOVERY_CODES = 10


FAILURE_WINDOW = timedelta(hours=1)


def failures_now(user: User, now: datetime) -> int:
    """Wrong codes counted against the account in the current hour-long window."""
    started = user.second_factor_window_at
    return user.second_factor_failures if started is not None and now - started < FAILURE_WINDOW else 0


def locked(user: User, now: datetime, hourly_limit: int) -> bool:
    """Too many wrong codes this hour: every code is refused until the window is over."""
    return failures_now(user, now) >= hourly_limit


def count_failure(user: User, now: datetime) -> int:
    """One more wrong code; a window older than an hour starts again. Returns the count in the window."""
    if failures_now(user, now) == 0:
        user.second_factor_window_at = now
        user.second_factor_failures = 0
    user.second_factor_failures += 1
    return user.second_factor_failures


def required_for(user: User, require_for_all: bool) -> bool:
    return require_for_all or user.role in (Role.SUPERVISOR, Role.ADMIN) or user.totp_enabled


def new_secret() -> str:
    return pyotp.random_base32()


PENDING_KEY = "totp_setup"


def pending_secret(store: MutableMapping, ring: crypto.Keyring, bound_to: str) -> str:
    """The secret being enrolled, kept between the QR page and the code check.

    It lives in the (signed, not encrypted) cookie session, so it is sealed with the data
    key and bound to the staff session: a copied or logged cookie does not reveal the seed.
    """
    purpose = f"totp_setup:{bound_to}"
    sealed = store.get(PENDING_KEY)
    if isinstance(sealed, str):
        try:
            return ring.decrypt(base64.b64decode(sealed), purpose).decode("ascii")
        except (ValueError, binascii.Error, crypto.KeyError_, crypto.Misplaced):
            pass
    secret = new_secret()
    store[PENDING_KEY] = base64.b64encode(ring.encrypt(secret.encode("ascii"), purpose)).decode("ascii")
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG data URI, rendered here (no external service)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(now // STEP)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def verify_code(user: User, code: str, now: float | None = None) -> bool:
    """Accept a current TOTP code once: a code (or an earlier one) already used is refused."""
    code = "".join(ch for ch in code if ch.isdigit())
    if not user.totp_secret or len(code) != 6:
        return False
    step = _matching_step(user.totp_secret, code, time.time() if now is None else now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def enable(user: User, secret: str, code: str, now: float | None = None) -> bool:
    """Switch the factor on if ``code`` fits ``secret`` (the enrolment command then issues recovery codes)."""
    code = "".join(ch for ch in code if ch.isdigit())
    step = _matching_step(secret, code, time.time() if now is None else now) if len(code) == 6 else None
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_enabled = True
    user.totp_last_step = step
    return True


def _normalized(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _code_hash(code: str) -> str:
    # Codes carry 40 random bits: each is stored as a salted argon2id hash (like a password),
    # so a stolen database does not give them back by brute force.
    return accounts.hash_password(_normalized(code))


def _matches(stored: str, typed: str) -> bool:
    if not stored.startswith("$argon2"):  # codes issued before hashes were salted
        return hmac.compare_digest(stored, hashlib.sha256(typed.encode()).hexdigest())
    return accounts.verify_hash(stored, typed)


def new_recovery_codes() -> list[tuple[str, str]]:
    """Fresh recovery codes as (shown once, stored hash) pairs."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5).upper()
        codes.append((f"{raw[:5]}-{raw[5:]}", _code_hash(raw)))
    return codes


def use_recovery_code(user: User, typed: str) -> bool:
    """Accept an unused recovery code of this user once."""
    typed = _normalized(typed)
    if len(typed) != 10:
        return False
    rows = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for candidate in rows:
        if _matches(candidate.code_hash, typed):
            candidate.used_at = datetime.now(UTC)
            return True
    return False


def grouped_key(secret: str, size: int = 4) -> str:
    """The key as a person types it from the screen: groups of four (authenticator apps ignore the spaces)."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))
