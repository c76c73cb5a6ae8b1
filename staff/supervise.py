"""Supervisors: activity across cases, access analytics, statistics and the audit check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import access_review, audit, commands, history, queries, stats, triage
from cases.disclosure import TOTAL
from cases.models import Checkpoint, Queue, User
from cases.refusals import Refused
from cases.vocabulary import ACTION_TITLES, CASE_ACTIONS, Role
from i18n import N_
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


def _day(name: str, default: date) -> date:
    """A day from the query string (YYYY-MM-DD), ``default`` if absent; malformed: ``stats.BadRequest``."""
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        return datetime.strptime(raw[:10], "%Y-%m-%d").date()
    except ValueError as exc:
        raise stats.BadRequest(N_("Write dates as YYYY-MM-DD.")) from exc


def _office_today() -> date:
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


@bp.get("/access")
def access():
    """Who opened how many cases and files on which day, and the days to review (no case content)."""
    cfg = current_app.config
    today = _office_today()
    try:
        since = _day("since", today - timedelta(days=access_review.DEFAULT_DAYS - 1))
        until = _day("until", today)
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


def _stats_request() -> stats.Request:
    """The table asked for in the query string; the current year so far by default."""
    today = _office_today()
    return stats.Request(
        rows=request.args.get("rows", "category"),
        cols=request.args.get("cols", "outcome"),
        since=_day("since", today.replace(month=1, day=1)),
        until=_day("until", today),
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
