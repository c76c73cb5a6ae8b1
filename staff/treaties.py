"""Administrators: the treaty provisions that statistics count reports under, and which
categories map to each (a starting point is seeded for a person to review)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import commands
from cases.categories import CATEGORIES, CATEGORY_BY_SLUG
from cases.models import CategoryProvision, TreatyProvision
from cases.refusals import Refused
from cases.vocabulary import Role
from staff.forms import ProvisionForm
from staff.gate import id_or_none, recent_auth
from storage import db

bp = Blueprint("treaties", __name__, url_prefix="/staff/admin/treaties")


@bp.before_request
def _admins_only():
    if current_user.role != Role.ADMIN:
        abort(403)


def _page(form: ProvisionForm, status: int = 200):
    provisions = db.session.scalars(select(TreatyProvision).order_by(TreatyProvision.treaty, TreatyProvision.id)).all()
    mapped: dict[str, set[int]] = {}
    for category, provision_id in db.session.execute(
        select(CategoryProvision.category, CategoryProvision.provision_id)
    ):
        mapped.setdefault(category, set()).add(provision_id)
    return render_template(
        "staff/treaties.html", provisions=provisions, mapped=mapped, categories=CATEGORIES, form=form
    ), status


@bp.route("/", methods=["GET", "POST"])
@recent_auth(writes_only=True, back="treaties.index")
def index():
    """The provisions and the categories' mapping; a POST adds a provision."""
    form = ProvisionForm()
    if request.method == "GET":
        return _page(form)
    if form.validate():
        try:
            provision = commands.add_provision(form.treaty.data, form.article.data, form.title.data, by=current_user)
        except Refused as exc:
            flash(_(exc.template, **exc.params), "error")
            return _page(form, 422)
        flash(_("%(code)s added.", code=provision.code), "success")
        return redirect(url_for("treaties.index"))
    return _page(form, 422)


@bp.post("/<category>")
@recent_auth(writes_only=True, back="treaties.index")
def map_category(category: str):
    if category not in CATEGORY_BY_SLUG:
        abort(404)
    ids = [i for i in (id_or_none(v) for v in request.form.getlist("provision")) if i is not None]
    try:
        codes = commands.map_provisions(category, ids, by=current_user)
    except commands.NotFound:
        abort(404)
    flash(
        _(
            "Provisions of %(category)s: %(codes)s.",
            category=_(CATEGORY_BY_SLUG[category].name),
            codes=", ".join(codes) or _("no provision"),
        ),
        "success",
    )
    return redirect(url_for("treaties.index"))
