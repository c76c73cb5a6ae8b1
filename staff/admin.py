"""Administrators: accounts, their roles, queues, passwords and second factor (the queues
and routing rules are in ``office.py``, on this blueprint).

Admins never see case content (separation of duties). Account and role
changes need a recent password re-entry; every change is an audit event in
the system chain.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import commands, queries
from cases.models import Queue, User
from cases.vocabulary import Role
from staff import office, partners
from staff.forms import MembershipForm, ReauthForm, RoleForm, UserForm
from staff.gate import recent_auth
from storage import db
from web.redirects import local_path

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin")


@bp.before_request
def _admins_only():
    if current_user.role != Role.ADMIN and request.endpoint != "staff_admin.reauth":
        abort(403)


_attempt = office.attempt
office.register(bp)
partners.register(bp)


@bp.route("/reauth", methods=["GET", "POST"])
def reauth():
    form = ReauthForm()
    target = local_path(request.args.get("next"), default=url_for("staff.home"), prefix="/staff/")
    if form.validate_on_submit():
        if commands.reauthenticate(current_user, form.password.data):
            return redirect(target)
        flash(_("That password is not correct."), "error")
        return render_template("staff/reauth.html", form=form), 401
    return render_template("staff/reauth.html", form=form)


def _queue_choices():
    return [(q.slug, _(q.name)) for q in db.session.scalars(select(Queue).order_by(Queue.name))]


@bp.route("/users", methods=["GET", "POST"])
@recent_auth
def users():
    form = UserForm()
    form.queues.choices = _queue_choices()
    if request.method == "POST":
        return _create_user(form)
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("staff/admin_users.html", users=rows, form=form)


def _create_user(form: UserForm):
    if form.validate():
        done, user = _attempt(
            lambda: commands.create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.password.data,
                form.queues.data if form.role.data == Role.CASEWORKER else [],
                by=current_user,
            )
        )
        if done:
            if queries.has_pending_access(user):
                flash(
                    _(
                        "Account created for %(email)s. Its access to cases takes effect once a supervisor approves it.",
                        email=user.email,
                    ),
                    "success",
                )
            else:
                flash(_("Account created for %(email)s.", email=user.email), "success")
            return redirect(url_for("staff_admin.users"))
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("staff/admin_users.html", users=rows, form=form), 422


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@recent_auth
def user(user_id: int):
    target = db.get_or_404(User, user_id)
    form = MembershipForm(queues=[q.slug for q in target.queues])
    form.queues.choices = _queue_choices()
    if form.validate_on_submit():
        if commands.set_memberships(target, form.queues.data, by=current_user):
            flash(_("Queues updated. The new queues take effect once a supervisor approves them."), "success")
        else:
            flash(_("Queues updated."), "success")
        return redirect(url_for("staff_admin.user", user_id=target.id))
    return render_template(
        "staff/admin_user.html",
        target=target,
        form=form,
        role_form=RoleForm(role=target.role),
        pending=queries.pending_access_of(target),
    )


def _back_to(target: User):
    return redirect(url_for("staff_admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/role")
@recent_auth(back="staff_admin.user")
def change_role(user_id: int):
    target = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate():
        flash(_("Choose a role."), "error")
        return _back_to(target)
    done, waits = _attempt(lambda: commands.change_role(target, form.role.data, by=current_user))
    if done and waits:
        flash(_("The new role takes effect once a supervisor approves it."), "success")
    elif done:
        flash(_("Role changed. The person's sessions were ended."), "success")
    return _back_to(target)


@bp.post("/users/<int:user_id>/reset-password")
@recent_auth(back="staff_admin.user")
def reset_password(user_id: int):
    target = db.get_or_404(User, user_id)
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    done, code = _attempt(lambda: commands.reset_password(target, by=current_user, valid_hours=hours))
    if not done:
        return _back_to(target)
    # Shown once, on this answer to the POST (never stored in the clear, never in a URL).
    return render_template("staff/admin_reset_code.html", target=target, code=code, hours=hours)


@bp.post("/users/<int:user_id>/reset-2fa")
@recent_auth(back="staff_admin.user")
def reset_two_factor(user_id: int):
    target = db.get_or_404(User, user_id)
    if _attempt(lambda: commands.reset_two_factor(target, by=current_user))[0]:
        flash(
            _("Two-factor sign-in was reset. %(name)s sets it up again at the next sign-in.", name=target.name),
            "success",
        )
    return _back_to(target)


@bp.post("/users/<int:user_id>/reactivate")
@recent_auth(back="staff_admin.user")
def reactivate(user_id: int):
    target = db.get_or_404(User, user_id)
    done, waits = _attempt(lambda: commands.reactivate_user(target, by=current_user))
    if done and waits:
        flash(_("The account can sign in again once a supervisor approves it."), "success")
    elif done:
        flash(_("%(email)s can sign in again.", email=target.email), "success")
    return _back_to(target)


@bp.post("/users/<int:user_id>/deactivate")
@recent_auth
def deactivate(user_id: int):
    target = db.get_or_404(User, user_id)
    if _attempt(lambda: commands.deactivate_user(target, by=current_user))[0]:
        flash(_("%(email)s can no longer sign in; their sessions were ended.", email=target.email), "success")
    return redirect(url_for("staff_admin.users"))
