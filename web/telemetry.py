"""Per-request bookkeeping for the metrics (``METRICS_TOKEN``) and the JSON request log
(``LOG_FORMAT=json``). With neither set, no hook is installed and a request costs nothing extra.

With JSON logs, every response carries ``X-Request-Id`` (random, made here: a client's own id
is not trusted into the log) and one line per request is written to ``shagym.request``: request
id, method, endpoint, status, duration. Never the path or query (a path holds case ids), the
client's address, user agent or referrer, a form value, a receipt or case content.
"""

from __future__ import annotations

import logging
import secrets
from time import perf_counter

from flask import Flask, Response, g, request

from web import metrics

REQUEST_ID_HEADER = "X-Request-Id"
log = logging.getLogger("shagym.request")


def init_app(app: Flask) -> None:
    """Install the hooks first of all, so the time measured covers every other hook."""
    counting = bool(app.config["METRICS_TOKEN"])
    logging_json = app.config["LOG_FORMAT"] == "json"
    if counting:
        metrics.init_app(app)
    if not (counting or logging_json):
        return

    @app.before_request
    def _start() -> None:
        g._started = perf_counter()
        if logging_json:
            g.request_id = secrets.token_hex(8)

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.pop("_started", None)
        if started is None:
            return response
        seconds = perf_counter() - started
        if counting:
            metrics.observe(request.endpoint, request.method, response.status_code, seconds)
        if logging_json:
            response.headers[REQUEST_ID_HEADER] = g.request_id
            fields = {
                "method": request.method,
                "endpoint": request.endpoint or "none",
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
            }
            log.info("request", extra={"fields": fields})
        return response
