"""Tracking by receipt: look up, read, reply, add files, leave.

The session cookie holds only an opaque token of a server-side tracking session
(idle and absolute expiry, ended by Leave and by the quick exit); nothing about
the case is ever in a URL or a cookie.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cases import accounts, commands, evidence, queries, referral_queries
from cases.models import Case
from cases.refusals import Refused
from extensions import limiter
from intake import language
from intake.uploads import evidence_limits, track_limit, uploaded_files

bp = Blueprint("track", __name__)
SESSION_KEY = "track"
# Set by "Leave my case" in the emptied session: the next page says why the case is gone.
LEFT_KEY = "track_left"


def _not_found(response) -> bool:
    return response.status_code == 404


def _tracked_case() -> Case | None:
    """The case of this browser's tracking session, or None (ended, idle, too old, never started).

    The cookie holds only an opaque token; the session itself is a row, so "Leave my case"
    and the quick exit end it for every copy of the cookie.
    """
    cfg, now = current_app.config, datetime.now(UTC)
    limits = accounts.SessionLimits(
        idle=timedelta(minutes=cfg["TRACK_IDLE_MINUTES"]), absolute=timedelta(hours=cfg["TRACK_SESSION_HOURS"])
    )
    token = session.get(SESSION_KEY)
    found = queries.find_tracking(token, limits, now)
    if found.expired:
        commands.quietly(commands.end_session_row, found.row)
    if found.case is None:
        session.pop(SESSION_KEY, None)
        g.track_timed_out = bool(token)
        return None
    if found.refresh:
        commands.quietly(commands.refresh_session, found.row, now)
    return found.case


def end_tracking_session() -> None:
    """End this browser's tracking session, if any (Leave my case; the quick exit)."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str) and token:
        commands.end_tracking(token)
    session.clear()


def _expired():
    """Back to the receipt form, saying why the case is not shown: the reporter left it, the check
    timed out, or there never was one."""
    if session.pop(LEFT_KEY, False):
        flash(_("You left your case. To see it again, enter your receipt code."), "info")
    elif g.get("track_timed_out"):
        flash(
            _(
                "For your safety, your check ended after %(num)s minutes without activity. Please enter your receipt code again.",
                num=current_app.config["TRACK_IDLE_MINUTES"],
            ),
            "info",
        )
    else:
        flash(_("To see your case, enter your receipt code."), "info")
    return redirect(url_for("track.track"))


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(track_limit, methods=["POST"], deduct_when=_not_found)
def track():
    switch = language.requested()
    if switch:  # the page again in another language, with the code as typed; nothing is looked up
        typed = request.form.get("receipt", "")[:100]
        return language.render_in(switch, lambda: render_template("intake/track.html", typed=typed))
    if request.method == "POST":
        case = queries.find_by_receipt(current_app.extensions["shagym_receipt_key"], request.form.get("receipt", ""))
        if case is None:
            return render_template("intake/track.html", not_found=True), 404
        end_tracking_session()  # a new check replaces this browser's earlier one
        session[SESSION_KEY] = commands.start_tracking(case.id)
        session.permanent = False
        return redirect(url_for("track.track_case"), 303)
    if _tracked_case() is not None:
        return redirect(url_for("track.track_case"))
    return render_template("intake/track.html")


@bp.get("/track/case")
def track_case():
    case = _tracked_case()
    if case is None:
        return _expired()
    return render_template(
        "intake/track_case.html",
        view=queries.reporter_view(case),
        limits=evidence_limits(),
        referrals=referral_queries.for_reporter(case.id),
    )


@bp.post("/track/reply")
def track_reply():
    case = _tracked_case()
    if case is None:
        return _expired()
    body = request.form.get("body", "")
    view = queries.reporter_view(case)
    switch = language.requested()
    if switch:  # the page again in another language, with the message as written; nothing is sent
        files_again = any(f and f.filename for f in request.files.getlist("evidence"))
        return language.render_in(
            switch,
            lambda: render_template(
                "intake/track_case.html",
                view=view,
                limits=evidence_limits(),
                body=body,
                files_again=files_again,
                referrals=referral_queries.for_reporter(case.id),
            ),
        )
    accepted, refused = evidence.check_batch(uploaded_files(), evidence_limits(), view.file_count, view.file_bytes)
    file_problems = [_(r.template, **r.params) for r in refused]
    problems: list[str] = []
    if len(body) > commands.REPLY_MAX:
        problems.append(_("Your message is too long: write at most %(n)s characters.", n=commands.REPLY_MAX))
    if "\x00" in body or "\ufffd" in body:
        problems.append(_("Your message contains characters we cannot read. Please retype it."))
    if not problems and not file_problems:
        try:
            replied = commands.reporter_reply(case.id, body, accepted)
        except Refused as exc:
            problems.append(_(exc.template, **exc.params))
    if problems or file_problems:
        return render_template(
            "intake/track_case.html",
            view=view,
            limits=evidence_limits(),
            problems=problems,
            file_problems=file_problems,
            body=body,
            referrals=referral_queries.for_reporter(case.id),
        ), 422
    if replied.files_not_kept:
        flash(
            _(
                "Your message was sent, but we could not keep your files: today's space for files is full. Please try adding them again tomorrow."
            ),
            "info",
        )
    else:
        flash(_("Thank you. Your message was sent to the case worker."), "success")
    return redirect(url_for("track.track_case"), 303)


@bp.post("/track/consent")
def track_consent():
    """The reporter's yes or no to a referral that waits for their consent."""
    case = _tracked_case()
    if case is None:
        return _expired()
    asked = {r.id for r in referral_queries.for_reporter(case.id) if r.question}
    raw = request.form.get("referral", "")
    referral_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    answer = request.form.get("answer", "")
    if referral_id not in asked or answer not in ("yes", "no"):
        flash(_("Choose yes or no for the question about passing on your case."), "error")
        return redirect(url_for("track.track_case") + "#referrals", 303)
    try:
        commands.answer_consent(case.id, referral_id, answer == "yes")
    except Refused as exc:
        flash(_(exc.template, **exc.params), "error")
    else:
        flash(
            _("Thank you. We will pass on your case as described.")
            if answer == "yes"
            else _("Thank you. We will not pass on your case to this body."),
            "success",
        )
    return redirect(url_for("track.track_case") + "#referrals", 303)


@bp.post("/track/leave")
def track_leave():
    end_tracking_session()
    session[LEFT_KEY] = True  # only that they left: nothing about the case
    flash(_("You have left your case. Nothing about it is kept in this browser."), "success")
    return redirect(url_for("track.track"), 303)
