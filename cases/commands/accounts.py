"""Accounts, sessions, second factor and the access requests a supervisor decides.

The admin pages and the CLI call the same commands. Changes to accounts are
audit events in the system chain, attributed to the admin who made them (or
to ``system`` with ``via: cli`` from the command line).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from sqlalchemy import delete, select

from cases import accounts, twofactor
from cases.accounts import AccountError
from cases.commands import unit
from cases.commands.unit import CommandError, Forbidden, NotFound, command, record
from cases.models import (
    AccessRequest,
    Queue,
    QueueMembership,
    RecoveryCode,
    StaffSession,
    TrackingSession,
    User,
)
from cases.vocabulary import AccessKind, Action, ActorType, Role
from i18n import N_
from storage import db


def _system_event(actor: Optional[User], action: Action, **kw) -> None:
    """An event in the system chain: by ``actor``, or by the system (the CLI) when None."""
    if actor is None:
        kw["details"] = {**(kw.get("details") or {}), "via": "cli"}
    record(None, ActorType.STAFF if actor else ActorType.SYSTEM, action, actor, at=unit.utcnow(), **kw)


def _end_sessions(user_id: int, keep_token: str | None = None) -> None:
    stmt = delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep_token:
        stmt = stmt.where(StaffSession.id != accounts.session_key(keep_token))
    db.session.execute(stmt)


# --- accounts -------------------------------------------------------------------


@command
def create_user(
    email: str, name: str, role: str, password: str, queue_slugs: list[str] | None = None, by: User | None = None
) -> User:
    """A new staff account with its queue memberships and a ``user_created`` event.

    Raises ``AccountError`` for an unknown role or queue, a malformed email, an empty name,
    a refused password or an email already in use.
    """
    email = accounts.normalize_email(email)
    if role not in set(Role):
        raise AccountError(N_("Role must be one of %(roles)s."), roles=", ".join(Role))
    if "@" not in email or len(email) > 254:
        raise AccountError(N_("Give a valid email address."))
    if not name.strip():
        raise AccountError(N_("Give the person's name."))
    refusal = accounts.password_refusal(password, email, name)
    if refusal:
        raise refusal
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(N_("An account with this email already exists."))
    # From the admin pages (``by``), case access waits for a supervisor: a new supervisor starts
    # inactive and a case worker without queues. From the server's CLI it is given at once.
    four_eyes = by is not None
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=accounts.hash_password(password),
        active=not (four_eyes and role == Role.SUPERVISOR),
    )
    db.session.add(user)
    db.session.flush()
    slugs = list(queue_slugs or [])
    queues = _queues(slugs)
    if not four_eyes:
        db.session.add_all(QueueMembership(user_id=user.id, queue_id=q.id) for q in queues)
    _system_event(by, Action.USER_CREATED, new=user.email, details={"role": str(role), "queues": slugs})
    if four_eyes and role == Role.SUPERVISOR:
        _request_access(user, AccessKind.SUPERVISOR, [], by)
    elif four_eyes and slugs:
        _request_access(user, AccessKind.QUEUES, slugs, by)
    return user


def _queues(slugs: list[str]) -> list[Queue]:
    found = {q.slug: q for q in db.session.scalars(select(Queue).where(Queue.slug.in_(slugs)))}
    for slug in slugs:
        if slug not in found:
            raise AccountError(N_("Unknown queue: %(slug)s"), slug=slug)
    return [found[s] for s in slugs]


def _request_access(user: User, kind: AccessKind, slugs: list[str], by: User, role: str | None = None) -> AccessRequest:
    request = AccessRequest(
        user_id=user.id,
        kind=kind.value,
        queues=json.dumps(sorted(slugs)) if slugs else None,
        role=role,
        requested_by=by.id,
        requested_at=unit.utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    _system_event(
        by,
        Action.ACCESS_REQUESTED,
        new=user.email,
        details={"kind": kind.value, "queues": sorted(slugs), "request": request.id} | ({"role": role} if role else {}),
    )
    return request


@command
def deactivate_user(target: User, by: User | None = None) -> None:
    """The account can no longer sign in and its sessions end at once. Nobody deactivates themself."""
    if by is not None and target.id == by.id:
        raise AccountError(N_("You cannot deactivate your own account."))
    if target.role == Role.ADMIN:
        keep_an_admin(target)
    target.active = False
    _end_sessions(target.id)
    _system_event(by, Action.USER_DEACTIVATED, new=target.email)


@command
def set_memberships(target: User, queue_slugs: list[str], by: User) -> bool:
    """Change the queues a person works. Removals apply at once (less access is always safe);
    added queues wait for a supervisor's approval. Unknown slugs are ignored (the form offers
    only real ones). Returns whether something now waits for approval."""
    wanted = {q.slug: q for q in db.session.scalars(select(Queue).where(Queue.slug.in_(set(queue_slugs))))}
    current = {q.slug: q for q in target.queues}
    removed = sorted(set(current) - set(wanted))
    added = sorted(set(wanted) - set(current))
    if removed:
        db.session.execute(
            delete(QueueMembership).where(
                QueueMembership.user_id == target.id, QueueMembership.queue_id.in_([current[s].id for s in removed])
            )
        )
    _system_event(
        by, Action.MEMBERSHIP_CHANGED, new=target.email, details={"queues": sorted(wanted), "removed": removed}
    )
    if added:
        _request_access(target, AccessKind.QUEUES, added, by)
    return bool(added)


@command
def decide_access(request_id: int, approve: bool, by: User) -> AccessRequest:
    """A supervisor approves or refuses a pending grant of case access; the one who asked cannot.

    Approving a supervisor account activates it; approving queues adds the memberships.
    Raises ``Forbidden`` for anyone but another supervisor, ``NotFound`` for an unknown
    or already decided request.
    """
    if by.role != Role.SUPERVISOR:
        raise Forbidden(N_("Only a supervisor can approve access to cases."))
    request = db.session.scalars(
        select(AccessRequest).where(AccessRequest.id == request_id).with_for_update(of=AccessRequest)
    ).first()
    if request is None or request.decided_at is not None:
        raise NotFound(N_("This request was already decided."))
    if by.id in (request.requested_by, request.user_id):
        raise Forbidden(N_("Access must be approved by a second person."))
    target = request.user
    if approve and request.kind == AccessKind.SUPERVISOR:
        target.active = True
    elif approve and request.kind == AccessKind.ROLE:
        was = target.role
        if was == Role.ADMIN:
            keep_an_admin(target)
        apply_role(target, request.role)
    elif approve:
        have = {q.id for q in target.queues}
        db.session.add_all(
            QueueMembership(user_id=target.id, queue_id=q.id)
            for q in db.session.scalars(select(Queue).where(Queue.slug.in_(request.queue_slugs)))
            if q.id not in have
        )
    request.decided_by, request.decided_at, request.approved = by.id, unit.utcnow(), approve
    _system_event(
        by,
        Action.ACCESS_APPROVED if approve else Action.ACCESS_REFUSED,
        new=target.email,
        details={"kind": request.kind, "queues": request.queue_slugs, "request": request.id}
        | ({"role": request.role} if request.role else {}),
    )
    return request


def keep_an_admin(target: User) -> None:
    """Refuse a change that would leave no active administrator (nobody could manage accounts)."""
    other = db.session.scalar(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True), User.id != target.id).limit(1)
    )
    if other is None:
        raise AccountError(
            N_("This is the last active administrator account. Make someone else an administrator first.")
        )


def apply_role(target: User, role: str) -> None:
    """Give the account its new role. Queue memberships belong to case workers only: they are
    dropped on leaving that role, so a later return to it never brings back old access unapproved.
    The account's sessions end (a raised role may need the second factor at the next sign-in)."""
    target.role = role
    if role != Role.CASEWORKER:
        db.session.execute(delete(QueueMembership).where(QueueMembership.user_id == target.id))
    _end_sessions(target.id)


