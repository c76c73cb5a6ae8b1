"""Every instance on one database uses the same keys, or it does not start.

``create_app`` calls ``check_at_start``: it fingerprints the keys this instance loaded
(``cases/keyprints.py``), compares them with the fingerprints recorded in the database and
records the ones the database does not know yet (the first instance's, a key added by rotation).
If one differs it logs one line naming the key and keeps it: gunicorn stops on it ("App failed to
load", ``gunicorn.conf.py``), every request is refused, and every ``flask`` command but ``keys
import``/``export`` and ``backup restore`` (which bring the right keys or data) stops with that
line; nothing is written with the other key.

An instance that started before the table existed (``flask db upgrade`` itself builds an app) or
while the database was down checks on its first request instead, and refuses that request (and
every other) if the keys differ. ``/readyz`` compares again on every probe (one small read), so
an instance whose keys stopped matching — another instance recorded a rotated key it lacks — is
taken out of the load balancer.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import Flask, current_app, request
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cases import commands, keyprints
from cases.models import KeyFingerprint
from storage import db

log = logging.getLogger("shagym.keys")
_VERIFIED = "shagym_keys_verified"
_REFUSAL = "shagym_keys_refusal"


class KeyMismatch(RuntimeError):
    """This instance's keys are not the ones recorded in the database; the message is the one line."""


def loaded(app: Flask) -> dict[str, str]:
    """Name -> fingerprint of every key this instance holds now."""
    ext = app.extensions
    rings = {
        "data": dict(ext["shagym_keyring"].keys),
        "audit": dict(ext["shagym_audit_keys"].keys),
        "search": dict(ext["shagym_search_keys"].keys),
    }
    public = ext["shagym_signing_key"].public_key()
    singles = {
        "receipt": ext["shagym_receipt_key"],
        "signing": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "session": str(app.config["SECRET_KEY"]).encode(),
    }
    return keyprints.of_keys(rings, singles)


def recorded() -> dict[str, str]:
    return dict(db.session.execute(select(KeyFingerprint.name, KeyFingerprint.fingerprint)).tuples().all())


def problems(app: Flask) -> list[str]:
    """What differs from the database (read only)."""
    return keyprints.compare(loaded(app), recorded())[0]


def verify(app: Flask) -> None:
    """Compare and record; ``KeyMismatch`` if a key differs. Two instances starting at once with
    different keys race for the same names: the loser's insert conflicts, it compares again."""
    for attempt in range(2):
        found, new = keyprints.compare(loaded(app), recorded())
        if found:
            db.session.rollback()
            raise KeyMismatch(keyprints.refusal(found))
        if not new:
            break
        try:
            commands.record_key_fingerprints(new)
            break
        except commands.Conflict:
            if attempt:
                raise
    db.session.rollback()  # end the read transaction
    app.extensions[_VERIFIED] = True


def _no_database_file(app: Flask) -> bool:
    """A SQLite file that does not exist yet: looking would create it (``init-db`` makes it)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(url.database).exists()


def check_at_start(app: Flask) -> None:
    """Compare and record before anything is served. A difference is kept as the one line
    ``refusal(app)`` gives: gunicorn's worker stops on it (``gunicorn.conf.py``), every request
    is refused, every CLI command but those that bring the right keys (``keys import``) stops."""
    if _no_database_file(app):
        return
    with app.app_context():
        try:
            verify(app)
        except KeyMismatch as exc:
            app.extensions[_REFUSAL] = str(exc)
            log.critical("%s", exc)
        except SQLAlchemyError:
            # No table yet (before ``flask db upgrade``) or no database: the first request checks.
            db.session.rollback()
            log.info("key_fingerprints_not_checked_at_start: checking on the first request")
        finally:
            db.session.remove()


def refusal(app: Flask) -> str | None:
    """The one line saying which key differs, if this instance started with other keys."""
    return app.extensions.get(_REFUSAL)


def guard() -> None:
    """Before each request until the keys are verified (after that it costs one dict lookup)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get(_VERIFIED) or request.blueprint == "health":
        return
    line = refusal(app)
    if line is None:
        try:
            verify(app)
            return
        except KeyMismatch as exc:
            line = app.extensions[_REFUSAL] = str(exc)
            log.critical("%s", line)
        except SQLAlchemyError:
            db.session.rollback()  # not migrated yet or the database is down: the request finds out itself
            return
    raise KeyMismatch(line)
