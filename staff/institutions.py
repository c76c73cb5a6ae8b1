"""The register of institutions: administrators keep it, staff link the cases they work to it,
supervisors see which institutions come up most, and an institution's page lists its cases
(only those the viewer may see; counts over all queues protected for anyone but a supervisor)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from cases import access, commands, institutions, stats
from cases.categories import CATEGORIES, REGION_LABELS
from cases.disclosure import TOTAL
from cases.models import Institution
from cases.refusals import Refused
from cases.vocabulary import CASE_ROLES, INSTITUTION_TYPE_TITLES, Role
from staff.forms import InstitutionForm
from staff.gate import id_or_none, recent_auth, roles
from staff.periods import day_arg, office_today
from staff.views import ACTED_ON, refusal_text
from storage import db

bp = Blueprint("institutions", __name__)


def _locale() -> str:
    return str(get_locale() or "kk")


# --- the register (administrators) ---------------------------------------------------------------


@bp.route("/staff/admin/institutions", methods=["GET", "POST"])
@roles(Role.ADMIN)
@recent_auth(writes_only=True, back="institutions.register")
def register():
    """Every institution, and a form for a new one."""
    form = InstitutionForm()
    if form.validate_on_submit():
        try:
            row = commands.create_institution(
                form.name.data, form.translations(), form.kind.data, form.region.data, by=current_user
            )
        except Refused as exc:
            form.name.errors = [*form.name.errors, _(exc.template, **exc.params)]
        else:
            flash(_("%(name)s added to the register.", name=row.name), "success")
            return redirect(url_for("institutions.register"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "staff/institutions_register.html",
        institutions=institutions.register(),
        form=form,
        types=INSTITUTION_TYPE_TITLES,
        regions=REGION_LABELS,
    ), status


@bp.route("/staff/admin/institutions/<int:institution_id>", methods=["GET", "POST"])
@roles(Role.ADMIN)
@recent_auth(writes_only=True, back="institutions.register")
def edit(institution_id: int):
    row = db.get_or_404(Institution, institution_id)
    form = InstitutionForm(obj=row)
    if form.validate_on_submit():
        try:
            commands.edit_institution(
                row.id, form.name.data, form.translations(), form.kind.data, form.region.data, by=current_user
            )
        except commands.NotFound:
            abort(404)
        except Refused as exc:
            form.name.errors = [*form.name.errors, _(exc.template, **exc.params)]
        else:
            flash(_("Institution saved."), "success")
            return redirect(url_for("institutions.register"))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/institution_edit.html", institution=row, form=form), status


def _admin_action(call, success: str):
    try:
        call()
    except commands.NotFound:
        abort(404)
    except Refused as exc:
        flash(_(exc.template, **exc.params), "error")
    else:
        flash(success, "success")
    return redirect(url_for("institutions.register"))


@bp.post("/staff/admin/institutions/<int:institution_id>/toggle")
@roles(Role.ADMIN)
@recent_auth(back="institutions.register")
def toggle(institution_id: int):
    row = db.get_or_404(Institution, institution_id)
    active = not row.active
    return _admin_action(
        lambda: commands.set_institution_active(row.id, active, by=current_user),
        _("Institution switched on.") if active else _("Institution switched off: it is no longer offered."),
    )


@bp.post("/staff/admin/institutions/<int:institution_id>/delete")
@roles(Role.ADMIN)
@recent_auth(back="institutions.register")
def delete(institution_id: int):
    return _admin_action(
        lambda: commands.delete_institution(institution_id, by=current_user), _("Institution deleted.")
    )


# --- links from a case ---------------------------------------------------------------------------


def _on_case(case_id: int, call, success: str):
    """Run a command on a case the viewer may see (else 404) and go back to the case page."""
    if access.visible_case(db.session, current_user, case_id) is None:
        abort(404)
    try:
        call()
    except commands.NotFound:
        abort(404)
    except Refused as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(success, "success")
        session[ACTED_ON] = case_id
    return redirect(url_for("staff.case", case_id=case_id, _anchor="institutions-title"))


@bp.post("/staff/cases/<int:case_id>/institutions")
@roles(*CASE_ROLES)
def link(case_id: int):
    institution_id = id_or_none(request.form.get("institution"))
    return _on_case(
        case_id, lambda: commands.link_institution(case_id, current_user, institution_id), _("Institution linked.")
    )


@bp.post("/staff/cases/<int:case_id>/institutions/<int:institution_id>/remove")
@roles(*CASE_ROLES)
def unlink(case_id: int, institution_id: int):
    return _on_case(
        case_id,
        lambda: commands.unlink_institution(case_id, current_user, institution_id),
        _("Link to the institution removed."),
    )


# --- an institution's page (case workers and supervisors) ----------------------------------------


@bp.get("/staff/institutions/<int:institution_id>")
@roles(*CASE_ROLES)
def institution(institution_id: int):
    row = db.get_or_404(Institution, institution_id)
    cases, more = institutions.cases_of(row.id, current_user, id_or_none(request.args.get("before")))
    return render_template(
        "staff/institution.html",
        institution=row,
        cases=cases,
        more=more,
        counts=institutions.counts_of(row.id, current_user, current_app.config["STATS_THRESHOLD"]),
        row_key=institutions.ROW,
        total=TOTAL,
        categories=CATEGORIES,
        types=INSTITUTION_TYPE_TITLES,
        regions=REGION_LABELS,
        small=current_app.config["STATS_THRESHOLD"] - 1,
    )


# --- the supervisors' ranking --------------------------------------------------------------------


def _filter() -> institutions.Filter:
    """The ranking's filters from the query string; the last 365 days by default."""
    today = office_today()
    return institutions.Filter(
        since=day_arg("since", today - timedelta(days=364)),
        until=day_arg("until", today),
        kind=request.args.get("kind", "")[:32],
        region=request.args.get("region", "")[:32],
        category=request.args.get("category", "")[:32],
    )


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["OFFICE_TIMEZONE"])


@bp.get("/staff/supervise/institutions")
@roles(Role.SUPERVISOR)
def ranking():
    """Institutions by the number of cases received in a period, a page at a time."""
    try:
        f = _filter()
        rows, more = institutions.ranking(f, _tz(), institutions.parse_cursor(request.args.get("after", "")))
        problem = None
    except stats.BadRequest as exc:
        f, rows, more, problem = None, [], None, _(exc.template, **exc.params)
    args = {k: v for k, v in request.args.items() if k != "after"}
    return render_template(
        "staff/institutions_ranking.html",
        f=f,
        rows=rows,
        more=more,
        problem=problem,
        args=args,
        categories=CATEGORIES,
        types=INSTITUTION_TYPE_TITLES,
        regions=REGION_LABELS,
    ), (400 if problem else 200)


@bp.get("/staff/supervise/institutions.csv")
@roles(Role.SUPERVISOR)
def ranking_csv():
    try:
        f = _filter()
        body = institutions.ranking_csv(f, _tz(), _, _locale())
    except stats.BadRequest as exc:
        return Response(_(exc.template, **exc.params), status=400, mimetype="text/plain")
    name = f"shagym-institutions-{f.since.isoformat()}-{f.until.isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
