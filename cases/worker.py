"""The background worker (``flask --app wsgi worker``): what no request should wait for.

Each round it signs a Merkle checkpoint when one is due (``checkpoint_if_due``) and sends the
e-mails the outbox holds, then sleeps WORKER_POLL_SECONDS. Requests only write rows and the
witness; when the worker is down, nothing is lost: the outbox keeps every e-mail until it is
sent, and the witness (written after every commit) protects the events no checkpoint covers
yet. ``run_once`` is one round, for tests and for a cron-style ``worker --once``.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.exc import OperationalError

from cases import commands, notify
from cases.commands.outbox import BATCH
from cases.commands.unit import utcnow
from storage import db

log = logging.getLogger(__name__)
# A claimed mail is sent only while this much of its lease is left (connect, hello, mail,
# recipients and data can each take up to MAIL_TIMEOUT_SECONDS).
SEND_ROUND_TRIPS = 6


@dataclass
class Round:
    checkpoint: int | None = None  # tree size of the checkpoint signed, if one was
    sent: int = 0
    failed: int = 0


def run_once() -> Round:
    """One round: a checkpoint if due, then every e-mail that is due (in batches)."""
    done = Round()
    try:
        cp = commands.checkpoint_if_due()
        done.checkpoint = cp.tree_size if cp is not None else None
    except OperationalError:  # SQLite busy for longer than its timeout: the next round tries again
        db.session.rollback()
        log.warning("worker: checkpoint postponed, the database is busy")
    if notify.enabled(current_app):
        while True:
            sent, failed = send_batch()
            done.sent, done.failed = done.sent + sent, done.failed + failed
            if sent + failed < BATCH:
                break
    return done


def send_batch() -> tuple[int, int]:
    """Claim up to BATCH due e-mails and hand each to the SMTP server; (sent, failed)."""
    cfg = current_app.config
    margin = cfg["MAIL_TIMEOUT_SECONDS"] * SEND_ROUND_TRIPS
    sent = failed = 0
    for mail in commands.claim_mail(utcnow()):
        if (mail.until - utcnow()).total_seconds() < margin:
            break  # the rest wait for their lease to end and are claimed again
        try:
            notify.deliver(mail.message, cfg)
        except (OSError, smtplib.SMTPException) as exc:
            when = commands.mail_failed(mail.id, type(exc).__name__, utcnow())
            log.warning("worker: e-mail %s not sent (%s), next attempt %s", mail.id, type(exc).__name__, when)
            failed += 1
        else:
            commands.mail_sent(mail.id)
            sent += 1
    return sent, failed


def run(stop: threading.Event, poll: float) -> None:
    """Rounds until ``stop`` is set; an unexpected error is logged and the next round tries again."""
    while not stop.is_set():
        try:
            run_once()
        except Exception:  # the worker must outlive one bad round; the rows are still there
            db.session.rollback()
            log.exception("worker round failed")
        finally:
            db.session.remove()  # a fresh session each round: nothing cached between rounds
        stop.wait(poll)
