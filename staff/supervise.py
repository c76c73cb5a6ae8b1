"""Supervisors: activity across cases, access analytics, the audit check, access approvals, late
cases, exports, the tag vocabulary and reply templates (statistics: staff/statistics.py)."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import access_review, audit, commands, exports, history, queries, related, replies, stats, triage
from cases.categories import CATEGORY_BY_SLUG, REGION_LABELS
from cases.models import Checkpoint, Queue, ReplyTemplate, Tag, User
from cases.refusals import Refused
from cases.vocabulary import ACTION_TITLES, CASE_ACTIONS, CHANNEL_TITLES, PRIORITY_TITLES, Channel, Priority, Role
from cases.workflow import Status
from i18n import N_
from staff.forms import ExportForm, TagForm, TagNamesForm, TemplateForm
from staff.gate import id_or_none, recent_auth
from staff.periods import day_arg, office_today
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


@bp.get("/access")
def access():
    """Who opened how many cases and files on which day, and the days to review (no case content)."""
    cfg = current_app.config
    today = office_today()
    try:
        since = day_arg("since", today - timedelta(days=access_review.DEFAULT_DAYS - 1))
        until = day_arg("until", today)
        report = queries.access_report(
            since,
            until,
            ZoneInfo(cfg["OFFICE_TIMEZONE"]),
            access_review.Night.parse(cfg["ACCESS_NIGHT"]),
            cfg["ACCESS_REVIEW_FACTOR"],
            cfg["ACCESS_REVIEW_FLOOR"],
        )
        problem = None
    except (stats.BadRequest, access_review.BadPeriod) as exc:
        report, problem = None, _(exc.template, **exc.params)

    def activity_of(actor_id: int, day: date) -> str:
        return url_for(
            "supervise.activity", actor=actor_id, since=day.isoformat(), until=(day + timedelta(days=1)).isoformat()
        )

    return render_template(
        "staff/access.html",
        report=report,
        problem=problem,
        args=request.args,
        activity_of=activity_of,
        reasons=access_review.REASONS,
        many=access_review.MANY,
        night=access_review.Night.parse(cfg["ACCESS_NIGHT"]),
        factor=cfg["ACCESS_REVIEW_FACTOR"],
        floor=cfg["ACCESS_REVIEW_FLOOR"],
        history_days=access_review.HISTORY_DAYS,
        max_days=access_review.MAX_DAYS,
    ), (400 if problem else 200)


# An export is written to memory up to this size, then to a temporary file on disk.
EXPORT_SPOOL_BYTES = 1 << 20


def _export_queue() -> Queue | None:
    """The queue named by ``?queue=<slug>`` (404 if there is none); None without one: all queues."""
    slug = request.args.get("queue", "")
    if not slug:
        return None
    queue = db.session.scalar(select(Queue).where(Queue.slug == slug[:64]))
    if queue is None:
        abort(404)
    return queue


def _filter_words(f: triage.QueueFilter) -> list[tuple[str, str]]:
    """The queue filter as the export page states it: (what, which), in the reader's language."""
    status = {"open": N_("All open"), "all": N_("Any status")}.get(f.status) or Status(f.status).title
    words = [(_("Status"), _(status))]
    if f.who != "anyone":
        words.append((_("Assigned"), _("To me") if f.who == "me" else _("Unassigned")))
    if f.overdue:
        words.append((_("Late"), _("Only late (first response or resolution)")))
    if f.category:
        words.append((_("Category"), _(CATEGORY_BY_SLUG[f.category].name)))
    if f.region:
        words.append((_("Region"), _(REGION_LABELS[f.region])))
    if f.priority is not None:
        words.append((_("Priority"), _(PRIORITY_TITLES[Priority(f.priority)])))
    if f.channel:
        words.append((_("Reached us by"), _(CHANNEL_TITLES[Channel(f.channel)])))
    if f.assignee is not None:
        who = db.session.get(User, f.assignee)
        words.append((_("Case worker"), who.name if who else f"#{f.assignee}"))
    return words


def _export_form() -> ExportForm:
    form = ExportForm(prefix="export")
    form.fields.choices = [(x.key, _(x.title)) for x in exports.FIELDS if not x.sensitive]
    form.sensitive.choices = [(x.key, _(x.title)) for x in exports.FIELDS if x.sensitive]
    form.format.choices = [(key, _(title)) for key, title in exports.FORMATS.items()]
    if request.method == "GET":
        form.fields.data = list(exports.DEFAULT_FIELDS)
    return form


@bp.route("/export", methods=["GET", "POST"])
@recent_auth
def export():
    """The cases a queue filter shows (the queue page's query string; no queue: all queues) as
    CSV or XLSX, with the fields ticked. The file is written in batches to a temporary file,
    hashed, recorded as an audit event, then sent from the file (see cases/exports.py)."""
    queue = _export_queue()
    f = triage.QueueFilter.parse(request.args, set(CATEGORY_BY_SLUG), set(REGION_LABELS))
    form = _export_form()
    problems: list[str] = []
    if form.validate_on_submit():
        choice = exports.Choice.of(
            [*(form.fields.data or []), *(form.sensitive.data or [])], form.format.data or "", form.reason.data or ""
        )
        bad = choice.problems()
        for problem in bad:
            getattr(form, problem.field).errors.append(_(problem.template, **problem.params))
        if not bad:
            sent = _export_file(queue, f, choice)
            if isinstance(sent, Response):
                return sent
            problems.append(sent)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "staff/export.html",
        form=form,
        queue=queue,
        f=f,
        words=_filter_words(f),
        problems=problems,
        max_rows=current_app.config["EXPORT_MAX_ROWS"],
    ), status


def _export_file(queue: Queue | None, f: triage.QueueFilter, choice: exports.Choice) -> Response | str:
    """The export as an attachment, or what refused it (in the reader's language)."""
    cfg = current_app.config
    now = datetime.now(UTC)
    tz = ZoneInfo(cfg["OFFICE_TIMEZONE"])
    out = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES)
    try:
        cases = exports.cases_in_batches(queue.id if queue else None, f, current_user, now)
        written = exports.write(
            out, choice, cases, exports.Cells(_, tz, now, exports.queue_titles()), cfg["EXPORT_MAX_ROWS"]
        )
        commands.record_export(current_user, queue, f, choice, written)
    except Refused as exc:
        out.close()
        return _(exc.template, **exc.params)
    except BaseException:
        out.close()
        raise
    name = f"shagym-cases-{queue.slug if queue else 'all'}-{now.astimezone(tz):%Y-%m-%d-%H%M}.{choice.fmt}"
    return send_file(
        out,
        mimetype=exports.MIMETYPES[choice.fmt],
        as_attachment=True,
        download_name=name,
        conditional=False,
        etag=False,
        max_age=0,
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
