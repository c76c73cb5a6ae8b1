"""Security headers, applied to every response."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# Files handed out as attachments (evidence, receipt): nothing in them may run, load or be framed,
# even if a browser ignores Content-Disposition.
DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
_SHAREABLE = "shagym.shareable_seconds"  # in the request environ: this request only


def shareable(seconds: int) -> None:
    """Let this request's answer be kept by browsers and shared caches for ``seconds``: only for a
    page that is the same for everyone (the public statistics). Every other page is ``no-store``."""
    request.environ[_SHAREABLE] = seconds


def _headers(response: Response) -> Response:
    h = response.headers
    attachment = h.get("Content-Disposition", "").startswith("attachment")
    h["Content-Security-Policy"] = DOWNLOAD_CSP if attachment else CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["Permissions-Policy"] = PERMISSIONS
    h["X-Frame-Options"] = "DENY"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Cross-Origin-Resource-Policy"] = "same-origin"
    if current_app.config["SHAGYM_HTTPS"]:
        h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    seconds = request.environ.get(_SHAREABLE)
    if seconds is not None and response.status_code == 200 and "Set-Cookie" not in h:
        # The same page for everyone who reads this language; a response that sets a cookie
        # (a flashed message was shown) is someone's own and falls through to no-store.
        h["Cache-Control"] = f"public, max-age={int(seconds)}"
        response.vary.add("Cookie")  # the language: the ``lang`` cookie, else the browser's
        response.vary.add("Accept-Language")
    elif request.endpoint != "static":
        # Pages may show case data: never keep them in any cache or history snapshot.
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
