"""Shared fixtures: a fresh, migrated database per test, on SQLite or PostgreSQL.

SQLite (default): migrations run once into a template file that each test
copies. PostgreSQL (``TEST_DATABASE_URL``): migrations run once into that
database; each test empties the tables (triggers bypassed for the cleanup
only) and re-seeds the reference data.

Fixtures used across areas live here; an area's own ones in its conftest.py.
Plain helpers (settings, reading pages, signing in, form data) are in tests/helpers.py.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket

import pyotp
import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select, text
from sqlalchemy import event as sa_event

import storage
from cases import accounts, commands, seed
from cases.models import Case, PartnerBody, Queue, QueueMembership, User
from storage import db, witness
from tests.helpers import BASE_CONFIG, PASSWORD, PG_URL, Auth, pg_url, report, reset_pg, signed_in
from wsgi import create_app


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    """Speed only, nothing under test: argon2id with small costs (the library defaults take
    ~0.15 s a hash, for unknown accounts too), and no fsync on the throwaway SQLite files.
    The browser tests switch this off (their accounts outlive a test)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("unknown account"))
    configure = storage.configure_engine

    def configure_without_fsync(engine):
        configure(engine)
        if engine.dialect.name == "sqlite":
            sa_event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"))

    monkeypatch.setattr(storage, "configure_engine", configure_without_fsync)
    monkeypatch.setattr(witness, "SYNCHRONOUS", "OFF")


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """Migrate once; yield the database URL template each test starts from."""
    from flask_migrate import upgrade

    root = tmp_path_factory.mktemp("template")
    if PG_URL:
        engine = create_engine(pg_url())
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(root), "SQLALCHEMY_DATABASE_URI": pg_url()})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        return {"kind": "pg", "url": pg_url()}
    path = root / "template.sqlite3"
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(root), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return {"kind": "sqlite", "path": path}


@pytest.fixture
def make_app(_template, tmp_path):
    """Build an app on a fresh database with extra config (rate limits, mail...)."""
    created = []

    def factory(**overrides):
        instance = tmp_path / "instance"
        instance.mkdir(exist_ok=True)
        if _template["kind"] == "pg":
            if not created:
                reset_pg(_template["url"])
            url = _template["url"]
        else:
            target = instance / "shagym.sqlite3"
            if not created:
                shutil.copy(_template["path"], target)
            url = f"sqlite:///{target}"
        app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": url, **overrides})
        if not created:
            with app.app_context():
                seed.seed_reference_data()
        created.append(app)
        return app

    yield factory
    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def en(client):
    """The test client reading the English pages (the shipped default language is Kazakh)."""
    client.set_cookie("lang", "en")
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- factories ------------------------------------------------------------------


@pytest.fixture
def make_case(app):
    """``make_case(**report_fields)`` -> the filed report (``.case``, ``.receipt``, ``.queue``)."""

    def factory(**overrides):
        return commands.file_report(report(**overrides), app.extensions["shagym_receipt_key"])

    return factory


@pytest.fixture
def make_user(app):
    """``make_user(role="caseworker", queues=None, totp=None, email=..., name=...)`` -> a committed User.
    Caseworkers work ``general`` unless told; supervisors and admins have a second factor unless told."""
    counter = iter(range(1, 10_000))

    def factory(role: str = "caseworker", queues: list[str] | None = None, totp: bool | None = None, **kw) -> User:
        n = next(counter)
        email = kw.pop("email", f"{role}{n}@example.org")
        # Set-up rows written directly (no audit event), so tests count only the events they cause.
        user = User(
            email=accounts.normalize_email(email),
            name=kw.pop("name", f"{role.title()} {n}"),
            role=role,
            password_hash=_password_hash(),
        )
        db.session.add(user)
        db.session.flush()
        slugs = queues if queues is not None else ([] if role != "caseworker" else ["general"])
        for slug in slugs:
            queue_id = db.session.scalar(select(Queue.id).where(Queue.slug == slug))
            assert queue_id is not None, f"no queue {slug}"
            db.session.add(QueueMembership(user_id=user.id, queue_id=queue_id))
        if totp if totp is not None else role in ("supervisor", "admin"):
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled = True
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_partner(app):
    """``make_partner(name="...", answer_days=10, **fields)`` -> a committed partner body, written
    directly (set-up: no audit event). Names in all three languages follow ``name``."""

    def factory(name: str = "Test Prosecutor's Office", **kw) -> PartnerBody:
        body = PartnerBody(
            name_kk=kw.pop("name_kk", f"{name} (kk)"),
            name_ru=kw.pop("name_ru", f"{name} (ru)"),
            name_en=name,
            kind=kw.pop("kind", "state_body"),
            region=kw.pop("region", None),
            contact=kw.pop("contact", "1 Test Street, Astana"),
            categories=kw.pop("categories", "[]"),
            answer_days=kw.pop("answer_days", 10),
            active=kw.pop("active", True),
        )
        db.session.add(body)
        db.session.commit()
        return body

    return factory


@pytest.fixture
def investigating(make_case, make_user):
    """``investigating(**report_fields)`` -> (case, case worker holding it): a case of ``general``
    in "investigating", claimed by a case worker of the queue."""

    def factory(**overrides):
        case = make_case(**overrides).case
        worker = make_user("caseworker", ["general"])
        commands.claim(case.id, worker)
        commands.change_status(case.id, worker, "triage")
        commands.change_status(case.id, worker, "investigating")
        return db.session.get(Case, case.id), worker

    return factory


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def login_as(app, make_user):
    """A fresh client signed in as a new user of ``role``: ``login_as("supervisor")`` -> (client, user)."""

    def factory(role: str = "caseworker", queues: list[str] | None = None):
        user = make_user(role, queues)
        return signed_in(app, user), user

    return factory


TRIGGERED_TABLES = ("events", "checkpoints")


def switch_off_triggers() -> None:
    """What an attacker with database access does first: drop (SQLite) or disable (PostgreSQL)
    the append-only guards of the audit tables."""
    for table in TRIGGERED_TABLES:
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text(f"DROP TRIGGER {table}_no_update"))
            db.session.execute(text(f"DROP TRIGGER {table}_no_delete"))
        else:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    db.session.commit()


def switch_on_triggers() -> None:
    """Back on for the next test (the PostgreSQL test database is shared; SQLite files are not)."""
    if db.engine.dialect.name != "sqlite":
        db.session.rollback()
        for table in TRIGGERED_TABLES:
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        db.session.commit()


@pytest.fixture
def no_triggers(app):
    """The append-only guards switched off, so a test can tamper with the audit tables."""
    switch_off_triggers()
    yield
    switch_on_triggers()


def _password_hash() -> str:
    """The hash of PASSWORD under the current hasher (tests may swap in a cheap one)."""
    return accounts.hash_password(PASSWORD)


# --- a real SMTP server on loopback, for the e-mail tests ---------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = f"{parsed['Subject']}\n{parsed.get_body(preferencelist=('plain',)).get_content()}"
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, text))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()
