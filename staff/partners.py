"""Administrators: the partner bodies that cases are referred to, on the ``staff_admin`` blueprint
(``register`` adds these views to it). Reading needs no password again; every change does."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from cases import commands
from cases.categories import CATEGORIES, REGION_LABELS, REGIONS
from cases.models import PartnerBody, Referral
from cases.vocabulary import PARTNER_KIND_TITLES
from staff.gate import recent_auth
from staff.office import attempt
from staff.referral_forms import PartnerForm
from storage import db


def _form(body: PartnerBody | None = None) -> PartnerForm:
    if body is None or request.method == "POST":
        form = PartnerForm()
    else:
        form = PartnerForm(
            data={
                "name_kk": body.name_kk,
                "name_ru": body.name_ru,
                "name_en": body.name_en,
                "kind": body.kind,
                "region": body.region or "",
                "contact": body.contact,
                "categories": body.category_slugs,
                "answer_days": body.answer_days,
            }
        )
    form.region.choices = [("", _("The whole country")), *((slug, _(label)) for slug, label in REGIONS)]
    form.categories.choices = [(c.slug, _(c.name)) for c in CATEGORIES]
    return form


def _values(form: PartnerForm) -> commands.PartnerValues:
    return commands.PartnerValues(
        names={"kk": form.name_kk.data or "", "ru": form.name_ru.data or "", "en": form.name_en.data or ""},
        kind=form.kind.data or "",
        region=form.region.data or None,
        contact=form.contact.data or "",
        categories=list(form.categories.data or []),
        answer_days=form.answer_days.data,
    )


@recent_auth(writes_only=True, back="staff_admin.partners")
def partners():
    form = _form()
    status = 200
    if form.is_submitted():
        if form.validate() and attempt(lambda: commands.create_partner(_values(form), by=current_user))[0]:
            flash(_("Partner body added."), "success")
            return redirect(url_for("staff_admin.partners"))
        status = 422
    bodies = db.session.scalars(select(PartnerBody).order_by(PartnerBody.active.desc(), PartnerBody.name_en)).all()
    used = dict(db.session.execute(select(Referral.partner_id, func.count()).group_by(Referral.partner_id)).all())
    return render_template(
        "staff/admin_partners.html",
        bodies=bodies,
        used=used,
        form=form,
        kinds=PARTNER_KIND_TITLES,
        regions=REGION_LABELS,
    ), status


@recent_auth(writes_only=True, back="staff_admin.partners")
def edit_partner(partner_id: int):
    body = db.get_or_404(PartnerBody, partner_id)
    form = _form(body)
    status = 200
    if form.is_submitted():
        if form.validate() and attempt(lambda: commands.edit_partner(body, _values(form), by=current_user))[0]:
            flash(_("Partner body saved."), "success")
            return redirect(url_for("staff_admin.partners"))
        status = 422
    used = db.session.scalar(select(func.count(Referral.id)).where(Referral.partner_id == body.id))
    return render_template("staff/admin_partner.html", body=body, form=form, used=used), status


@recent_auth(back="staff_admin.partners")
def toggle_partner(partner_id: int):
    body = db.get_or_404(PartnerBody, partner_id)
    active = not body.active
    if attempt(lambda: commands.set_partner_active(body, active, by=current_user))[0]:
        flash(_("Partner body switched on.") if active else _("Partner body switched off."), "success")
    return redirect(url_for("staff_admin.partners"))


@recent_auth(back="staff_admin.partners")
def delete_partner(partner_id: int):
    body = db.get_or_404(PartnerBody, partner_id)
    if attempt(lambda: commands.delete_partner(body, by=current_user))[0]:
        flash(_("Partner body deleted."), "success")
    return redirect(url_for("staff_admin.partners"))


ROUTES = (
    ("/partners", partners, ("GET", "POST")),
    ("/partners/<int:partner_id>", edit_partner, ("GET", "POST")),
    ("/partners/<int:partner_id>/toggle", toggle_partner, ("POST",)),
    ("/partners/<int:partner_id>/delete", delete_partner, ("POST",)),
)


def register(bp: Blueprint) -> None:
    for rule, view, methods in ROUTES:
        bp.add_url_rule(rule, view_func=view, methods=list(methods))
