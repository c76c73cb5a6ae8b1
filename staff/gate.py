"""The staff side's door: who is signed in, deny by default, roles, re-authentication.

Every endpoint of the staff blueprints needs a signed-in staff member who has
finished the second factor, except the ones in ``PUBLIC``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from cases import accounts, commands
from cases.vocabulary import Role
from extensions import login_manager
from i18n import N_
from storage.types import MAX_ID

PUBLIC = frozenset({"staff_auth.login"})
# Reachable after the password but before the second factor.
HALF_SIGNED_IN = frozenset({"staff_auth.second_factor", "staff_auth.enrol", "staff_auth.logout"})
STAFF_BLUEPRINTS = frozenset(
    {
        "staff",
        "staff_auth",
        "staff_admin",
        "supervise",
        "statistics",
        "oversight",
        "service_levels",
        "treaties",
        "institutions",
    }
)
# Reachable after signing in with a one-time reset code, until a new password is set.
NEW_PASSWORD_ONLY = frozenset({"staff_auth.new_password", "staff_auth.logout"})


def id_or_none(raw: object) -> int | None:
    """A database id from a URL argument or form field, or None if it cannot be one."""
    text = str(raw if raw is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID else None


def roles(*allowed: Role):
    """Only these roles; others get 403 (admins never reach case content)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def needs_reauth() -> bool:
    """Whether the last proof of the password is older than the re-authentication window."""
    row = current_user.staff_session
    last = row.reauthenticated_at or row.created_at
    return datetime.now(UTC) - last > timedelta(minutes=current_app.config["REAUTH_MINUTES"])


def recent_auth(view=None, *, back: str = "staff_admin.users", writes_only: bool = False):
    """Sensitive actions need the password again if the last proof is older than REAUTH_MINUTES.

    ``@recent_auth`` guards every method; ``@recent_auth(writes_only=True)`` only POSTs (a page
    that merely reads, like the routing rules, opens without it). After the password a POST-only
    URL would answer 405 to the redirect, so the way back is the page ``back`` (given the URL's
    own arguments where it takes them: a user's page comes back to that user)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if (not writes_only or request.method != "GET") and needs_reauth():
                return redirect(url_for("staff_admin.reauth", next=_way_back(back)))
            return view(*args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator


def _way_back(back: str) -> str:
    # A page comes back with its query string (an export's filter).
    if request.method == "GET":
        return request.full_path.rstrip("?")
    flash(gettext("Confirm your password, then make the change again."), "info")
    if request.url_rule is not None and "GET" in request.url_rule.methods:
        return request.full_path.rstrip("?")
    wanted = next(r.arguments for r in current_app.url_map.iter_rules(back))
    return url_for(back, **{k: v for k, v in (request.view_args or {}).items() if k in wanted})


def _session_limits() -> accounts.SessionLimits:
    cfg = current_app.config
    return accounts.SessionLimits(
        idle=timedelta(minutes=cfg["STAFF_IDLE_MINUTES"]), absolute=timedelta(hours=cfg["STAFF_SESSION_HOURS"])
    )


def load_user(token: str):
    """The signed-in user for a session cookie, or None; ends an expired session, moves the idle clock."""
    now = datetime.now(UTC)
    found = accounts.find_session(token, _session_limits(), now)
    if found.expired:
        commands.quietly(commands.end_session_row, found.row)
        return None
    if found.user is None:
        return None
    if found.refresh:
        commands.quietly(commands.refresh_session, found.row, now)
    found.user.session_id = token
    found.user.staff_session = found.row
    return found.user


def init_app(app: Flask) -> None:
    login_manager.login_view = "staff_auth.login"
    # Flask-Login's own "Please log in to access this page." would stay English: use ours, translated.
    login_manager.login_message = N_("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = gettext
    login_manager.session_protection = None  # sessions are checked server-side instead
    login_manager.user_loader(load_user)

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
        if not current_user.staff_session.second_factor_done:
            if request.endpoint in HALF_SIGNED_IN:
                return None
            target = "staff_auth.second_factor" if current_user.totp_enabled else "staff_auth.enrol"
            return redirect(url_for(target))
        if current_user.staff_session.must_change_password and request.endpoint not in NEW_PASSWORD_ONLY:
            return redirect(url_for("staff_auth.new_password"))
        return None
