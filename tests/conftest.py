"""Shared fixtures: a fresh, migrated database per test, on SQLite or PostgreSQL.

SQLite (default): migrations run once into a template file that each test
copies. PostgreSQL (``TEST_DATABASE_URL``): migrations run once into that
database; each test empties the tables (triggers bypassed for the cleanup
only) and re-seeds the reference data.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, select, text

from cases import accounts, commands, seed
from cases.models import Queue, QueueMembership, User
from storage import db
from wsgi import create_app

PG_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery staple"
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "AUDIT_CHECKPOINT_EVERY": 0,
    # Assertions read English page text; tests of the Kazakh default set it back explicitly.
    "BABEL_DEFAULT_LOCALE": "en",
}


def _pg_url() -> str:
    url = PG_URL or ""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """Migrate once; yield the database URL template each test starts from."""
    from flask_migrate import upgrade

    root = tmp_path_factory.mktemp("template")
    if PG_URL:
        engine = create_engine(_pg_url())
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(root), "SQLALCHEMY_DATABASE_URI": _pg_url()})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        return {"kind": "pg", "url": _pg_url()}
    path = root / "template.sqlite3"
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(root), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return {"kind": "sqlite", "path": path}


_PG_TABLES: list[str] = []


def _reset_pg(url: str) -> None:
    """Empty every table and restart ids. DELETE on these small tables is much faster than TRUNCATE;
    ``session_replication_role = replica`` skips triggers (the audit guard, foreign keys) for the cleanup only."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        if not _PG_TABLES:
            _PG_TABLES.extend(
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
                )
            )
        sequences = [
            r[0]
            for r in conn.execute(
                text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema='public'")
            )
        ]
        conn.execute(
            text(
                "; ".join([f"DELETE FROM {t}" for t in _PG_TABLES] + [f"ALTER SEQUENCE {q} RESTART" for q in sequences])
            )
        )
    engine.dispose()


@pytest.fixture
def make_app(_template, tmp_path):
    """Build an app on a fresh database with extra config (rate limits, mail...)."""
    created = []

    def factory(**overrides):
        instance = tmp_path / "instance"
        instance.mkdir(exist_ok=True)
        if _template["kind"] == "pg":
            if not created:
                _reset_pg(_template["url"])
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
def runner(app):
    return app.test_cli_runner()


# --- factories ------------------------------------------------------------------


def report(**overrides) -> commands.NewReport:
    values = dict(
        category="other",
        narrative="Something happened that violates rights, described in detail.",
        occurred_on=None,
        ongoing=False,
        region="astana",
        place_description="",
        immediate_danger=False,
        child_affected="no",
        in_custody="no",
        reporter_role="witness",
        contact_email="",
        contact_phone="",
    )
    values.update(overrides)
    return commands.NewReport(**values)


@pytest.fixture
def make_case(app):
    def factory(**overrides):
        filed = commands.file_report(report(**overrides), app.extensions["shagym_receipt_key"])
        return filed

    return factory


@pytest.fixture
def make_user(app):
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


@dataclass
class Auth:
    client: object

    def login(self, user: User, password: str = PASSWORD):
        response = self.client.post("/staff/login", data={"email": user.email, "password": password})
        if user.totp_enabled and response.status_code == 302:
            # Tests sign in many times within one 30-second step: forget the last used step.
            db.session.execute(text("UPDATE users SET totp_last_step = NULL WHERE id = :id"), {"id": user.id})
            db.session.commit()
            code = pyotp.TOTP(user.totp_secret).at(time.time())
            response = self.client.post("/staff/2fa", data={"totp-code": code})
        return response

    def logout(self):
        return self.client.post("/staff/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def login_as(app, make_user):
    """A fresh client signed in as a new user of ``role``: ``login_as("supervisor")``."""

    def factory(role: str = "caseworker", queues: list[str] | None = None):
        user = make_user(role, queues)
        c = app.test_client()
        response = Auth(c).login(user)
        assert response.status_code == 302, response.data[:500]
        return c, user

    return factory


ROOT = Path(__file__).resolve().parent.parent


def _password_hash() -> str:
    """The hash of PASSWORD under the current hasher (tests may swap in a cheap one)."""
    return accounts.hash_password(PASSWORD)
