"""Supervisors: activity across cases, the audit check, access approvals, late cases, statistics,
the tag vocabulary and reply templates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import audit, commands, history, queries, related, replies, stats, triage
from cases.disclosure import TOTAL
from cases.models import Checkpoint, Queue, ReplyTemplate, Tag, User
from cases.refusals import Refused
from cases.vocabulary import ACTION_TITLES, CASE_ACTIONS, Role
from i18n import N_
from staff.forms import TagForm, TagNamesForm, TemplateForm
from staff.gate import id_or_none
from storage import db

bp = Blueprint("supervise", __name__, url_prefix="/staff/supervise")

# The activity page filters by the actions of case chains (account changes are in the system chain).
ACTIONS = tuple(a.value for a in CASE_ACTIONS)


@bp.before_request
def _supervisors_only():
    if current_user.role != Role.SUPERVISOR:
        abort(403)


def _date(name: str) -> datetime | None:
    """A date (or date and time) typed in the office's time zone, as UTC; None if absent or malformed.

    The page shows times in that zone, so "from 3 March" means from midnight there, not in UTC.
    """
    raw = request.args.get(name, "")
    if not raw or len(raw) > 40:
        return None
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(current_app.config["OFFICE_TIMEZONE"]))
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # malformed, or out of range once moved to UTC (0001-01-01)
        return None


@bp.get("/activity")
def activity():
    f = queries.ActivityFilter(
        actor=id_or_none(request.args.get("actor")),
        action=request.args.get("action", "") if request.args.get("action") in ACTIONS else "",
        queue=id_or_none(request.args.get("queue")),
        since=_date("since"),
        until=_date("until"),
    )
    events, before = queries.activity_page(f, id_or_none(request.args.get("before")))
    users = db.session.scalars(select(User).order_by(User.name)).all()
    queues = db.session.scalars(select(Queue).order_by(Queue.name)).all()
    entries = history.entries(events, queries.history_labels(events))
    return render_template(
        "staff/activity.html",
        entries=entries,
        before=before,
        f=f,
        users=users,
        queues=queues,
        actions=ACTIONS,
        action_titles=ACTION_TITLES,
    )


@bp.get("/escalations")
def escalations():
    """Open cases late on a service level, the most late first: late for a first response, and
    late for resolution (both clocks paused while awaiting the reporter)."""
    queue_id = id_or_none(request.args.get("queue"))
    queues = db.session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.name)).all()
    now = datetime.now(UTC)
    return render_template(
        "staff/escalations.html",
        late=triage.late_cases(now, queue_id),
        queues=queues,
        queue_id=queue_id,
        now=now,
    )


def _stats_request() -> stats.Request:
    """The table asked for in the query string; the current year so far by default."""
    tz = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    today = datetime.now(tz).date()

    def day(name: str, default):
        raw = request.args.get(name, "")
        if not raw:
            return default
        try:
            return datetime.strptime(raw[:10], "%Y-%m-%d").date()
        except ValueError as exc:
            raise stats.BadRequest(N_("Write dates as YYYY-MM-DD.")) from exc

    return stats.Request(
        rows=request.args.get("rows", "category"),
        cols=request.args.get("cols", "outcome"),
        since=day("since", today.replace(month=1, day=1)),
        until=day("until", today),
    )


def _stats_table() -> stats.Table:
    cfg = current_app.config
    return stats.cross_table(
        _stats_request(), ZoneInfo(cfg["OFFICE_TIMEZONE"]), cfg["STATS_THRESHOLD"], cfg["STATS_ROUND_TO"] or None
    )


@bp.get("/statistics")
def statistics():
    """A de-identified cross-table of reports: small counts and what would reveal them hidden."""
    try:
        table, problem = _stats_table(), None
    except stats.BadRequest as exc:
        table, problem = None, _(exc.template, **exc.params)
    return render_template(
        "staff/statistics.html",
        table=table,
        problem=problem,
        dimensions=stats.DIMENSIONS,
        args=request.args,
        method=stats.METHOD,
        rounded=stats.ROUNDED,
        by_provision=stats.BY_PROVISION,
        small=current_app.config["STATS_THRESHOLD"] - 1,
        total=TOTAL,
    ), (400 if problem else 200)


@bp.get("/statistics.csv")
def statistics_csv():
    try:
        table = _stats_table()
    except stats.BadRequest as exc:
        return Response(_(exc.template, **exc.params), status=400, mimetype="text/plain")
    r = table.request
    name = f"shagym-{r.rows}-by-{r.cols}-{r.since.isoformat()}-{r.until.isoformat()}.csv"
    cfg = current_app.config
    note = " ".join(
        [
            _(stats.METHOD, since=r.since.isoformat(), until=r.until.isoformat(), small=cfg["STATS_THRESHOLD"] - 1),
            _("“x” marks a hidden value."),
            _(stats.ROUNDED, base=cfg["STATS_ROUND_TO"]) if cfg["STATS_ROUND_TO"] else "",
            _(stats.BY_PROVISION) if "provision" in (r.rows, r.cols) else "",
        ]
    ).strip()
    return Response(
        stats.to_csv(table, _, note),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/audit")
def audit_status():
    checkpoints = db.session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(20)).all()
    public = current_app.extensions["shagym_signing_key"].public_key()
    return render_template("staff/audit.html", checkpoints=checkpoints, key_id=audit.key_id(public))


@bp.get("/approvals")
def approvals():
    """Grants of case access that an administrator asked for: a supervisor approves or refuses each."""
    return render_template("staff/approvals.html", requests=queries.pending_access())


@bp.post("/approvals/<int:request_id>/<any(approve, refuse):decision>")
def decide(request_id: int, decision: str):
    try:
        commands.decide_access(request_id, decision == "approve", current_user)
    except commands.NotFound:
        abort(404)
    except Refused as exc:
        flash(_(exc.template), "error")
    else:
        flash(_("Access approved.") if decision == "approve" else _("Access refused."), "success")
    return redirect(url_for("supervise.approvals"))


def _attempt(call) -> bool:
    """Run a command; a refusal is flashed in the reader's language."""
    try:
        call()
    except Refused as exc:
        flash(_(exc.template, **exc.params), "error")
        return False
    return True


