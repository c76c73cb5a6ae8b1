"""Friendly error pages in the site's layout; no stack traces to users.

A server error gets an error id; the log line with that id holds the route
and exception type, never form values or case content.
"""

from __future__ import annotations

import logging
import secrets
import traceback

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from storage import db

log = logging.getLogger("shagym.errors")


def page(code: int, title: str, message: str, error_id: str | None = None, link: tuple[str, str] | None = None):
    """An error page; ``link`` (address, words) offers a way on besides the start page."""
    return render_template(
        "errors/error.html", code=code, title=title, message=message, error_id=error_id, link=link
    ), code


def csrf_expired(_error: CSRFError | None = None):
    """The site-wide answer to a missing or expired CSRF token."""
    return page(
        400,
        _("Your session has expired"),
        _("For your security, the form expired. Please go back, reload the page and submit again."),
    )


RETRY_SECONDS = 30


def storage_failed(error: OperationalError) -> None:
    """Roll back and log that the database could not be reached or written (down, restarting,
    locked past the busy timeout, disk full): the code location and the driver's error class,
    never the message (it can quote SQL parameters)."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it (pre-ping) on the next request
        log.warning("rollback_failed_after_storage_error")
    log.error(
        "storage_unavailable endpoint=%s method=%s error=%s",
        request.endpoint,
        request.method,
        type(getattr(error, "orig", error)).__name__,
    )


def unavailable(error: OperationalError):
    """503 while the database cannot be used: nothing was stored, try again shortly."""
    storage_failed(error)
    response, code = page(
        503,
        _("Please try again in a minute"),
        _(
            "We cannot store or read data just now. Nothing you sent on this page was saved. Please wait a minute, go back and send it again."
        ),
    )
    return response, code, {"Retry-After": str(RETRY_SECONDS)}


def init_app(app: Flask) -> None:
    @app.errorhandler(403)
    def forbidden(_e):
        return page(
            403,
            _("Not for your role"),
            _("Your account cannot open this page. If you need it for your work, ask a supervisor."),
        )

    @app.errorhandler(404)
    def not_found(_e):
        return page(
            404, _("Page not found"), _("We could not find this page. Check the address, or go back to the start.")
        )

    @app.errorhandler(405)
    def not_allowed(_e):
        return page(405, _("Not possible"), _("This page cannot be used that way."))

    @app.errorhandler(413)
    def too_large(_e):
        return page(
            413,
            _("Too much data"),
            _(
                "What you sent is larger than we accept. Please go back and send less text or fewer or smaller files (at most %(mb)s MB each).",
                mb=app.config["MAX_FILE_MB"],
            ),
        )

    @app.errorhandler(429)
    def too_many(_e):
        return page(
            429,
            _("Please wait a moment"),
            _("There were too many attempts in a short time. Please wait a minute and try again."),
        )

    @app.errorhandler(400)
    def bad_request(_e):
        return page(400, _("Something was wrong with the request"), _("Please go back, reload the page and try again."))

    # The report form re-renders itself with what was typed (its blueprint's own handler).
    app.register_error_handler(CSRFError, csrf_expired)
    app.register_error_handler(OperationalError, unavailable)

    @app.errorhandler(Exception)
    def server_error(e):
        if isinstance(e, HTTPException):
            return e
        if app.config.get("SHAGYM_RERAISE"):  # tests that want the real exception
            raise e
        error_id = secrets.token_hex(6)
        # Only code locations: an exception's message can quote SQL parameters or form values.
        frames = " < ".join(
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}"
            for f in reversed(traceback.extract_tb(e.__traceback__)[-6:])
        )
        log.error(
            "error_id=%s endpoint=%s method=%s exception=%s at %s",
            error_id,
            request.endpoint,
            request.method,
            type(e).__name__,
            frames,
        )
        db.session.rollback()
        return page(
            500,
            _("Something went wrong"),
            _("Sorry, something went wrong on our side. Nothing you sent was shown to anyone. Please try again later."),
            error_id,
        )