@command
def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every session of the user ends."""
    if accounts.authenticate(user.email, current) is None:
        raise accounts.WrongPassword(N_("Your current password is not correct."))
    refusal = accounts.password_refusal(new, user.email, user.name)
    if refusal:
        raise refusal
    user.password_hash = accounts.hash_password(new)
    user.password_changed_at = unit.utcnow()
    _end_sessions(user.id)
    _system_event(user, Action.PASSWORD_CHANGED)


# --- sessions -------------------------------------------------------------------


@command
def sign_in(user: User, password: str, second_factor_done: bool, replaces: str | None = None) -> str:
    """Start a server-side session for a user whose password was just checked; returns the cookie token.

    Signing in again in the same browser (``replaces``) ends the session it had. A password
    hash made with older argon2 parameters is replaced.
    """
    if accounts.needs_rehash(user):
        user.password_hash = accounts.hash_password(password)
    return _new_session(user, second_factor_done, replaces)


def _new_session(user: User, second_factor_done: bool, replaces: str | None, must_change_password: bool = False) -> str:
    """A server-side session row for ``user`` (ending the one this browser had); returns the cookie token."""
    if replaces:
        db.session.execute(delete(StaffSession).where(StaffSession.id == accounts.session_key(replaces)))
    token = accounts.new_session_token()
    now = unit.utcnow()
    db.session.add(
        StaffSession(
            id=accounts.session_key(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            second_factor_done=second_factor_done,
            must_change_password=must_change_password,
        )
    )
    return token


@command
def sign_out(token: str) -> None:
    db.session.execute(delete(StaffSession).where(StaffSession.id == accounts.session_key(token)))


@command
def end_session_row(row: StaffSession | TrackingSession) -> None:
    """An idle or too old session (staff or tracking) is ended when it is next presented."""
    db.session.delete(row)


@command
def refresh_session(row: StaffSession | TrackingSession, now: datetime) -> None:
    """Move the idle clock of a session (staff or tracking) in use."""
    row.last_seen_at = now


@command
def reauthenticate(user: User, password: str) -> bool:
    """The password again, before a sensitive change: records the proof on the session."""
    if accounts.authenticate(user.email, password) is None:
        return False
    user.staff_session.reauthenticated_at = unit.utcnow()
    return True


class SecondFactorLocked(CommandError):
    """Too many wrong codes for this account this hour."""


@command
def pass_second_factor(
    user: User, totp_code: str | None = None, recovery_code: str | None = None, hourly_limit: int = 0
) -> bool:
    """Check a TOTP or a recovery code once (a spent one is refused) and finish the sign-in.

    The user row is locked first, so a code spent by a concurrent request counts as spent
    here (PostgreSQL; SQLite writers are serial anyway). With ``hourly_limit`` wrong codes
    already this hour, every code is refused (``SecondFactorLocked``).
    """
    db.session.refresh(user, with_for_update=True)
    if hourly_limit and twofactor.locked(user, unit.utcnow(), hourly_limit):
        raise SecondFactorLocked(
            N_("Too many wrong codes for this account. Try again in an hour, or ask an administrator for help.")
        )
    ok = False
    if totp_code is not None:
        ok = twofactor.verify_code(user, totp_code)
    elif recovery_code is not None:
        ok = twofactor.use_recovery_code(user, recovery_code)
    if not ok:
        raise CommandError(N_("That code is not valid. Codes can be used only once."))
    user.second_factor_failures = 0
    user.staff_session.second_factor_done = True
    return True


@command
def record_second_factor_failure(user: User) -> int:
    """Count a wrong code against the account (its own transaction: the refused check rolled back)."""
    db.session.refresh(user, with_for_update=True)
    return twofactor.count_failure(user, unit.utcnow())


@command
def enrol_second_factor(user: User, secret: str, code: str) -> list[str]:
    """Switch on TOTP with the secret being enrolled if ``code`` fits it; returns new recovery codes
    (shown once). Other sessions of the user end; a ``2fa_enrolled`` event is written."""
    if not twofactor.enable(user, secret, code):
        raise CommandError(N_("That code does not match. Check the time on your phone and try again."))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = twofactor.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=stored) for _shown, stored in codes)
    user.staff_session.second_factor_done = True
    _end_sessions(user.id, keep_token=user.session_id)
    _system_event(user, Action.TWO_FACTOR_ENROLLED)
    return [shown for shown, _stored in codes]
