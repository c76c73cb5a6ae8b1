"""E-mail goes through the outbox: written with the change, sent by the worker, never lost.

A real SMTP server on loopback (``smtp``) or a port where nothing listens stands for the mail
server being up, slow or down; the worker's rounds are ``worker.run_once`` as the
``flask --app wsgi worker`` loop runs them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from cases import commands, worker
from cases.commands import outbox, unit
from cases.commands.unit import utcnow
from cases.models import Case, Checkpoint, Event, OutboxMail
from storage import db
from tests.conftest import Inbox, free_port
from tests.helpers import PASSWORD, ROOT, report, signed_in


def mail_on(app, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="noreply@shagym.test")


def rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


class SlowInbox(Inbox):
    """A mail server that takes its time over every message."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp():
    inbox = SlowInbox(0.05)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def test_a_staff_action_never_connects_to_the_mail_server(app, make_case, make_user, smtp, monkeypatch):
    """The request writes the notice and answers; only the worker talks SMTP."""
    port, inbox = smtp
    mail_on(app, port)
    filed = make_case(contact_email="mother@example.org")
    staff = signed_in(app, make_user("caseworker", ["general"]))
    connections = []
    real_smtp = smtplib.SMTP

    def watched(*args, **kwargs):
        connections.append(threading.current_thread().name)
        return real_smtp(*args, **kwargs)

    monkeypatch.setattr(smtplib, "SMTP", watched)
    staff.set_cookie("lang", "en")
    assert staff.post(f"/staff/cases/{filed.case.id}/claim", data={"version": "1"}).status_code == 302
    sent = staff.post(f"/staff/cases/{filed.case.id}/messages", data={"kind": "to_reporter", "body": "We have news."})
    assert sent.status_code == 302
    assert connections == [] and inbox.messages == []
    [mail] = rows()
    assert (mail.kind, mail.language, mail.attempts) == ("reporter_notice", filed.case.language, 0)
    assert mail.link.endswith("/track")
    done = worker.run_once()
    assert (done.sent, done.failed) == (1, 0) and len(connections) == 1
    assert [m[1] for m in inbox.messages] == [["mother@example.org"]]
    assert rows() == []  # sent rows are pruned: the address is gone from the database


def test_mail_server_down_keeps_every_notice_and_sends_each_once_when_it_is_back(app, make_case, make_user, smtp):
    port, inbox = smtp
    down = free_port()
    mail_on(app, down)
    app.config.update(OUTBOX_RETRY_SECONDS=30, OUTBOX_RETRY_MAX_SECONDS=100)
    sup = make_user("supervisor")
    cases = [make_case(contact_email=f"reporter{i}@example.org").case for i in range(3)]
    for case in cases:
        commands.change_status(case.id, sup, "triage")
    before = utcnow()
    done = worker.run_once()
    assert (done.sent, done.failed) == (0, 3)
    waiting = rows()
    assert [m.attempts for m in waiting] == [1, 1, 1]
    assert {m.last_error for m in waiting} == {"ConnectionRefusedError"}
    assert all(m.next_attempt_at >= before + timedelta(seconds=30) for m in waiting)
    # Before the backoff has passed nothing is tried, even with the server back.
    mail_on(app, port)
    assert worker.run_once().sent == 0 and inbox.messages == []
    # Later: the rows are due again and go, each once.
    db.session.execute(text("UPDATE outbox SET next_attempt_at = :now"), {"now": utcnow() - timedelta(seconds=1)})
    db.session.commit()
    assert worker.run_once().sent == 3
    assert worker.run_once().sent == 0
    assert sorted(m[1][0] for m in inbox.messages) == [f"reporter{i}@example.org" for i in range(3)]
    assert rows() == []


