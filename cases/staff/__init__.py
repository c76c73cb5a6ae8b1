"""The staff side: sign-in, queues, cases, supervision and administration.

Deny by default: every endpoint of these blueprints needs a signed-in staff
member who has finished the second factor, except the ones in ``PUBLIC``.
"""

from __future__ import annotations

from flask import Flask, abort, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from cases import accounts
from cases.categories import N_
from extensions import login_manager

PUBLIC = frozenset({"staff_auth.login"})
# Reachable after the password but before the second factor.
HALF_SIGNED_IN = frozenset({"staff_auth.second_factor", "staff_auth.enrol", "staff_auth.logout"})
STAFF_BLUEPRINTS = frozenset({"staff", "staff_auth", "staff_admin", "supervise"})
# Ids are 32-bit integer columns; a larger number in a URL or form names nothing (and SQLite
# cannot even bind one above 2**63), so it is answered like any unknown id.
MAX_ID = 2**31 - 1


def id_or_none(raw: object) -> int | None:
    """A database id from a URL argument or form field, or None if it cannot be one."""
    text = str(raw if raw is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID else None


def init_app(app: Flask) -> None:
    from cases.staff import admin, auth, evidence, supervise, views  # noqa: F401 - evidence adds routes to views.bp

    login_manager.login_view = "staff_auth.login"
    # Flask-Login's own "Please log in to access this page." would stay English: use ours, translated.
    login_manager.login_message = N_("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = gettext
    login_manager.session_protection = None  # sessions are checked server-side instead

    @login_manager.user_loader
    def load_user(token: str):
        found = accounts.load_session(token)
        if found is None:
            return None
        user, row = found
        user.session_id = token
        user.staff_session = row
        return user

    @app.url_value_preprocessor
    def _ids_in_range(_endpoint, values) -> None:
        if values and any(isinstance(v, int) and not 0 < v <= MAX_ID for v in values.values()):
            abort(404)

    @app.before_request
    def _deny_by_default():
        if request.blueprint not in STAFF_BLUEPRINTS or request.endpoint in PUBLIC:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.staff_session.second_factor_done and request.endpoint not in HALF_SIGNED_IN:
            target = "staff_auth.second_factor" if current_user.totp_enabled else "staff_auth.enrol"
            return redirect(url_for(target))
        return None

    for bp in (auth.bp, views.bp, supervise.bp, admin.bp):
        app.register_blueprint(bp)
