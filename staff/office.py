"""Administrators: the office's set-up — queues and routing rules — on the ``staff_admin``
blueprint (``register`` adds these views to it).

Reading these pages needs no password again; every change does (``recent_auth``), and every
change is an audit event in the system chain. Changing a rule or a queue never changes
existing cases. "Test these facts" only reads: it runs ``routing.route`` over the active rules.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import commands, routing
from cases.categories import CATEGORIES, REGIONS
from cases.models import Queue, RoutingRule
from cases.refusals import Refused
from staff.forms import FactsForm, QueueEditForm, QueueForm, RuleForm
from staff.gate import recent_auth
from storage import db


def attempt(call):
    """Run a command; a refusal is flashed in the reader's language. Returns (done, result)."""
    try:
        return True, call()
    except Refused as exc:
        flash(_(exc.template, **exc.params), "error")
        return False, None


# --- queues --------------------------------------------------------------------------


@recent_auth(writes_only=True, back="staff_admin.queues")
def queues():
    form = QueueForm()
    if form.validate_on_submit():
        if attempt(
            lambda: commands.create_queue(form.slug.data, form.name.data, form.description.data or "", by=current_user)
        )[0]:
            flash(_("Queue created."), "success")
            return redirect(url_for("staff_admin.queues"))
    rows = db.session.scalars(select(Queue).order_by(Queue.name)).all()
    return render_template("staff/admin_queues.html", queues=rows, form=form)


@recent_auth(writes_only=True, back="staff_admin.queues")
def edit_queue(queue_id: int):
    queue = db.get_or_404(Queue, queue_id)
    form = QueueEditForm(obj=queue)
    if form.validate_on_submit():
        if attempt(lambda: commands.edit_queue(queue, form.name.data, form.description.data, by=current_user))[0]:
            flash(_("Queue saved."), "success")
            return redirect(url_for("staff_admin.queues"))
    routed_by = db.session.scalars(
        select(RoutingRule).where(RoutingRule.queue_id == queue.id).order_by(RoutingRule.position)
    ).all()
    status = 422 if form.errors else 200
    return render_template("staff/admin_queue.html", queue=queue, form=form, routed_by=routed_by), status


@recent_auth(back="staff_admin.queues")
def toggle_queue(queue_id: int):
    queue = db.get_or_404(Queue, queue_id)
    active = not queue.active
    if attempt(lambda: commands.set_queue_active(queue, active, by=current_user))[0]:
        flash(_("Queue switched on.") if active else _("Queue switched off."), "success")
    return redirect(url_for("staff_admin.queues"))


# --- routing rules ---------------------------------------------------------------------


def _choices(form) -> None:
    any_ = ("", _("any"))
    form.category.choices = [any_, *((c.slug, _(c.name)) for c in CATEGORIES)]
    form.region.choices = [any_, *((slug, _(label)) for slug, label in REGIONS)]


def _rule_form(rule: RoutingRule | None = None) -> RuleForm:
    if rule is None:
        form = RuleForm()
    else:
        form = RuleForm(
            name=rule.name,
            position=rule.position,
            category=rule.category or "",
            immediate_danger="" if rule.immediate_danger is None else ("yes" if rule.immediate_danger else "no"),
            child_affected=rule.child_affected or "",
            in_custody=rule.in_custody or "",
            region=rule.region or "",
            queue=rule.queue.slug,
            priority=rule.priority_name,
        )
    _choices(form)
    # No queue or priority is chosen for the admin: the form starts blank and asks.
    form.queue.choices = [
        ("", _("Choose a queue")),
        *((q.slug, _(q.name)) for q in db.session.scalars(select(Queue).where(Queue.active.is_(True)))),
    ]
    return form


def _tri(value: str):
    return None if value == "" else value


def _rule_values(form: RuleForm) -> dict:
    return dict(
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


@recent_auth(writes_only=True, back="staff_admin.rules")
def rules():
    form = _rule_form()
    if form.validate_on_submit():
        if attempt(lambda: commands.add_rule(**_rule_values(form)))[0]:
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


@recent_auth(writes_only=True, back="staff_admin.rules")
def edit_rule(rule_id: int):
    rule = db.get_or_404(RoutingRule, rule_id)
    form = _rule_form(rule)
    if form.validate_on_submit():
        if attempt(lambda: commands.edit_rule(rule, **_rule_values(form)))[0]:
            flash(_("Rule saved. Cases already routed keep their queue and priority."), "success")
            return redirect(url_for("staff_admin.rules"))
    status = 422 if form.errors else 200
    return render_template("staff/admin_rule.html", rule=rule, form=form, describe=routing.describe), status


@recent_auth(back="staff_admin.rules")
def toggle_rule(rule_id: int):
    rule = db.get_or_404(RoutingRule, rule_id)
    done, active = attempt(lambda: commands.toggle_rule(rule, by=current_user))
    if done:
        flash(_("Rule switched on.") if active else _("Rule switched off."), "success")
    return redirect(url_for("staff_admin.rules"))


@recent_auth(back="staff_admin.rules")
def move_rule(rule_id: int, direction: str):
    rule = db.get_or_404(RoutingRule, rule_id)
    if attempt(lambda: commands.move_rule(rule, direction == "up", by=current_user))[0]:
        flash(_("Rule moved."), "success")
    return redirect(url_for("staff_admin.rules") + f"#rule-{rule.id}")


def try_rules():
    """Which active rule would win for the facts of a report, and where it would send it."""
    form = FactsForm(formdata=request.args or None, meta={"csrf": False})
    _choices(form)
    form.category.choices = form.category.choices[1:]
    form.region.choices = form.region.choices[1:]
    decision = queue = None
    if request.args and form.validate():
        facts = routing.ReportFacts(
            category=form.category.data,
            immediate_danger=form.immediate_danger.data == "yes",
            child_affected=form.child_affected.data,
            in_custody=form.in_custody.data,
            region=form.region.data,
        )
        active = db.session.scalars(select(RoutingRule).where(RoutingRule.active.is_(True))).all()
        decision = routing.route(facts, active)  # the rule set always ends with a catch-all
        queue = db.session.get(Queue, decision.queue_id)
    status = 422 if form.errors else 200
    return render_template(
        "staff/admin_rule_test.html", form=form, decision=decision, queue=queue, describe=routing.describe
    ), status


ROUTES = (
    ("/queues", queues, ("GET", "POST")),
    ("/queues/<int:queue_id>", edit_queue, ("GET", "POST")),
    ("/queues/<int:queue_id>/toggle", toggle_queue, ("POST",)),
    ("/routing", rules, ("GET", "POST")),
    ("/routing/test", try_rules, ("GET",)),
    ("/routing/<int:rule_id>", edit_rule, ("GET", "POST")),
    ("/routing/<int:rule_id>/toggle", toggle_rule, ("POST",)),
    ("/routing/<int:rule_id>/<any(up, down):direction>", move_rule, ("POST",)),
)


def register(bp: Blueprint) -> None:
    for rule, view, methods in ROUTES:
        bp.add_url_rule(rule, view_func=view, methods=list(methods))