@bp.route("/tags", methods=["GET", "POST"])
def tags():
    """The tag vocabulary: every tag, and a form for a new one."""
    form = TagForm()
    if form.validate_on_submit():
        if _attempt(lambda: commands.create_tag(form.slug.data, form.names(), by=current_user)):
            flash(_("Tag created."), "success")
            return redirect(url_for("supervise.tags"))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/tags.html", tags=related.all_tags(), form=form), status


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
def tag(tag_id: int):
    """One tag: new names (its short name stays), and switching it off or on."""
    row = db.get_or_404(Tag, tag_id)
    form = TagNamesForm(obj=row)
    if form.validate_on_submit():
        try:
            commands.rename_tag(row.id, form.names(), by=current_user)
        except commands.NotFound:
            abort(404)
        except Refused as exc:
            flash(_(exc.template, **exc.params), "error")
        else:
            flash(_("Tag renamed."), "success")
            return redirect(url_for("supervise.tags"))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/tag.html", tag=row, form=form), status


@bp.post("/tags/<int:tag_id>/toggle")
def toggle_tag(tag_id: int):
    row = db.get_or_404(Tag, tag_id)
    active = not row.active
    if _attempt(lambda: commands.set_tag_active(row.id, active, by=current_user)):
        flash(_("Tag switched on.") if active else _("Tag switched off: it is no longer offered."), "success")
    return redirect(url_for("supervise.tags"))


# --- reply templates ------------------------------------------------------------------------


@bp.get("/templates")
def templates():
    return render_template("staff/templates.html", templates=queries.reply_templates())


@bp.route("/templates/new", methods=["GET", "POST"])
def new_template():
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            commands.create_template(form.name.data, form.language.data, form.body.data, current_user)
        except commands.TemplateProblem as exc:
            _refused(form, exc)
        else:
            flash(_("Template saved."), "success")
            return redirect(url_for("supervise.templates"))
    return _template_page(form, None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def edit_template(template_id: int):
    template = db.get_or_404(ReplyTemplate, template_id)
    form = TemplateForm(obj=template)
    if form.validate_on_submit():
        try:
            commands.edit_template(template.id, form.name.data, form.language.data, form.body.data, current_user)
        except commands.NotFound:
            abort(404)
        except commands.TemplateProblem as exc:
            _refused(form, exc)
        else:
            flash(_("Template saved."), "success")
            return redirect(url_for("supervise.templates"))
    return _template_page(form, template)


def _refused(form: TemplateForm, exc: commands.TemplateProblem) -> None:
    """The command's refusal shown at the field it is about, like the form's own checks."""
    field = getattr(form, exc.field)
    field.errors = [*field.errors, _(exc.template, **exc.params)]


def _template_page(form: TemplateForm, template: ReplyTemplate | None):
    """The form (new or edit) with the placeholders explained; 422 when what was sent is refused."""
    status = 422 if request.method == "POST" else 200
    return render_template(
        "staff/template_form.html",
        form=form,
        template=template,
        placeholders=replies.PLACEHOLDERS,
        body_max=replies.BODY_MAX,
    ), status


@bp.post("/templates/<int:template_id>/toggle")
def toggle_template(template_id: int):
    try:
        active = commands.toggle_template(template_id, current_user)
    except commands.NotFound:
        abort(404)
    flash(
        _("Template offered again.") if active else _("Template deactivated: case workers no longer see it."), "success"
    )
    return redirect(url_for("supervise.templates"))
