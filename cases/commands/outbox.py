"""The worker's side of the outbox: take the e-mails that are due, then mark each sent (the row
goes) or failed (tried again later, each wait twice the last, up to OUTBOX_RETRY_MAX_SECONDS).

A claim is a lease (``claimed_until``) written in its own short transaction, so no database
lock is held while an SMTP server answers. On PostgreSQL the claim reads with
``FOR UPDATE SKIP LOCKED``: two workers claiming at once take different rows; on SQLite the
claim runs under the database's writer lock, which serializes them. A worker that dies after
sending but before marking leaves its rows to be sent again once the lease ends — a notice may
arrive twice, never not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import delete, or_, select

from cases import notify
from cases.commands.unit import command
from cases.models import OutboxMail
from storage import db

# How long a claim keeps other workers off a row; a worker sends a claimed mail only while at
# least SEND_MARGIN of it is left, so a lease never runs out in the middle of a send.
LEASE = timedelta(minutes=5)
BATCH = 10


@dataclass(frozen=True)
class Claimed:
    id: int
    attempts: int
    until: datetime
    message: EmailMessage


@command
def claim_mail(now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Lease up to ``limit`` outbox rows that are due and not leased by another worker, oldest
    first, and compose their e-mails (the addresses are opened here, in the worker only)."""
    query = (
        select(OutboxMail)
        .where(
            OutboxMail.next_attempt_at <= now,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= now),
        )
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    until = now + LEASE
    sender = current_app.config["MAIL_FROM"]
    claimed = []
    for mail in db.session.scalars(query):
        mail.claimed_until = until
        claimed.append(Claimed(mail.id, mail.attempts, until, notify.compose(mail, sender)))
    return claimed


@command
def mail_sent(mail_id: int) -> None:
    """The SMTP server took the e-mail: its row (and the address in it) goes."""
    db.session.execute(delete(OutboxMail).where(OutboxMail.id == mail_id))


@command
def mail_failed(mail_id: int, error: str, now: datetime) -> datetime | None:
    """The server did not take it: count the attempt, keep the error's kind (never an address)
    and set the next attempt OUTBOX_RETRY_SECONDS × 2^(attempts − 1) later, capped. Returns when."""
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None:
        return None
    mail.attempts += 1
    mail.last_error = error[:100]
    mail.claimed_until = None
    mail.next_attempt_at = now + retry_delay(mail.attempts)
    return mail.next_attempt_at


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling from OUTBOX_RETRY_SECONDS."""
    cfg = current_app.config
    base, cap = cfg["OUTBOX_RETRY_SECONDS"], cfg["OUTBOX_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** min(attempts - 1, 30)))
