"""/healthz and /readyz: a word of JSON for the load balancer, never data, paths or error texts.

Both are cheap (no write lock), not rate limited and set no cookie; /readyz names the checks
that fail and answers 503.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from storage import crypto, db
from tests.helpers import BASE_CONFIG, signed_in
from wsgi import create_app


def _no_cookie(response) -> None:
    assert "Set-Cookie" not in response.headers


def test_healthz_says_ok_and_nothing_else(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    _no_cookie(response)


def test_readyz_is_ready_on_a_migrated_database_with_keys(client):
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ready"})
    _no_cookie(response)


def test_a_signed_in_client_gets_no_new_cookie_either(app, make_user):
    client = signed_in(app, make_user("supervisor"))
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        _no_cookie(response)


def test_readyz_names_a_schema_behind_the_migrations(app, client):
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
        assert (response.status_code, response.get_json()) == (503, {"status": "not ready", "failing": ["migrations"]})
    finally:  # the PostgreSQL test database is shared by the tests that follow: put the head back
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


def test_readyz_names_an_unreachable_database_without_saying_where_it_is(tmp_path):
    app = create_app(
        {
            **BASE_CONFIG,
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://shagym:secret-password@127.0.0.1:1/nowhere",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready", "failing": ["database", "migrations", "key_fingerprints"]}
    body = response.get_data(as_text=True)
    for secret in ("127.0.0.1", "nowhere", "secret-password", "psycopg", str(tmp_path)):
        assert secret not in body
    assert app.test_client().get("/healthz").status_code == 200  # the process still answers


def test_readyz_names_redis_when_the_limits_are_kept_there_and_it_does_not_answer(make_app):
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert (response.status_code, response.get_json()) == (503, {"status": "not ready", "failing": ["redis"]})


def test_readyz_names_missing_keys(app, client):
    app.extensions["shagym_search_keys"] = crypto.Keyring(prefix="search")  # none loaded
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (
        503,
        {"status": "not ready", "failing": ["keys", "key_fingerprints"]},
    )


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_are_not_rate_limited(make_app, path):
    app = make_app(RATELIMIT_ENABLED=True, TRACK_RATE_LIMIT="1 per minute", REPORT_RATE_LIMIT="1 per minute")
    with app.app_context():
        client = app.test_client()
        assert {client.get(path).status_code for _ in range(30)} == {200}


def test_health_endpoints_never_take_the_write_lock(app, client):
    for endpoint in ("health.healthz", "health.readyz"):
        assert not getattr(app.view_functions[endpoint], "shagym_writes", False)
    if db.engine.dialect.name != "sqlite":
        return
    db.session.remove()
    # Another process holds SQLite's write lock: a reader still gets its answer (WAL).
    writer = sqlite3.connect(db.engine.url.database, timeout=0.1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        response = client.get("/readyz")
        assert (response.status_code, response.get_json()) == (200, {"status": "ready"})
    finally:
        writer.execute("ROLLBACK")
        writer.close()
