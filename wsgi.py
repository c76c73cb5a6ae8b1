"""Application factory: the one place that wires the layers together. Nothing runs on import.

``flask --app wsgi ...`` and ``gunicorn "wsgi:create_app()"`` both find it.
Layers (docs/architecture.md): web (``intake``, ``staff``, ``web``, ``cli``) →
domain (``cases``, its command layer ``cases.commands``) → ``storage``.
"""

from __future__ import annotations

import base64
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import flask_babel
from flask import Flask, current_app, g, request

import cli
import config
import storage
from cases import audit, deadlines, notify
from cases.vocabulary import CASE_ROLES, ROLE_TITLES, SHARED_FIELD_TITLES, LinkKind, MessageKind, Priority, Role
from cases.workflow import Status
from extensions import babel, csrf, limiter, login_manager, migrate
from i18n import DEFAULT_LOCALE, LANGUAGE_NAMES, choose_locale
from intake import track
from intake import views as intake_views
from intake.uploads import raise_upload_limit
from staff import (
    admin,
    auth,
    gate,
    levels,
    oversight,
    referral_views,  # noqa: F401 - adds the referral views to the staff blueprint
    supervise,
    treaties,
)
from staff import views as staff_views
from storage import crypto, db, witness
from web import errors, headers, health
from web.proxy import TrustedProxyFix

ROOT = Path(__file__).resolve().parent
BLUEPRINTS = (
    intake_views.bp,
    track.bp,
    auth.bp,
    staff_views.bp,
    supervise.bp,
    oversight.bp,
    admin.bp,
    levels.bp,
    treaties.bp,
    health.bp,
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder="templates", static_folder="static")
    settings = config.load_settings()
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("SHAGYM_INSTANCE") or app.instance_path
    app.instance_path = str(instance)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)

    database_url = settings["DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'shagym.sqlite3'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    app.config.update(settings)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        # Plain forms stay small; upload views raise the limit for their own request.
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=4 * 3600,
        BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE,
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        RATELIMIT_STORAGE_URI=settings["RATELIMIT_STORAGE_URI"],
        RATELIMIT_ENABLED=True,
        REMEMBER_COOKIE_DURATION=0,
        PREFERRED_URL_SCHEME="https" if settings["SHAGYM_HTTPS"] else "http",
    )
    if test_config:
        app.config.update(test_config)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["OFFICE_TIMEZONE"]
    https = app.config["SHAGYM_HTTPS"]
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["SESSION_COOKIE_NAME"] = "__Host-shagym" if https else "shagym"
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", storage.engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret(app.instance_path, "secret_key")
    if app.config["SHAGYM_PROXY_HOPS"]:
        app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, app.config["SHAGYM_PROXY_HOPS"], app.config["FORWARDED_ALLOW_IPS"]
        )
    if app.config["SHAGYM_PRODUCTION"] and (app.debug or app.testing):
        raise RuntimeError("SHAGYM_PRODUCTION=1 refuses to run in debug or testing mode")

    _init_secrets(app)

    # First of all hooks: whether this request writes decides how its first transaction begins
    # (BEGIN IMMEDIATE takes SQLite's writer lock), and the staff gate reads the user before the view.
    @app.before_request
    def _write_intent() -> None:
        view = app.view_functions.get(request.endpoint or "")
        writes = request.method not in ("GET", "HEAD", "OPTIONS") or getattr(view, "shagym_writes", False)
        g._write_intent_token = storage.set_write_intent(writes)

    @app.teardown_request
    def _reset_intent(_exc: BaseException | None) -> None:
        token = g.pop("_write_intent_token", None)
        if token is not None:
            storage.reset_write_intent(token)

    @app.before_request
    def _fresh_user() -> None:
        # Each request loads its user from the server-side session; never a cached one
        # (test clients share one app context, and so one ``g``, across requests).
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)  # the locale is chosen again for every request

    # Before CSRFProtect reads the form: upload views accept larger multipart bodies.
    app.before_request(raise_upload_limit)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    with app.app_context():
        storage.configure_engine(db.engine)

    headers.init_app(app)
    notify.init_app(app)
    gate.init_app(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    errors.init_app(app)
    cli.init_app(app)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"current_locale": str(flask_babel.get_locale() or DEFAULT_LOCALE)}

    app.jinja_env.globals.update(
        format_datetime=flask_babel.format_datetime,
        format_date=flask_babel.format_date,
        format_minute=format_minute,
        format_time=flask_babel.format_time,
        format_timedelta=flask_babel.format_timedelta,
        lateness=deadlines.lateness,
        # The vocabulary, so templates compare with names, not retyped codes.
        Status=Status,
        Role=Role,
        ROLE_TITLES=ROLE_TITLES,
        CASE_ROLES=CASE_ROLES,
        MessageKind=MessageKind,
        LinkKind=LinkKind,
        Priority=Priority,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        SHARED_FIELD_TITLES=SHARED_FIELD_TITLES,
    )
    # Data that may have a catalog entry (seeded queue names): translated as plain,
    # auto-escaped text — never through ``_()``, which formats and marks its result safe.
    app.jinja_env.filters["translated"] = lambda text: flask_babel.gettext(text) if text else ""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return app


def _init_secrets(app: Flask) -> None:
    app.extensions["shagym_keyring"] = crypto.load_keyring(app.instance_path, app.config["SHAGYM_DATA_KEYS"])
    receipt = app.config["SHAGYM_RECEIPT_KEY"] or config.instance_secret(app.instance_path, "receipt_key")
    app.extensions["shagym_receipt_key"] = base64.urlsafe_b64decode(receipt + "=" * (-len(receipt) % 4))
    app.extensions["shagym_signing_key"] = audit.load_signing_key(app.instance_path, app.config["SHAGYM_SIGNING_KEY"])
    audit_keys = crypto.load_keyring(app.instance_path, app.config["SHAGYM_AUDIT_KEYS"], prefix="audit")
    app.extensions["shagym_audit_keys"] = audit_keys
    app.extensions["shagym_search_keys"] = crypto.load_keyring(
        app.instance_path, app.config["SHAGYM_SEARCH_KEYS"], prefix="search"
    )
    app.extensions["shagym_witness"] = witness.open_witness(
        app.instance_path, audit_keys, app.config["AUDIT_WITNESS_LOG"], app.config["AUDIT_WITNESS_SYSLOG"]
    )


def format_minute(value: datetime) -> str:
    """A moment to the minute, in the reader's language and time zone (due times: seconds are noise)."""
    return f"{flask_babel.format_date(value, 'medium')}, {flask_babel.format_time(value, 'short')}"


def select_locale() -> str:
    return choose_locale(
        request.cookies.get("lang"), request.accept_languages.best_match, current_app.config["BABEL_DEFAULT_LOCALE"]
    )
