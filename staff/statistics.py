"""Supervisors: de-identified statistics — the table on a page, as CSV and XLSX, and a printable
report (HTML and PDF) with the methodology note, in the reader's language.

Every output is made from the one protected table ``stats.cross_table`` returns; the page, the
files and the report only format it, so none of them can show a value the others hide. The
period and the breakdown are read and checked in one place (``_request``): a bad one is a 400
with the reason, in every output. Like the CSV, these downloads hold counts only (no case, no
person), so they are not audit events; case-list exports are (staff/supervise.py).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from cases import stats, stats_files
from cases.disclosure import TOTAL
from cases.vocabulary import Role
from i18n import N_
from staff.periods import day_arg, office_today
from web import errors, printing

bp = Blueprint("statistics", __name__, url_prefix="/staff/supervise")

TITLE = N_("Statistics of reports received")
# Past this many columns a printed table turns the page sideways; a table with more columns than
# that and than rows is shown turned instead (its columns down the page).
UPRIGHT_COLUMNS = 8
TURNED = N_("A table with more columns than rows is shown turned: what it counts across, it counts down the page.")


@bp.before_request
def _supervisors_only():
    if current_user.role != Role.SUPERVISOR:
        abort(403)


def _request() -> stats.Request:
    """The table asked for in the query string; the current year so far by default.
    A malformed date is ``stats.BadRequest`` here; an impossible table, in ``cross_table``."""
    today = office_today()
    return stats.Request(
        rows=request.args.get("rows", "category"),
        cols=request.args.get("cols", "outcome"),
        since=day_arg("since", today.replace(month=1, day=1)),
        until=day_arg("until", today),
    )


def _table(req: stats.Request) -> stats.Table:
    cfg = current_app.config
    return stats.cross_table(
        req, ZoneInfo(cfg["OFFICE_TIMEZONE"]), cfg["STATS_THRESHOLD"], cfg["STATS_ROUND_TO"] or None
    )


def _reason(exc: stats.BadRequest) -> str:
    return _(exc.template, **exc.params)


def _note(table: stats.Table) -> str:
    """The method note of a file, in one paragraph (dates as YYYY-MM-DD, like the file's name)."""
    return " ".join(stats_files.method(table, _, date.isoformat))


def _name(table: stats.Table, ext: str) -> str:
    r = table.request
    return f"shagym-{r.rows}-by-{r.cols}-{r.since.isoformat()}-{r.until.isoformat()}.{ext}"


def _attachment(data: bytes | str, mimetype: str, name: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/statistics")
def index():
    """A de-identified cross-table of reports: small counts and what would reveal them hidden."""
    try:
        table, problem = _table(_request()), None
    except stats.BadRequest as exc:
        table, problem = None, _reason(exc)
    return render_template(
        "staff/statistics.html",
        table=table,
        problem=problem,
        dimensions=stats.DIMENSIONS,
        args=request.args,
        lines=stats_files.method(table, _, format_date, stats_files.PAGE_HIDDEN_SAYS) if table else [],
        total=TOTAL,
    ), (400 if problem else 200)


@bp.get("/statistics.csv")
def table_csv():
    try:
        table = _table(_request())
    except stats.BadRequest as exc:
        return Response(_reason(exc), status=400, mimetype="text/plain")
    return _attachment(stats_files.to_csv(table, _, _note(table)), "text/csv", _name(table, "csv"))


@bp.get("/statistics.xlsx")
def table_xlsx():
    """The same cells as the CSV in a workbook, with a second sheet for the method."""
    try:
        table = _table(_request())
    except stats.BadRequest as exc:
        return Response(_reason(exc), status=400, mimetype="text/plain")
    about = stats_files.facts(table, _, date.isoformat, _now())
    data = stats_files.to_xlsx(table, _, _note(table), _(TITLE), about, stats_files.method(table, _, date.isoformat))
    return _attachment(data, stats_files.XLSX_MIMETYPE, _name(table, "xlsx"))


def _now() -> datetime:
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"]))


def _report() -> dict:
    """What the report shows: the table asked for and, unless it already counts by treaty
    provision, the same columns by provision; the facts; the method for both."""
    req = _request()
    tables = [_table(req)]
    if "provision" not in (req.rows, req.cols):
        tables.append(_table(stats.Request("provision", req.cols, req.since, req.until)))
    # A table wider than it is long is shown turned (21 regions do not fit across a page).
    shown = [stats.turned(t) if len(t.cols) > max(len(t.rows), UPRIGHT_COLUMNS) else t for t in tables]
    lines = stats_files.method(tables[-1], _, format_date, stats_files.PAGE_HIDDEN_SAYS)
    if shown != tables:
        lines.append(_(TURNED))
    return {
        "tables": shown,
        "about": stats_files.facts(shown[0], _, format_date, _now()),
        # The last table counts by provision, so its method says what such a count means.
        "lines": lines,
        "wide": any(len(t.cols) > UPRIGHT_COLUMNS for t in shown),
    }


def _report_page(**context):
    return render_template(
        "staff/statistics_report.html",
        title=_(TITLE),
        dimensions=stats.DIMENSIONS,
        args=request.args,
        total=TOTAL,
        **context,
    )


@bp.get("/statistics/report")
def report():
    """The printable report: the browser's print leaves out the menus and the form."""
    try:
        context, problem = _report(), None
    except stats.BadRequest as exc:
        context, problem = {"tables": []}, _reason(exc)
    return _report_page(problem=problem, **context), (400 if problem else 200)


@bp.get("/statistics/report.pdf")
def report_pdf():
    """The report as a PDF (the same template as the page, without the page around it)."""
    try:
        context = _report()
    except stats.BadRequest as exc:
        return errors.page(400, _("These statistics cannot be made"), _reason(exc))
    if not printing.available():
        return errors.page(
            503,
            _("PDF is not available on this server"),
            _(
                "This server cannot draw PDF files (it lacks the Pango library). The printable report "
                "still works: open it and print it, or save it as PDF from the browser's print dialogue."
            ),
            link=(url_for("statistics.report", **request.args), _("Open the printable report")),
        )
    html = render_template(
        "staff/statistics_report_document.html",
        title=_(TITLE),
        dimensions=stats.DIMENSIONS,
        total=TOTAL,
        plain_mark=True,
        **context,
    )
    pdf = printing.pdf_from_html(html, title=_(TITLE), language=str(get_locale() or "kk"))
    return _attachment(pdf, "application/pdf", _name(context["tables"][0], "pdf"))