def test_retries_back_off_doubling_up_to_the_cap(app):
    app.config.update(OUTBOX_RETRY_SECONDS=30, OUTBOX_RETRY_MAX_SECONDS=3600)
    assert [outbox.retry_delay(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert outbox.retry_delay(10_000).total_seconds() == 3600  # never an overflow, never a give-up


def test_a_change_rolled_back_after_its_flush_queues_nothing(app, make_case, make_user, smtp, monkeypatch):
    """The notice was noticed (flushed) but the transaction failed: no row, and no stale notice later."""
    port, _inbox = smtp
    mail_on(app, port)
    filed = make_case(contact_email="x@example.org")
    sup = make_user("supervisor")

    def broken_link():
        raise RuntimeError("the commit fails")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(unit.notify, "track_link", broken_link)
        commands.change_status(filed.case.id, sup, "triage")
    assert db.session.get(Case, filed.case.id).status == "new" and rows() == []
    commands.add_note(filed.case.id, sup, "An internal note tells the reporter nothing.")
    assert rows() == []


def test_the_outbox_row_holds_the_address_only_encrypted_and_bound_to_its_row(app, make_case, make_user, smtp):
    port, _inbox = smtp
    mail_on(app, port)
    sup = make_user("supervisor")
    first, second = (make_case(contact_email=f"secret{i}@example.org").case for i in range(2))
    commands.send_message(first.id, sup, "Officer Bekov is named in this reply.")
    commands.send_message(second.id, sup, "Another reply.")
    a, b = rows()
    raw = db.session.execute(text("SELECT * FROM outbox")).all()
    dump = repr(raw).encode()
    assert b"secret0@example.org" not in dump and b"Bekov" not in dump and first.reference.encode() not in dump
    assert a.recipients == "secret0@example.org"
    # Swapped in the database, an address does not open for the other row (and audit verify says so).
    db.session.execute(
        text("UPDATE outbox SET recipients = (SELECT recipients FROM outbox WHERE id = :b) WHERE id = :a"),
        {"a": a.id, "b": b.id},
    )
    db.session.commit()
    moved = rows()[0]
    assert moved.recipients is None
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"outbox row {a.id}: its recipients was not written for this row" in result.output


def test_a_claimed_mail_is_not_taken_by_another_worker_until_its_lease_ends(app, make_case, make_user, smtp):
    """A worker that died after claiming (or mid-send) does not lose the mail: it goes once the lease ends."""
    port, inbox = smtp
    mail_on(app, port)
    sup = make_user("supervisor")
    case = make_case(contact_email="late@example.org").case
    commands.change_status(case.id, sup, "triage")
    [claimed] = commands.claim_mail(utcnow())  # this worker dies here
    assert commands.claim_mail(utcnow()) == []
    assert worker.run_once().sent == 0
    after_lease = utcnow() + outbox.LEASE + timedelta(seconds=1)
    [again] = commands.claim_mail(after_lease)
    assert again.id == claimed.id and again.message["To"] == "late@example.org"
    commands.mail_sent(again.id)
    assert rows() == [] and inbox.messages == []  # marked by the test, not sent: nothing else was


def test_two_workers_never_send_the_same_mail_twice(make_app, slow_smtp):
    port, inbox = slow_smtp
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    count = 24
    with app.app_context():
        sup = commands.create_user("sup@example.org", "Sup", "supervisor", PASSWORD, [])
        key = app.extensions["shagym_receipt_key"]
        for i in range(count):
            filed = commands.file_report(report(contact_email=f"r{i}@example.org"), key)
            commands.change_status(filed.case.id, sup, "triage")
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == count
        db.session.remove()
    barrier, errors, totals = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                sent = 0
                for _ in range(20):
                    sent += worker.run_once().sent
                    db.session.remove()
                totals.append(sent)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    recipients = sorted(m[1][0] for m in inbox.messages)
    assert recipients == sorted(f"r{i}@example.org" for i in range(count))  # each once
    assert sum(totals) == count and all(totals), totals  # both workers took part
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0


def test_worker_once_from_the_command_line(app, make_case, make_user, smtp, runner):
    port, inbox = smtp
    mail_on(app, port)
    sup = make_user("supervisor")
    commands.change_status(make_case(contact_email="cli@example.org").case.id, sup, "triage")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "no checkpoint due; 1 e-mail(s) sent, 0 to retry." in result.output
    assert len(inbox.messages) == 1


def test_the_worker_process_sends_checkpoints_and_stops_on_sigterm(app, make_case, make_user, smtp):
    """``flask --app wsgi worker`` as systemd runs it: a separate process on the same database."""
    port, inbox = smtp
    sup = make_user("supervisor")
    mail_on(app, port)
    commands.change_status(make_case(contact_email="process@example.org").case.id, sup, "triage")
    env = {
        **os.environ,
        "SHAGYM_INSTANCE": app.instance_path,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "WORKER_POLL_SECONDS": "0.2",
        "AUDIT_CHECKPOINT_EVERY": "1",
        "SECRET_KEY": app.config["SECRET_KEY"],
    }
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(1200):  # a hang guard, not a timing: the worker polls every 0.2 s
            db.session.rollback()
            if inbox.messages and db.session.scalar(select(func.max(Checkpoint.tree_size))):
                break
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    # A new read transaction: the loop's last read may predate the worker's final commit (the mail
    # reached the SMTP server a moment before the worker deleted its row, then it finished the round).
    db.session.rollback()
    assert process.returncode == 0, output
    assert "Worker stopped." in output
    assert [m[1] for m in inbox.messages] == [["process@example.org"]]
    events = db.session.scalar(select(func.count()).select_from(Event))
    assert db.session.scalar(select(func.max(Checkpoint.tree_size))) == events
    assert rows() == []
