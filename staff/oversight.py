"""Supervisors: the dashboard — figures for a period and filters, each chart beside a table with
the same numbers and a CSV of them. Case-worker figures are here because only supervisors see it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import dashboard, referral_queries, stats
from cases.categories import CATEGORIES, CATEGORY_BY_SLUG, REGION_LABELS
from cases.models import Queue
from cases.vocabulary import CHANNEL_TITLES, Priority, Role
from staff.gate import id_or_none
from staff.periods import day_arg, office_today
from storage import db

bp = Blueprint("oversight", __name__, url_prefix="/staff/supervise")

FIGURES = ("weeks", "outcomes", "regions", "queues", "workers", "referrals")


@bp.before_request
def _supervisors_only():
    if current_user.role != Role.SUPERVISOR:
        abort(403)


def _filters() -> dashboard.Filters:
    """The dashboard's filters from the query string; the last 12 weeks by default."""
    today = office_today()
    priority = request.args.get("priority", "")
    category, region = request.args.get("category", ""), request.args.get("region", "")
    return dashboard.Filters(
        since=day_arg("since", today - timedelta(weeks=12) + timedelta(days=1)),
        until=day_arg("until", today),
        queue_id=id_or_none(request.args.get("queue")),
        category=category if category in CATEGORY_BY_SLUG else "",
        region=region if region in REGION_LABELS else "",
        channel=request.args.get("channel", ""),
        priority=int(priority) if priority.isdigit() else None,
    )


def _build() -> dashboard.Dashboard:
    board = dashboard.build(_filters(), ZoneInfo(current_app.config["OFFICE_TIMEZONE"]), datetime.now(UTC))
    board.extra["referrals"] = referral_queries.per_body(board.filters, office_today())
    return board


@bp.get("/dashboard")
def index():
    try:
        board, problem = _build(), None
    except stats.BadRequest as exc:
        board, problem = None, _(exc.template, **exc.params)
    return render_template(
        "staff/dashboard.html",
        board=board,
        problem=problem,
        args=request.args,
        queues=db.session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.name)).all(),
        categories=CATEGORIES,
        regions=REGION_LABELS,
        channels=CHANNEL_TITLES,
        priorities=list(Priority),
        outcomes=stats.OUTCOMES,
    ), (400 if problem else 200)


def _rows(board: dashboard.Dashboard, figure: str) -> list[list]:
    if figure == "weeks":
        return [[_("Week from"), _("Received"), _("Resolved"), _("Open at the end")]] + [
            [w.start.isoformat(), w.received, w.resolved, w.backlog] for w in board.weeks
        ]
    if figure == "outcomes":
        return [[_("Outcome"), _("Cases")]] + [[_(title), board.outcomes[k]] for k, title in stats.OUTCOMES.items()]
    if figure == "regions":
        return [[_("Region"), _("Received")]] + [[_(REGION_LABELS.get(r, r)), n] for r, n in board.by_region]
    if figure == "queues":
        return [[_("Queue"), _("Open"), _("Unassigned"), _("Late")]] + [
            [_(q.name), n, u, late] for q, n, u, late in board.per_queue
        ]
    if figure == "referrals":
        return [[_("Partner body"), _("Sent"), _("Answered"), _("Median answer time (days)"), _("Overdue now")]] + [
            [
                r.partner.name(str(get_locale() or "kk")),
                r.sent,
                r.answered,
                "" if r.median_days is None else r.median_days,
                r.overdue,
            ]
            for r in board.extra["referrals"]
        ]
    return [[_("Case worker"), _("Open cases held"), _("Late")]] + [list(r) for r in board.per_worker]


@bp.get("/dashboard/<figure>.csv")
def figure_csv(figure: str):
    """The numbers of one chart or table of the dashboard, for the same period and filters."""
    if figure not in FIGURES:
        abort(404)
    try:
        board = _build()
    except stats.BadRequest as exc:
        return Response(_(exc.template, **exc.params), status=400, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    for row in _rows(board, figure):
        # Names and labels are ours or staff names; still, nothing a spreadsheet would run.
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for v in row])
    f = board.filters
    name = f"shagym-{figure}-{f.since.isoformat()}-{f.until.isoformat()}.csv"
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
