"""Administrators: accounts, queues, queue membership and routing rules.

Admins never see case content (separation of duties). Account and role
changes need a recent password re-entry; every change is an audit event in
the system chain.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import commands, queries, routing
from cases.categories import CATEGORIES, REGIONS
from cases.models import Queue, RoutingRule, User
from cases.refusals import Refused
from cases.vocabulary import Role
from staff.forms import MembershipForm, QueueForm, ReauthForm, RuleForm, UserForm
from staff.gate import recent_auth
from storage import db
from web.redirects import local_path

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin")


@bp.before_request
def _admins_only():
    if current_user.role != Role.ADMIN and request.endpoint != "staff_admin.reauth":
        abort(403)


def _attempt(call):
    """Run a command; a refusal is flashed in the reader's language. Returns (done, result)."""
    try:
        return True, call()
    except Refused as exc:
        flash(_(exc.template, **exc.params), "error")
        return False, None


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
    return render_template("staff/admin_user.html", target=target, form=form)


@bp.post("/users/<int:user_id>/deactivate")
@recent_auth
def deactivate(user_id: int):
    target = db.get_or_404(User, user_id)
    if _attempt(lambda: commands.deactivate_user(target, by=current_user))[0]:
        flash(_("%(email)s can no longer sign in; their sessions were ended.", email=target.email), "success")
    return redirect(url_for("staff_admin.users"))


@bp.route("/queues", methods=["GET", "POST"])
def queues():
    form = QueueForm()
    if form.validate_on_submit():
        if _attempt(
            lambda: commands.create_queue(form.slug.data, form.name.data, form.description.data or "", by=current_user)
        )[0]:
            flash(_("Queue created."), "success")
            return redirect(url_for("staff_admin.queues"))
    rows = db.session.scalars(select(Queue).order_by(Queue.name)).all()
    return render_template("staff/admin_queues.html", queues=rows, form=form)


def _rule_form() -> RuleForm:
    form = RuleForm()
    any_ = ("", _("any"))
    form.category.choices = [any_, *((c.slug, _(c.name)) for c in CATEGORIES)]
    form.region.choices = [any_, *((slug, _(label)) for slug, label in REGIONS)]
    # No queue or priority is chosen for the admin: the form starts blank and asks.
    form.queue.choices = [
        ("", _("Choose a queue")),
        *((q.slug, _(q.name)) for q in db.session.scalars(select(Queue).where(Queue.active.is_(True)))),
    ]
    return form


def _tri(value: str):
    return None if value == "" else value


@bp.route("/routing", methods=["GET", "POST"])
def rules():
    form = _rule_form()
    if form.validate_on_submit():
        done, _rule = _attempt(
            lambda: commands.add_rule(
                name=form.name.data,
                position=form.position.data,
                queue_slug=form.queue.data,
                priority=form.priority.data,
                by=current_user,
                category=_tri(form.category.data),
                immediate_danger=None if form.immediate_danger.data == "" else form.immediate_danger.data == "yes",
                child_affected=_tri(form.child_affected.data),
                in_custody=_tri(form.in_custody.data),
                region=_tri(form.region.data),
            )
        )
        if done:
            flash(_("Rule added."), "success")
            return redirect(url_for("staff_admin.rules"))
    rows = db.session.scalars(select(RoutingRule).order_by(RoutingRule.position)).all()
    return render_template(
        "staff/admin_rules.html",
        rules=rows,
        form=form,
        describe=routing.describe,
        locked={r.id for r in rows if r.active and not routing.can_switch_off(r, rows)},
    )


@bp.post("/routing/<int:rule_id>/toggle")
def toggle_rule(rule_id: int):
    rule = db.get_or_404(RoutingRule, rule_id)
    done, active = _attempt(lambda: commands.toggle_rule(rule, by=current_user))
    if done:
        flash(_("Rule switched on.") if active else _("Rule switched off."), "success")
    return redirect(url_for("staff_admin.rules"))
