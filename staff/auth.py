"""Staff sign-in, second factor, sign-out and password change."""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from cases import accounts, commands, twofactor
from cases.models import StaffSession
from cases.refusals import Refused
from extensions import limiter, limits_reachable
from staff.forms import CodeForm, LoginForm, NewPasswordForm, PasswordChangeForm, RecoveryForm
from staff.gate import needs_reauth
from storage import crypto, db
from web import errors

bp = Blueprint("staff_auth", __name__, url_prefix="/staff")
security_log = logging.getLogger("shagym.security")


def _account_key() -> str:
    email = accounts.normalize_email(request.form.get("email", ""))
    key = current_app.config["SECRET_KEY"].encode()
    return "acct:" + hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "user:-"


def _failed(response) -> bool:
    return response.status_code == 401


# Password and second-factor guesses are limited in the limiter's storage: when it cannot be
# reached (Redis down), these limits fail closed — sign-in waits — while the public side's limits
# fail open (a report is never refused because the counter is gone). docs/operations.md.
FAIL_CLOSED = frozenset({"staff_auth.login", "staff_auth.second_factor"})


@bp.before_request
def _guesses_must_be_counted():
    if request.method == "POST" and request.endpoint in FAIL_CLOSED and not limits_reachable():
        security_log.warning("signin_paused reason=limiter_storage_unreachable")
        response, code = errors.page(
            503,
            _("Sign-in is paused for a moment"),
            _("Sign-in attempts cannot be counted just now, so sign-in waits. Please try again in a minute."),
        )
        return response, code, {"Retry-After": str(errors.RETRY_SECONDS)}
    return None


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _code_limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _code_source_limit() -> str:
    # One address may serve several people (an office behind one gateway): twice the per-account limit.
    limit = current_app.config["TWO_FACTOR_RATE_LIMIT"]
    return ";".join(_doubled(part) for part in limit.split(";"))


def _doubled(limit: str) -> str:
    count, _sep, rest = limit.strip().partition(" ")
    return f"{int(count) * 2} {rest}" if count.isdigit() else limit


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)  # per source address
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)  # per account
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        # Signing in again (maybe as someone else) ends the session this browser had.
        replaces = current_user.session_id if current_user.is_authenticated else None
        holder = accounts.reset_code_holder(form.email.data) if user is None else None
        if holder is not None:
            return _sign_in_with_reset_code(form, holder, replaces)
        if user is None:
            return _refused(form, _("Wrong email or password."))
        needs_2fa = twofactor.required_for(user, current_app.config["REQUIRE_2FA_FOR_ALL"])
        token = commands.sign_in(user, form.password.data, second_factor_done=not needs_2fa, replaces=replaces)
        return _signed_in(user, token, needs_2fa)
    return render_template("staff/login.html", form=form)


def _refused(form: LoginForm, message: str):
    # Security event without personal data: the account as a keyed hash, no client address.
    security_log.warning("signin_failed account=%s", _account_key()[5:17])
    flash(message, "error")
    return render_template("staff/login.html", form=form), 401


def _sign_in_with_reset_code(form: LoginForm, user, replaces: str | None):
    """The one-time code an administrator gave stands in for the password, once; then a new one is set."""
    needs_2fa = twofactor.required_for(user, current_app.config["REQUIRE_2FA_FOR_ALL"])
    try:
        token = commands.redeem_reset_code(user, form.password.data, not needs_2fa, replaces)
    except commands.ResetCodeRefused as exc:
        return _refused(form, _(exc.template))
    return _signed_in(user, token, needs_2fa)


def _signed_in(user, token: str, needs_2fa: bool):
    session.clear()  # a new session on sign-in
    user.session_id = token
    user.staff_session = db.session.get(StaffSession, accounts.session_key(token))
    login_user(user)
    # Flask-Login stores a hash of the client's address and user agent as ``_id`` (for its
    # session protection, which is off: sessions are checked server-side). Nothing about the
    # client's address goes into any cookie.
    session.pop("_id", None)
    if needs_2fa:
        return redirect(url_for("staff_auth.second_factor" if user.totp_enabled else "staff_auth.enrol"))
    if user.staff_session.must_change_password:
        return redirect(url_for("staff_auth.new_password"))
    return redirect(url_for("staff.home"))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        commands.sign_out(current_user.session_id)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("staff_auth.login"))


