"""Staff accounts, passwords and server-side sessions.

Passwords: 12 to 128 characters, not in the shipped list of 20,000 common
passwords (Django's list, BSD licence), hashed with argon2id. A sign-in
creates a server-side session row; the cookie holds only a random token whose
SHA-256 is the row id, so deleting the row ends the session at once.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from cases.categories import N_
from cases.models import ROLES, Queue, QueueMembership, StaffSession, User
from extensions import db

MIN_LENGTH, MAX_LENGTH = 12, 128
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
# Compared against when the email is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """A refused account change. ``template`` and ``params`` let a view translate it; ``str()`` is English."""

    def __init__(self, template: str, **params: object) -> None:
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


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


def password_problem(password: str, email: str = "", name: str = "") -> Optional[str]:
    """Why a password is refused (English), or None if it is acceptable."""
    refusal = password_refusal(password, email, name)
    return str(refusal) if refusal else None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, name: str, role: str, password: str, queue_slugs: list[str] | None = None) -> User:
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError(N_("Role must be one of %(roles)s."), roles=", ".join(ROLES))
    if "@" not in email or len(email) > 254:
        raise AccountError(N_("Give a valid email address."))
    if not name.strip():
        raise AccountError(N_("Give the person's name."))
    refusal = password_refusal(password, email, name)
    if refusal:
        raise refusal
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(N_("An account with this email already exists."))
    user = User(email=email, name=name.strip(), role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    for slug in queue_slugs or []:
        queue = db.session.scalar(select(Queue).where(Queue.slug == slug))
        if queue is None:
            raise AccountError(N_("Unknown queue: %(slug)s"), slug=slug)
        db.session.add(QueueMembership(user_id=user.id, queue_id=queue.id))
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> Optional[User]:
    """The active user with this email and password, or None. Same cost either way."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(user: User, password: str) -> None:
    """Change the password and end every session of this user."""
    refusal = password_refusal(password, user.email, user.name)
    if refusal:
        raise refusal
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    end_all_sessions(user.id)


def deactivate(user: User) -> None:
    user.active = False
    end_all_sessions(user.id)


def end_other_sessions(user_id: int, keep_token: str | None) -> None:
    """End every session of this user except the current one (after changing the second factor)."""
    stmt = delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep_token:
        stmt = stmt.where(StaffSession.id != _session_id(keep_token))
    db.session.execute(stmt)


def end_all_sessions(user_id: int) -> None:
    db.session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


# --- sessions -----------------------------------------------------------------


def session_key(token: str) -> str:
    """The stored id of a session: a hash, so a database leak yields no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


_session_id = session_key


def start_session(user: User, second_factor_done: bool) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.session.add(
        StaffSession(
            id=_session_id(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            second_factor_done=second_factor_done,
        )
    )
    return token


def end_session(token: str) -> None:
    db.session.execute(delete(StaffSession).where(StaffSession.id == _session_id(token)))


def load_session(token: str) -> Optional[tuple[User, StaffSession]]:
    """The user and session for a cookie token; None if ended, idle, too old or deactivated."""
    if not token or len(token) > 100:
        return None
    row = db.session.get(StaffSession, _session_id(token))
    if row is None:
        return None
    now = datetime.now(UTC)
    if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT:
        db.session.delete(row)
        _commit_quietly()
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    # Refresh the idle clock at most once a minute to keep reads cheap.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        _commit_quietly()
    return user, row


def _commit_quietly() -> None:
    """Housekeeping writes during a read: if SQLite is busy, the next request retries."""
    try:
        db.session.commit()
    except OperationalError:
        db.session.rollback()
