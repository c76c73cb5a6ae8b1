"""Administrators: the service-level targets of each category (first response, resolution).

A change applies to cases filed or reopened afterwards; it is audited in the system chain and,
like every administrator's change, needs a recent password re-entry.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import commands
from cases.categories import CATEGORY_BY_SLUG
from cases.models import CategorySetting
from cases.refusals import Refused
from cases.vocabulary import Role
from staff.forms import ServiceLevelForm
from staff.gate import recent_auth
from storage import db

bp = Blueprint("service_levels", __name__, url_prefix="/staff/admin/service-levels")


@bp.before_request
def _admins_only():
    if current_user.role != Role.ADMIN:
        abort(403)


@bp.get("/")
def index():
    settings = db.session.scalars(select(CategorySetting).order_by(CategorySetting.position)).all()
    return render_template("staff/service_levels.html", settings=settings, categories=CATEGORY_BY_SLUG)


@bp.route("/<category>", methods=["GET", "POST"])
@recent_auth(writes_only=True, back="service_levels.index")
def edit(category: str):
    slug = category
    setting = db.session.get(CategorySetting, slug)
    if setting is None or slug not in CATEGORY_BY_SLUG:
        abort(404)
    form = ServiceLevelForm(obj=setting if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            commands.set_service_levels(
                slug,
                form.first_response_hours.data,
                form.first_response_working_days.data,
                form.resolution_working_days.data,
                by=current_user,
            )
        except Refused as exc:
            flash(_(exc.template, **exc.params), "error")
        else:
            flash(_("Service levels saved. They apply to cases that come in from now on."), "success")
            return redirect(url_for("service_levels.index"))
    status = 422 if form.errors else 200
    return render_template(
        "staff/service_level_edit.html", form=form, setting=setting, category=CATEGORY_BY_SLUG[slug]
    ), status
