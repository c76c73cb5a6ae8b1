"""Health endpoints for the load balancer: ``/healthz`` (the process answers) and ``/readyz``.

``/readyz`` checks that the database answers, that its schema is at the migrations' head, that
the keys are loaded and are the ones recorded for every instance on this database, and, when the
rate limits are kept in Redis, that Redis answers. Neither says more than a word: 200 ``{"status": "ready"}``, or 503 with the names of the failing checks
(the reason goes to the log, never into the answer). Both are cheap (one indexed read at most,
no write lock: GET without ``writes_on_get``), not rate limited, and set no cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from limits.storage import storage_from_string
from sqlalchemy import text

from extensions import limiter
from storage import db
from web import keycheck

bp = Blueprint("health", __name__)
log = logging.getLogger("shagym.health")
_HEADS = "shagym_migration_heads"
_REDIS = "shagym_readiness_redis"


def migration_heads(app: Flask) -> frozenset[str]:
    """The head revision(s) of the migrations, read from disk once per process."""
    heads = app.extensions.get(_HEADS)
    if heads is None:
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        heads = app.extensions[_HEADS] = frozenset(script.get_heads())
    return heads


def _database() -> bool:
    return db.session.execute(text("SELECT 1")).scalar() == 1


def _migrations() -> bool:
    current = frozenset(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    return current == migration_heads(current_app)


def _keys() -> bool:
    ext = current_app.extensions
    for name in ("shagym_keyring", "shagym_audit_keys", "shagym_search_keys"):
        key_id, key = ext[name].current()
        if not key_id or len(key) != 32:
            return False
    return ext.get("shagym_signing_key") is not None and bool(ext.get("shagym_receipt_key"))


def _same_keys() -> bool:
    """The keys are the ones recorded in the database for every instance (``web/keycheck.py``)."""
    return not keycheck.problems(current_app)


def _redis() -> bool:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if not uri.startswith(("redis://", "rediss://", "redis+")):
        return True
    # This app's own client of the limiter's Redis (the limiter object is shared by every app
    # made in one process, tests included), made once.
    storage = current_app.extensions.get(_REDIS)
    if storage is None:
        storage = current_app.extensions[_REDIS] = storage_from_string(uri)
    return bool(storage.check())


CHECKS: tuple[tuple[str, Callable[[], bool]], ...] = (
    ("database", _database),
    ("migrations", _migrations),
    ("keys", _keys),
    ("redis", _redis),
    ("key_fingerprints", _same_keys),
)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    failing = []
    for name, check in CHECKS:
        try:
            passed = check()
        except Exception:  # any failure is a "no"; the reason goes to the log only
            log.warning("readiness_check_failed check=%s", name, exc_info=True)
            db.session.rollback()
            passed = False
        if not passed:
            failing.append(name)
    db.session.rollback()  # end the read transaction now, not at teardown
    if failing:
        return jsonify(status="not ready", failing=failing), 503
    return jsonify(status="ready")
