"""Administrators: accounts, queues, queue membership and routing rules.

Admins never see case content (separation of duties). Account and role
changes need a recent password re-entry; every change is an audit event in
the system chain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, select

from cases import accounts, audit, routing
from cases.categories import CATEGORIES, REGIONS
from cases.models import Priority, Queue, QueueMembership, RoutingRule, User
from cases.staff.forms import MembershipForm, QueueForm, ReauthForm, RuleForm, UserForm
from extensions import db

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin")
REAUTH_WINDOW = timedelta(minutes=10)


@bp.before_request
def _admins_only():
    if current_user.role != "admin" and request.endpoint != "staff_admin.reauth":
        abort(403)


def needs_reauth() -> bool:
    """Whether the last proof of the password is older than the re-authentication window."""
    row = current_user.staff_session
    last = row.reauthenticated_at or row.created_at
    return datetime.now(UTC) - last > REAUTH_WINDOW


def recent_auth(view):
    """Sensitive actions need the password again if the last proof is older than 10 minutes."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if needs_reauth():
            # After the password, come back to a page: a POST-only URL would answer 405 to the redirect.
            back = request.path if request.method == "GET" else url_for("staff_admin.users")
            if request.method != "GET":
                flash(_("Confirm your password, then make the change again."), "info")
            return redirect(url_for("staff_admin.reauth", next=back))
        return view(*args, **kwargs)

    return wrapped


def _event(action: str, **kw) -> None:
    audit.append(db.session, case=None, actor_type="staff", actor_id=current_user.id, action=action, **kw)


@bp.route("/reauth", methods=["GET", "POST"])
def reauth():
    form = ReauthForm()
    target = request.args.get("next", "")
    if not target.startswith("/staff/"):
        target = url_for("staff.home")
    if form.validate_on_submit():
        if accounts.authenticate(current_user.email, form.password.data) is not None:
            current_user.staff_session.reauthenticated_at = datetime.now(UTC)
            db.session.commit()
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
        try:
            user = accounts.create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.password.data,
                form.queues.data if form.role.data == "caseworker" else [],
            )
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(_(exc.template, **exc.params), "error")
        else:
            _event("user_created", new=user.email, details={"role": user.role, "queues": form.queues.data})
            db.session.commit()
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
        wanted = set(form.queues.data)
        db.session.execute(delete(QueueMembership).where(QueueMembership.user_id == target.id))
        for q in db.session.scalars(select(Queue).where(Queue.slug.in_(wanted))):
            db.session.add(QueueMembership(user_id=target.id, queue_id=q.id))
        _event("membership_changed", new=target.email, details={"queues": sorted(wanted)})
        db.session.commit()
        flash(_("Queues updated."), "success")
        return redirect(url_for("staff_admin.user", user_id=target.id))
    return render_template("staff/admin_user.html", target=target, form=form)


@bp.post("/users/<int:user_id>/deactivate")
@recent_auth
def deactivate(user_id: int):
    target = db.get_or_404(User, user_id)
    if target.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
    else:
        accounts.deactivate(target)
        _event("user_deactivated", new=target.email)
        db.session.commit()
        flash(_("%(email)s can no longer sign in; their sessions were ended.", email=target.email), "success")
    return redirect(url_for("staff_admin.users"))


@bp.route("/queues", methods=["GET", "POST"])
def queues():
    form = QueueForm()
    if form.validate_on_submit():
        slug = form.slug.data.strip().lower()
        if not slug.replace("-", "").isalnum():
            flash(_("The short name may contain only letters, digits and dashes."), "error")
        elif db.session.scalar(select(Queue.id).where(Queue.slug == slug)):
            flash(_("A queue with this short name exists."), "error")
        else:
            db.session.add(Queue(slug=slug, name=form.name.data.strip(), description=form.description.data or ""))
            _event("queue_created", new=slug)
            db.session.commit()
            flash(_("Queue created."), "success")
            return redirect(url_for("staff_admin.queues"))
    rows = db.session.scalars(select(Queue).order_by(Queue.name)).all()
    return render_template("staff/admin_queues.html", queues=rows, form=form)


def _rule_form() -> RuleForm:
    form = RuleForm()
    any_ = ("", _("any"))
    form.category.choices = [any_, *((c.slug, _(c.name)) for c in CATEGORIES)]
    form.region.choices = [any_, *((slug, _(label)) for slug, label in REGIONS)]
    form.queue.choices = [(q.slug, _(q.name)) for q in db.session.scalars(select(Queue).where(Queue.active.is_(True)))]
    return form


def _tri(value: str):
    return None if value == "" else value


@bp.route("/routing", methods=["GET", "POST"])
def rules():
    form = _rule_form()
    if form.validate_on_submit():
        if db.session.scalar(select(RoutingRule.id).where(RoutingRule.position == form.position.data)):
            flash(_("Another rule has this position; choose a free number."), "error")
        else:
            queue = db.session.scalar(select(Queue).where(Queue.slug == form.queue.data))
            rule = RoutingRule(
                name=form.name.data.strip(),
                position=form.position.data,
                category=_tri(form.category.data),
                immediate_danger=None if form.immediate_danger.data == "" else form.immediate_danger.data == "yes",
                child_affected=_tri(form.child_affected.data),
                in_custody=_tri(form.in_custody.data),
                region=_tri(form.region.data),
                queue_id=queue.id,
                priority=Priority.BY_NAME[form.priority.data],
                active=True,
            )
            db.session.add(rule)
            db.session.flush()
            if _rules_ok():
                _event("rule_created", new=rule.name, details={"position": rule.position})
                db.session.commit()
                flash(_("Rule added."), "success")
                return redirect(url_for("staff_admin.rules"))
            db.session.rollback()
    rows = db.session.scalars(select(RoutingRule).order_by(RoutingRule.position)).all()
    return render_template(
        "staff/admin_rules.html", rules=rows, form=form, describe=routing.describe, Priority=Priority
    )


def _rules_ok() -> bool:
    try:
        routing.check_rule_set(db.session.scalars(select(RoutingRule)).all())
    except routing.NoRouteError:
        flash(
            _("The last active rule must match every report (a catch-all), so that no report is ever unrouted."),
            "error",
        )
        return False
    return True


@bp.post("/routing/<int:rule_id>/toggle")
def toggle_rule(rule_id: int):
    rule = db.get_or_404(RoutingRule, rule_id)
    rule.active = not rule.active
    db.session.flush()
    if _rules_ok():
        _event("rule_toggled", new=rule.name, details={"active": rule.active})
        db.session.commit()
        flash(_("Rule switched on.") if rule.active else _("Rule switched off."), "success")
    else:
        db.session.rollback()
    return redirect(url_for("staff_admin.rules"))
