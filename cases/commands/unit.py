"""The unit of work every command runs in.

A command is a function decorated with ``@command``: it checks its rule, applies
the change and appends its audit event(s); the decorator then commits once. If
the command raises, everything it did is rolled back, so a refused action
leaves no trace and an accepted one is stored together with its history.

Nothing outside this package commits or adds rows (``tests/domain/
test_write_path.py`` walks the source to keep it so). A command refuses to start
when the session already holds changes made outside a command, and commands do
not nest: each request or CLI call is one command, one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from cases import access, audit, notify
from cases.models import Case, Checkpoint, Event, OutboxMail, User
from cases.refusals import Refused
from cases.vocabulary import Action, ActorType, MailKind
from i18n import N_
from storage import db

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
_RUNNING = "shagym_command_running"
# Told the name of each command once it has committed (the web layer's metrics count them).
COMMITTED: list[Callable[[str], None]] = []


class CommandError(Refused):
    """A refused command; the message is safe to show to the actor."""


class NotFound(CommandError):
    pass


class Forbidden(CommandError):
    pass


class Conflict(CommandError):
    def __init__(
        self, message: str = N_("This case was changed by someone else — reload the page and try again.")
    ) -> None:
        super().__init__(message)


def utcnow() -> datetime:
    return datetime.now(UTC)


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` as one unit of work: commit once if it returns, roll back everything if it raises."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        session = db.session
        if session.info.get(_RUNNING):
            raise RuntimeError(f"command {fn.__name__} called inside another command")
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            raise RuntimeError(f"changes made outside a command are pending before {fn.__name__}")
        session.info[_RUNNING] = True
        try:
            result = fn(*args, **kwargs)
            _commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.pop(_RUNNING, None)
        for observer in COMMITTED:
            try:
                observer(fn.__name__)
            except Exception:  # committed and to be answered: a counter never turns it into an error
                log.exception("command_observer_failed")
        return result

    run.is_command = True  # type: ignore[attr-defined]
    return run


def quietly(cmd: Callable[..., object], *args: object) -> None:
    """Upkeep during a read (a session's idle clock, an expired session): if SQLite is busy,
    the read is still answered and the next request tries again."""
    try:
        cmd(*args)
    except OperationalError:
        pass


def lock_case(case_id: int, actor: User | None = None, expected_version: int | None = None) -> Case:
    """The case row, locked for this transaction (``FOR UPDATE`` on PostgreSQL; SQLite write
    transactions already hold the database's writer lock), reloaded from the database.

    With an ``actor``, a case they may not see is ``NotFound``; with an ``expected_version``,
    a case changed since the actor loaded it is ``Conflict``.
    """
    case = db.session.scalars(
        # OF cases: PostgreSQL cannot lock the outer-joined queue/assignee rows the eager loads add.
        select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True)
    ).first()
    if case is None or (actor is not None and not access.can_see(db.session, actor, case)):
        raise NotFound(N_("Case not found."))
    if expected_version is not None and case.version != expected_version:
        raise Conflict()
    return case


def record(case: Case | None, actor_type: ActorType, action: Action, actor: User | None = None, **kw) -> Event:
    """Append one audit event to the case's chain (the system chain for None) in this command's transaction."""
    return audit.append(
        db.session, case=case, actor_type=actor_type, actor_id=actor.id if actor else None, action=action, **kw
    )


def touch(case: Case, now: datetime) -> None:
    """Every change to a case bumps its version (optimistic locking) and its update time."""
    case.version += 1
    case.updated_at = now


def _commit() -> None:
    """Commit the command, its events and its e-mails; a lost race (unique seq, stale row) becomes ``Conflict``.

    The notices the command's flushes noticed become outbox rows in the same transaction (the
    worker sends them: no request waits for an SMTP server). Then, before the caller answers,
    the new head of each chain the command appended to is written to the witness outside the
    database (durably). Checkpoints are signed by the worker (``checkpoint_if_due``), never here.
    """
    session = db.session
    wrote_events = session.info.pop(audit.APPENDED, False)
    heads = dict(session.info.get(audit.HEADS_KEY) or {}) if wrote_events else {}
    try:
        session.flush()
        _queue_notices()
        session.commit()
    except (IntegrityError, StaleDataError) as exc:
        session.rollback()
        raise Conflict() from exc
    if heads:
        _witness_quietly(heads)


def _queue_notices() -> None:
    """One outbox row per reporter address noticed (its recipient sealed once the row has an id)."""
    pending = notify.take_pending(db.session)
    if not pending:
        return
    link = notify.track_link()
    mails = [(OutboxMail(kind=MailKind.REPORTER_NOTICE, language=lang, link=link), addr) for addr, lang in pending]
    db.session.add_all([mail for mail, _ in mails])
    db.session.flush()
    for mail, address in mails:
        mail.recipients = address


def queue_mail(kind: MailKind, recipients: list[str], *, count: int | None = None, link: str = "") -> OutboxMail:
    """An e-mail for the worker to send, in the calling command's transaction."""
    mail = OutboxMail(kind=kind, count=count, link=link)
    db.session.add(mail)
    db.session.flush()
    mail.recipients = "\n".join(recipients)
    return mail


def _witness_quietly(heads: dict[int, tuple[int, str]]) -> None:
    try:
        audit.current_witness().record_heads(heads)
    except Exception:  # the change is committed and must be answered; the next commit witnesses the chain again
        log.exception("audit_witness_failed")


def checkpoint_due() -> bool:
    """Whether the worker should sign a checkpoint: the newest event id has passed a multiple of
    AUDIT_CHECKPOINT_EVERY since the last checkpoint, or the last one is older than
    AUDIT_CHECKPOINT_SECONDS and events came since. Two indexed reads."""
    every = current_app.config["AUDIT_CHECKPOINT_EVERY"]
    seconds = current_app.config["AUDIT_CHECKPOINT_SECONDS"]
    if every <= 0 and seconds <= 0:
        return False
    last_event = db.session.scalar(select(func.max(Event.id))) or 0
    last = db.session.execute(
        select(Checkpoint.last_event_id, Checkpoint.created_at).order_by(Checkpoint.last_event_id.desc()).limit(1)
    ).first()
    last_signed, signed_at = (last[0], last[1]) if last else (0, None)
    if every > 0 and last_event // every > last_signed // every:
        return True
    if seconds > 0 and last_event > last_signed:
        if signed_at is None:  # no checkpoint yet: count from the first event
            signed_at = db.session.scalar(select(Event.created_at).order_by(Event.id).limit(1))
        return signed_at is not None and (utcnow() - signed_at).total_seconds() >= seconds
    return False


def checkpoint_if_due() -> Checkpoint | None:
    """The worker's checkpoint step: sign one when ``checkpoint_due`` says so (its own transaction)."""
    try:
        due = checkpoint_due()
    finally:
        db.session.rollback()  # end the read: sign_checkpoint starts its own transaction
    return write_checkpoint() if due else None


def sign_checkpoint() -> Checkpoint | None:
    """Sign a Merkle tree head over all committed events (waits for in-flight writers); its own transaction."""
    session = db.session
    if db.engine.dialect.name == "postgresql":
        # Waits for transactions still inserting events, so no lower id commits after the head,
        # and (unlike SHARE) conflicts with itself: one checkpoint writer at a time, so two
        # never race to sign the same head. (``session.bind`` is None under Flask-SQLAlchemy.)
        session.execute(db.text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))
    cp = audit.write_checkpoint(session, current_app.extensions["shagym_signing_key"])
    session.commit()
    if cp is not None:
        audit.current_witness().record_checkpoint(cp.last_event_id, cp.tree_size, cp.root_hash, cp.signature)
    return cp


def write_checkpoint() -> Checkpoint | None:
    """Sign a checkpoint now (``flask --app wsgi audit checkpoint``); rolled back if signing fails."""
    try:
        return sign_checkpoint()
    except BaseException:
        db.session.rollback()
        raise
