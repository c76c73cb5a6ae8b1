"""The language switch of the public pages.

On a page that holds something the reporter cannot get back — a half-filled form, a
message being written, the receipt shown once — the switch is a submit button of that
page's form (``name="language"``): the same page comes back in the chosen language with
everything it held, nothing validated or stored. Elsewhere it is a plain link.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, make_response, request
from flask_babel import force_locale

from i18n import LANGUAGES

FIELD = "language"
COOKIE = "lang"


def requested() -> str | None:
    """The language a switch button asked for in this POST, or None (an ordinary submission)."""
    code = request.form.get(FIELD) if request.method == "POST" else None
    return code if code in LANGUAGES else None


def remember(response: Response, code: str) -> Response:
    """Keep the chosen language in a strictly necessary cookie (nothing else is set)."""
    response.set_cookie(
        COOKIE,
        code,
        max_age=365 * 24 * 3600,
        samesite="Strict",
        httponly=True,
        secure=current_app.config["SHAGYM_HTTPS"],
    )
    return response


def render_in(code: str, render: Callable[[], object]) -> Response:
    """Build the page in ``code`` (forms, labels, dates and all) and remember the choice."""
    with force_locale(code):
        response = make_response(render())
    return remember(response, code)
