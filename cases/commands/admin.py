"""What an administrator does to an existing account: role, password reset, second-factor
reset, reactivation — and the one-time reset code's use at the next sign-in.

Four eyes: a change that gives access to case content (a role raised to supervisor, or to
administrator, which manages who sees cases; a supervisor account reactivated) is asked for
here and takes effect only when a supervisor approves it (``decide_access``). Less access
(a role lowered to case worker) takes effect at once. Every change is a system-chain event.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from cases import accounts
from cases.accounts import AccountError
from cases.commands import unit
from cases.commands.accounts import (
    _end_sessions,
    _new_session,
    _request_access,
    _system_event,
    apply_role,
    keep_an_admin,
)
from cases.commands.unit import CommandError, command
from cases.models import AccessRequest, RecoveryCode, User
from cases.vocabulary import AccessKind, Action, Role
from i18n import N_
from storage import db

# A reset code is read out or handed over: letters and digits that cannot be mistaken for each other.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS, CODE_GROUP_LENGTH = 4, 4


def _pending(user: User, kind: AccessKind) -> bool:
    return (
        db.session.scalar(
            select(AccessRequest.id)
            .where(AccessRequest.user_id == user.id, AccessRequest.kind == kind, AccessRequest.decided_at.is_(None))
            .limit(1)
        )
        is not None
    )


def _not_yourself(target: User, by: User, message: str) -> None:
    if target.id == by.id:
        raise AccountError(message)


@command
def change_role(target: User, role: str, by: User) -> bool:
    """Give an account another role. Nobody changes their own; an active administrator always
    remains. Lowering to case worker applies at once (sessions end, queues are added through
    the four-eyes path); raising to supervisor or administrator waits for a supervisor's
    approval. Returns whether the change waits for approval."""
    if role not in set(Role):
        raise AccountError(N_("Role must be one of %(roles)s."), roles=", ".join(Role))
    _not_yourself(target, by, N_("You cannot change your own role. Ask another administrator."))
    if target.role == role:
        raise AccountError(N_("The account already has this role."))
    if target.role == Role.ADMIN:
        keep_an_admin(target)
    if role == Role.CASEWORKER:
        was = target.role
        apply_role(target, role)
        _system_event(by, Action.ROLE_CHANGED, new=target.email, details={"from": was, "to": str(role)})
        return False
    if _pending(target, AccessKind.ROLE):
        raise AccountError(N_("A change of role for this account already waits for a supervisor."))
    _request_access(target, AccessKind.ROLE, [], by, role=str(role))
    return True


def new_reset_code() -> str:
    """A one-time code for a password reset: 16 characters from a 31-letter alphabet (~79 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LENGTH))
    return "-".join(raw[i : i + CODE_GROUP_LENGTH] for i in range(0, len(raw), CODE_GROUP_LENGTH))


def normalized_code(typed: str) -> str:
    """What the person typed, as the code was made: upper case, grouped, spaces and dashes ignored."""
    raw = "".join(ch for ch in typed.upper() if ch.isalnum())
    return "-".join(raw[i : i + CODE_GROUP_LENGTH] for i in range(0, len(raw), CODE_GROUP_LENGTH))


@command
def reset_password(target: User, by: User, valid_hours: int) -> str:
    """Replace the account's password with a one-time code, returned to be shown once to the
    admin (only its argon2id hash is stored). The old password stops working, every session of
    the account ends, and the code works for one sign-in within ``valid_hours``, after which a
    new password must be set. Refused for one's own account and for a deactivated one."""
    _not_yourself(target, by, N_("Change your own password on the Password page."))
    if not target.active:
        raise AccountError(N_("Reactivate the account first."))
    code = new_reset_code()
    now = unit.utcnow()
    target.reset_code_hash = accounts.hash_password(code)
    target.reset_code_expires_at = now + timedelta(hours=valid_hours)
    # Nobody knows this password: only the code opens the account now.
    target.password_hash = accounts.hash_password(secrets.token_urlsafe(32))
    target.password_changed_at = now
    _end_sessions(target.id)
    _system_event(
        by, Action.PASSWORD_RESET, new=target.email, details={"expires_at": target.reset_code_expires_at.isoformat()}
    )
    return code


class ResetCodeRefused(CommandError):
    """The one-time code was already used, has expired, or is not this account's."""


@command
def redeem_reset_code(user: User, code: str, second_factor_done: bool, replaces: str | None = None) -> str:
    """Sign in with a one-time reset code, once: the user row is locked and the code spent in the
    same transaction, so a second use (even a concurrent one) is refused. The new session can
    reach nothing but the new-password page. Returns the session's cookie token."""
    db.session.refresh(user, with_for_update=True)
    if user.reset_code_hash is None or not accounts.verify_hash(user.reset_code_hash, normalized_code(code)):
        raise ResetCodeRefused(N_("Wrong email or password."))
    if user.reset_code_expires_at is None or user.reset_code_expires_at < unit.utcnow():
        raise ResetCodeRefused(N_("This one-time code has expired. Ask an administrator for a new one."))
    user.reset_code_hash = user.reset_code_expires_at = None
    return _new_session(user, second_factor_done, replaces, must_change_password=True)


@command
def set_new_password(user: User, new: str) -> None:
    """The password chosen after signing in with a reset code (no current password to give:
    the code was it). Other sessions end; this one goes on, now unrestricted."""
    row = user.staff_session
    if row is None or not row.must_change_password:
        raise AccountError(N_("Change your password on the Password page."))
    refusal = accounts.password_refusal(new, user.email, user.name)
    if refusal:
        raise refusal
    user.password_hash = accounts.hash_password(new)
    user.password_changed_at = unit.utcnow()
    row.must_change_password = False
    _end_sessions(user.id, keep_token=user.session_id)
    _system_event(user, Action.PASSWORD_CHANGED, details={"after_reset": True})


@command
def reset_two_factor(target: User, by: User) -> None:
    """Switch off the account's second factor and delete its recovery codes (a lost phone).
    Its sessions end; supervisors and admins (and everyone under REQUIRE_2FA_FOR_ALL) must
    enrol again at the next sign-in. Refused for one's own account (use the Two-factor page)."""
    _not_yourself(target, by, N_("Set up your own second factor on the Two-factor page."))
    if not target.totp_enabled:
        raise AccountError(N_("This account has no second factor to reset."))
    target.totp_enabled = False
    target.totp_secret = None
    target.totp_last_step = None
    target.second_factor_failures = 0
    target.second_factor_window_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == target.id))
    _end_sessions(target.id)
    _system_event(by, Action.TWO_FACTOR_RESET, new=target.email)


@command
def reactivate_user(target: User, by: User) -> bool:
    """Let a deactivated account sign in again. A supervisor account sees every case, so its
    reactivation waits for a supervisor's approval (as a new one does). Returns whether it waits."""
    if target.active:
        raise AccountError(N_("The account is already active."))
    if target.role == Role.SUPERVISOR:
        if _pending(target, AccessKind.SUPERVISOR):
            raise AccountError(N_("This account already waits for a supervisor's approval."))
        _request_access(target, AccessKind.SUPERVISOR, [], by)
        return True
    target.active = True
    _system_event(by, Action.USER_REACTIVATED, new=target.email)
    return False
