"""Public views: thin. Parse the form, call the case service, render."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from cases import commands, evidence, queries, receipts, stats
from cases.categories import CATEGORIES
from cases.disclosure import TOTAL
from extensions import limiter
from i18n import LANGUAGES
from intake import language as switcher
from intake import track
from intake.forms import ReportForm, local_today
from intake.uploads import evidence_limits, report_limit, track_limit, uploaded_files
from storage import writes_on_get
from web import errors
from web.cache import TTLCache
from web.headers import shareable
from web.redirects import local_path

bp = Blueprint("intake", __name__)
# The receipt file's name: neutral, so a shared phone's downloads do not tell what it is.
RECEIPT_FILENAME = "note.txt"
PUBLIC_STATISTICS = "shagym_public_statistics"


@bp.record_once
def _statistics_cache(state) -> None:
    state.app.extensions[PUBLIC_STATISTICS] = TTLCache()


@bp.get("/")
def index():
    return render_template("intake/index.html")


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(report_limit, methods=["POST"])
def report():
    switch = switcher.requested()
    if switch:
        return switcher.render_in(switch, _report_again)
    form = ReportForm()
    if request.method == "GET":
        form.submission_token.data = secrets.token_urlsafe(24)
    file_problems: list[str] = []
    if form.is_submitted():
        accepted, refused = evidence.check_batch(uploaded_files(), evidence_limits())
        file_problems = [_(r.template, **r.params) for r in refused]
    if form.validate_on_submit() and not file_problems:
        try:
            filed = commands.file_report(
                form.new_report(),
                current_app.extensions["shagym_receipt_key"],
                form.submission_token.data or None,
                accepted,
            )
        except commands.DuplicateSubmission:
            # The answer to the first sending may never have arrived: within a short window the
            # same form gets a fresh receipt (the first code stops working), later a plain 409.
            window = timedelta(minutes=current_app.config["RECEIPT_REISSUE_MINUTES"])
            try:
                filed = commands.reissue_receipt(
                    form.submission_token.data or "", current_app.extensions["shagym_receipt_key"], window
                )
            except commands.DuplicateSubmission:
                return render_template("intake/duplicate.html"), 409
        # Shown exactly once, in the answer to the POST: the receipt is in no URL and no cache.
        return render_template(
            "intake/receipt.html", filed=filed, receipt=filed.receipt, speakable=receipts.speakable(filed.receipt)
        )
    status = 422 if request.method == "POST" else 200
    return render_template(
        "intake/report.html", form=form, categories=CATEGORIES, file_problems=file_problems, limits=evidence_limits()
    ), status


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """The CSRF token was missing or expired: the report form comes back with everything typed;
    other intake forms get the site-wide page."""
    if request.endpoint != "intake.report":
        return errors.csrf_expired(error)
    return csrf_failed_report()


@bp.errorhandler(OperationalError)
def store_failed(error: OperationalError):
    """The database is down, restarting or full: the report form comes back with everything typed
    and no receipt (nothing was stored); other intake pages get the site-wide 503."""
    if request.endpoint != "intake.report" or request.method != "POST":
        return errors.unavailable(error)
    errors.storage_failed(error)
    form = ReportForm(meta={"csrf": False})
    return (
        render_template(
            "intake/report.html", form=form, categories=CATEGORIES, not_stored=True, limits=evidence_limits()
        ),
        503,
        {"Retry-After": str(errors.RETRY_SECONDS)},
    )


def _report_again() -> str:
    """The form in another language with everything typed; nothing is checked or stored."""
    form = ReportForm()
    form.submission_token.data = form.submission_token.data or secrets.token_urlsafe(24)
    files_again = any(f and f.filename for f in request.files.getlist("evidence"))
    return render_template(
        "intake/report.html", form=form, categories=CATEGORIES, limits=evidence_limits(), files_again=files_again
    )


def csrf_failed_report():
    """Show the report form again with everything typed (nothing is stored)."""
    form = ReportForm(meta={"csrf": False})
    form.validate()
    form.submission_token.data = form.submission_token.data or secrets.token_urlsafe(24)
    return render_template(
        "intake/report.html", form=form, categories=CATEGORIES, csrf_expired=True, limits=evidence_limits()
    ), 400


def _receipt_case():
    """The case the posted receipt belongs to, or 404: the code comes back in the POST body, never in a URL."""
    case = queries.find_by_receipt(current_app.extensions["shagym_receipt_key"], request.form.get("receipt", ""))
    if case is None or case.reference != request.form.get("reference", ""):
        abort(404)
    return case


@bp.post("/report/receipt")
@limiter.limit(track_limit, methods=["POST"], deduct_when=lambda response: response.status_code == 404)
def receipt_again():
    """The receipt page again, in the language chosen on it (the code is shown only once:
    every control on that page carries it back)."""
    case = _receipt_case()
    code = receipts.grouped(receipts.normalize(request.form.get("receipt", "")) or "")
    try:
        not_kept = max(0, int(request.form.get("files_not_kept", "0")))
    except ValueError:
        not_kept = 0

    def render() -> str:
        return render_template(
            "intake/receipt.html",
            filed=queries.receipt_view(case, not_kept),
            receipt=code,
            speakable=receipts.speakable(code),
        )

    switch = switcher.requested()
    return switcher.render_in(switch, render) if switch else render()


@bp.post("/report/receipt.txt")
@limiter.limit(track_limit, methods=["POST"], deduct_when=lambda response: response.status_code == 404)
def receipt_file():
    """The receipt as a text file, under a name that says nothing to whoever sees the downloads."""
    case = _receipt_case()
    text = render_template(
        "intake/receipt.txt",
        reference=case.reference,
        receipt=request.form.get("receipt", ""),
        track_url=url_for("track.track", _external=True),
    )
    response = make_response(text.replace("\n", "\r\n"))
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{RECEIPT_FILENAME}"'
    return response


@bp.get("/language/<code>")
def language(code: str) -> Response:
    """Remember the chosen language in a strictly necessary cookie, then go back."""
    if code not in LANGUAGES:
        abort(404)
    return switcher.remember(redirect(local_path(request.args.get("next"))), code)


@bp.get("/leave")
@writes_on_get
def leave():
    """Quick exit: end any case-tracking session, then go straight to a neutral site.

    With JavaScript the page also calls this in the background while it replaces itself.
    """
    track.end_tracking_session()
    response = redirect(current_app.config["QUICK_EXIT_URL"], 303)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.get("/statistics")
def statistics():
    """The protected tables for the public, when the office publishes them (``PUBLIC_STATISTICS``):
    counts only, small ones hidden. Made at most once per ``PUBLIC_STATISTICS_SECONDS`` per process
    and day (the same for every reader; the page around them is rendered per request, so nothing of
    one visitor is ever kept for another)."""
    cfg = current_app.config
    if not cfg["PUBLIC_STATISTICS"]:
        abort(404)
    tz = ZoneInfo(cfg["OFFICE_TIMEZONE"])
    today = datetime.now(tz).date()
    years = current_app.extensions[PUBLIC_STATISTICS].get(
        today,
        cfg["PUBLIC_STATISTICS_SECONDS"],
        lambda: stats.public_tables(today, tz, cfg["STATS_THRESHOLD"], cfg["STATS_ROUND_TO"] or None),
    )
    shareable(cfg["PUBLIC_STATISTICS_SECONDS"])
    return render_template(
        "intake/statistics.html",
        years=years,
        dimensions=stats.DIMENSIONS,
        method=stats.METHOD,
        rounded=stats.ROUNDED,
        small=cfg["STATS_THRESHOLD"] - 1,
        total=TOTAL,
    )


@bp.get("/safety")
def safety():
    return render_template("intake/safety.html")


@bp.context_processor
def _today() -> dict:
    return {"today": local_today().isoformat()}