@bp.route("/2fa", methods=["GET", "POST"])
@limiter.limit(_code_source_limit, methods=["POST"])  # per source address
@limiter.limit(_code_limit, methods=["POST"], key_func=_user_key, deduct_when=_failed)  # per account
def second_factor():
    if not current_user.totp_enabled:
        return redirect(url_for("staff_auth.enrol"))
    form, recovery = CodeForm(prefix="totp"), RecoveryForm(prefix="rec")
    if request.method == "POST":
        totp = form.code.data if "totp-code" in request.form and form.validate() else None
        rec = (
            recovery.recovery.data if totp is None and "rec-recovery" in request.form and recovery.validate() else None
        )
        user = current_user._get_current_object()
        if totp is not None or rec is not None:
            limit = current_app.config["TWO_FACTOR_HOURLY_LIMIT"]
            try:
                commands.pass_second_factor(user, totp_code=totp, recovery_code=rec, hourly_limit=limit)
            except commands.SecondFactorLocked as exc:
                security_log.warning("second_factor_locked user=%s", user.id)
                flash(_(exc.template), "error")
                return render_template("staff/second_factor.html", form=form, recovery=recovery), 429
            except Refused:
                if commands.record_second_factor_failure(user) == limit:
                    security_log.warning("second_factor_limit_reached user=%s limit=%s per hour", user.id, limit)
            else:
                return redirect(url_for("staff.home"))
        security_log.warning("second_factor_failed user=%s", current_user.id)
        flash(_("That code is not valid. Codes can be used only once."), "error")
        return render_template("staff/second_factor.html", form=form, recovery=recovery), 401
    return render_template("staff/second_factor.html", form=form, recovery=recovery)


@bp.route("/2fa/setup", methods=["GET", "POST"])
def enrol():
    if current_user.totp_enabled and not current_user.staff_session.second_factor_done:
        return redirect(url_for("staff_auth.second_factor"))
    if current_user.totp_enabled:
        # Replacing a working second factor needs the password again (a borrowed session must not do it).
        if needs_reauth():
            return redirect(url_for("staff_admin.reauth", next=request.path))
    form = CodeForm()
    secret = twofactor.pending_secret(session, crypto.current_keyring(), current_user.session_id)
    if form.validate_on_submit():
        try:
            codes = commands.enrol_second_factor(current_user._get_current_object(), secret, form.code.data)
        except Refused as exc:
            flash(_(exc.template, **exc.params), "error")
        else:
            session.pop(twofactor.PENDING_KEY, None)
            return render_template("staff/recovery_codes.html", codes=codes)
    uri = twofactor.provisioning_uri(current_user, secret)
    return render_template(
        "staff/enrol.html", form=form, qr=twofactor.qr_data_uri(uri), secret=twofactor.grouped_key(secret)
    )


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            commands.change_password(current_user._get_current_object(), form.current.data, form.new.data)
        except accounts.WrongPassword as exc:
            flash(_(exc.template), "error")
        except Refused as exc:
            form.new.errors = [_(exc.template, **exc.params)]
        else:
            logout_user()
            session.clear()
            flash(_("Your password was changed. All your sessions were ended; please sign in again."), "success")
            return redirect(url_for("staff_auth.login"))
    return render_template("staff/password.html", form=form)


@bp.route("/password/new", methods=["GET", "POST"])
def new_password():
    """After signing in with a one-time reset code: choose the password (the gate sends every
    other page here until it is done)."""
    if not current_user.staff_session.must_change_password:
        return redirect(url_for("staff_auth.change_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            commands.set_new_password(current_user._get_current_object(), form.new.data)
        except Refused as exc:
            form.new.errors = [_(exc.template, **exc.params)]
        else:
            flash(_("Your new password is set."), "success")
            return redirect(url_for("staff.home"))
    return render_template("staff/new_password.html", form=form), 422 if form.errors else 200
