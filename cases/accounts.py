"""Staff accounts: the password policy, password checks and session look-ups (read-only).

Every change to accounts and sessions is a command (``cases.commands.accounts``).

Passwords: 12 to 128 characters, not in the shipped list of 20,000 common
passwords (Django's list, BSD licence), hashed with argon2id. A sign-in
creates a server-side session row; the cookie holds only a random token whose
SHA-256 is the row id, so deleting the row ends the session at once.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from cases.models import StaffSession, User
from cases.refusals import Refused
from i18n import N_
from storage import db

MIN_LENGTH, MAX_LENGTH = 12, 128
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
# Compared against when the email is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Refused):
    """A refused account change (translatable; ``str()`` is English)."""


class WrongPassword(AccountError):
    """The password given to confirm a change is not the account's."""


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def password_refusal(password: str, email: str = "", name: str = "") -> Optional[AccountError]:
    """Why a password is refused, as an error to raise (translatable), or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return AccountError(N_("Use at least %(n)s characters."), n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return AccountError(N_("Use at most %(n)s characters."), n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(password)) < 4:
        return AccountError(
            N_("This password is too common. Choose a less predictable one (a few unrelated words work well).")
        )
    if email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        return AccountError(N_("Do not use your email address in your password."))
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def authenticate(email: str, password: str) -> Optional[User]:
    """The active user with this email and password, or None. Same cost either way."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user


def reset_code_holder(email: str) -> Optional[User]:
    """The active account with this email that an administrator gave a one-time reset code, or None."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    return user if user is not None and user.active and user.reset_code_hash is not None else None


def needs_rehash(user: User) -> bool:
    """The stored hash uses older argon2 parameters: the sign-in command stores a fresh one."""
    return _hasher.check_needs_rehash(user.password_hash)


def verify_hash(stored: str, typed: str) -> bool:
    """Whether ``typed`` matches an argon2id hash made by ``hash_password`` (recovery codes too)."""
    try:
        return _hasher.verify(stored, typed)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- sessions -----------------------------------------------------------------


def session_key(token: str) -> str:
    """The stored id of a session: a hash, so a database leak yields no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Found:
    """What a cookie token names: the row (None if unknown), its user, and what is due."""

    row: Optional[StaffSession]
    user: Optional[User]
    expired: bool = False
    refresh: bool = False


def find_session(token: str, limits: SessionLimits, now: datetime | None = None) -> Found:
    """Look up a session by its cookie token, without changing anything.

    ``expired``: idle or too old (the caller ends it). ``refresh``: the idle clock was last
    moved over a minute ago (moved at most once a minute, to keep reads cheap).
    """
    row, expired, refresh = find_row(StaffSession, token, limits, now or datetime.now(UTC))
    if row is None or expired:
        return Found(row, None, expired=expired)
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return Found(row, None)
    return Found(row, user, refresh=refresh)


def find_row(model, token: object, limits: SessionLimits, now: datetime):
    """The session row (staff or tracking) that a cookie token names, whether it has expired
    (idle or too old), and whether its idle clock is due to move (at most once a minute)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None, False, False
    row = db.session.get(model, session_key(token))
    if row is None:
        return None, False, False
    expired = now - row.last_seen_at > limits.idle or now - row.created_at > limits.absolute
    return row, expired, not expired and now - row.last_seen_at > timedelta(minutes=1)
