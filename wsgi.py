"""Application factory: the one place that wires the layers together. Nothing runs on import.

``flask --app wsgi ...`` and ``gunicorn "wsgi:create_app()"`` both find it.
Layers (docs/architecture.md): web (``intake``, ``staff``, ``web``, ``cli``) →
domain (``cases``, its command layer ``cases.commands``) → ``storage``.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask_babel
from babel import support
from flask import Flask, current_app, g, request
from jinja2 import pass_context

import cli
import config
import storage
from cases import audit, deadlines, notify
from cases.vocabulary import CASE_ROLES, ROLE_TITLES, SHARED_FIELD_TITLES, LinkKind, MessageKind, Priority, Role
from cases.workflow import Status
from extensions import babel, csrf, limiter, limiter_storage_uri, login_manager, migrate
from i18n import DEFAULT_LOCALE, LANGUAGE_NAMES, choose_locale
from intake import track
from intake import views as intake_views
from intake.uploads import raise_upload_limit
from staff import (
    admin,
    auth,
    gate,
    institutions,
    levels,
    oversight,
    referral_views,  # noqa: F401 - adds the referral views to the staff blueprint
    statistics,
    supervise,
    treaties,
)
from staff import views as staff_views
from storage import crypto, db, witness
from web import dates, errors, headers, health, keycheck, logs, metrics, telemetry
from web.proxy import TrustedProxyFix

ROOT = Path(__file__).resolve().parent
BLUEPRINTS = (
    intake_views.bp,
    track.bp,
    auth.bp,
    staff_views.bp,
    supervise.bp,
    statistics.bp,
    oversight.bp,
    admin.bp,
    levels.bp,
    treaties.bp,
    institutions.bp,
    health.bp,
    metrics.bp,
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
        # Fail open when the limiter's storage is down (never refuse a report for it); sign-in
        # fails closed on its own (staff/auth.py FAIL_CLOSED).
        RATELIMIT_SWALLOW_ERRORS=True,
        # A Redis that stops answering must cost a request half a second, not hang it.
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        REMEMBER_COOKIE_DURATION=0,
        PREFERRED_URL_SCHEME="https" if settings["SHAGYM_HTTPS"] else "http",
    )
    if test_config:
        app.config.update(test_config)
    app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(app.config["RATELIMIT_STORAGE_URI"])
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["OFFICE_TIMEZONE"]
    https = app.config["SHAGYM_HTTPS"]
    config.read_key_files(app.config)
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
    telemetry.init_app(app)  # first hooks of all: the time it measures covers the others

    # First hooks after the telemetry timer: whether this request writes decides how its first transaction begins
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

    # An instance whose keys could not be compared at start compares before its first request
    # (and refuses every request if they differ), before any hook below can write.
    app.before_request(keycheck.guard)
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
    # Before anything is served: the same keys as every other instance on this database, or no start.
    keycheck.check_at_start(app)

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

    _fast_template_gettext(app)

    app.jinja_env.globals.update(
        # Babel's formatting, remembered per process (web/dates.py).
        format_datetime=dates.format_datetime,
        format_date=dates.format_date,
        format_minute=dates.format_minute,
        format_time=dates.format_time,
        format_timedelta=dates.format_timedelta,
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
    logs.configure(app.config["LOG_FORMAT"])
    return app


@lru_cache(maxsize=16)
def _catalog(directory: str, locale: str) -> support.Translations:
    return support.Translations.load(directory, [locale], "messages")


def _fast_template_gettext(app: Flask) -> None:
    """``_()`` in templates reads the catalog of the page's language (``current_locale``, which the
    context processor sets per render, inside ``force_locale`` too) straight from a per-process
    cache. Flask-Babel's own looks the locale and the catalog up through four context proxies for
    each of the hundreds of strings on a staff page, which was most of the page's CPU."""
    directory = app.config["BABEL_TRANSLATION_DIRECTORIES"]

    def translations(context) -> Any:
        locale = context.get("current_locale")
        return _catalog(directory, locale) if locale else flask_babel.get_translations()

    app.jinja_env.install_gettext_callables(
        gettext=pass_context(lambda ctx, s: translations(ctx).ugettext(s)),
        ngettext=pass_context(lambda ctx, s, p, n: translations(ctx).ungettext(s, p, n)),
        newstyle=True,
        pgettext=pass_context(lambda ctx, c, s: translations(ctx).upgettext(c, s)),
        npgettext=pass_context(lambda ctx, c, s, p, n: translations(ctx).unpgettext(c, s, p, n)),
    )


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


def select_locale() -> str:
    return choose_locale(
        request.cookies.get("lang"), request.accept_languages.best_match, current_app.config["BABEL_DEFAULT_LOCALE"]
    )
