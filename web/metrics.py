"""Prometheus metrics at ``/metrics``, for the office's monitoring only.

Off unless ``METRICS_TOKEN`` is set: then ``GET /metrics`` with ``Authorization: Bearer <token>``
answers the Prometheus text format, and every other request to it is a plain 404 (as if there
were no such page). A token, not a second port: the backlog figures are read from the database
at scrape time, which needs the app, and gunicorn's workers cannot share one more listener.
nginx should not pass ``/metrics`` from outside at all (docs/operations.md).

Labels are code names only — the Flask endpoint (never the path, which holds case ids), the
method, the status, the command name, the queue slug. Never a reference, receipt, address or
anything typed. Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` makes every worker write its
counters to files there, and a scrape (answered by any worker) adds them all up
(``gunicorn.conf.py`` clears the folder on start and marks exited workers).

Per request this costs two label look-ups and a histogram observation (a few microseconds).
"""

from __future__ import annotations

import hmac
import os
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from cases import monitoring
from cases.commands import unit
from extensions import limiter
from storage import db

bp = Blueprint("metrics", __name__)
# The process's own metrics; under gunicorn their values live in PROMETHEUS_MULTIPROC_DIR.
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "shagym_http_requests", "HTTP requests answered", ("endpoint", "method", "status"), registry=REGISTRY
)
LATENCY = Histogram(
    "shagym_http_request_duration_seconds",
    "Time to answer a request, by endpoint",
    ("endpoint",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
COMMANDS = Counter("shagym_commands", "Committed commands of the command layer", ("command",), registry=REGISTRY)
REPORTS = Counter("shagym_reports_filed", "Reports stored (and acknowledged with a receipt)", registry=REGISTRY)
FAILED_SIGNINS = Counter(
    "shagym_failed_signins", "Refused staff sign-ins (wrong password or second factor)", ("step",), registry=REGISTRY
)
RATE_LIMITED = Counter(
    "shagym_rate_limit_hits", "Requests refused by a rate limit (429)", ("endpoint",), registry=REGISTRY
)
REPORT_COMMANDS = frozenset({"file_report"})
# Refused sign-in steps answer 401 (staff/auth.py).
SIGNIN_STEPS = {"staff_auth.login": "password", "staff_auth.second_factor": "second_factor"}


_children: dict[tuple[str, str, int], tuple] = {}  # the labelled series, looked up once each


def observe(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    name = endpoint or "none"
    series = _children.get((name, method, status))
    if series is None:
        series = _children[(name, method, status)] = (REQUESTS.labels(name, method, str(status)), LATENCY.labels(name))
    series[0].inc()
    series[1].observe(seconds)
    if status == 401 and name in SIGNIN_STEPS:
        FAILED_SIGNINS.labels(SIGNIN_STEPS[name]).inc()
    elif status == 429:
        RATE_LIMITED.labels(name).inc()


def _command_committed(name: str) -> None:
    COMMANDS.labels(name).inc()
    if name in REPORT_COMMANDS:
        REPORTS.inc()


class DatabaseCollector:
    """Backlog and audit figures read at scrape time (cases/monitoring.py)."""

    def collect(self):
        now = datetime.now(UTC)
        try:
            rows = monitoring.backlog(db.session, now)
            lag = monitoring.checkpoint_lag(db.session, now)
        finally:
            db.session.rollback()
        open_cases = GaugeMetricFamily("shagym_open_cases", "Open cases per queue", labels=("queue",))
        late_cases = GaugeMetricFamily(
            "shagym_late_cases", "Open cases past a service-level target, per queue", labels=("queue",)
        )
        for row in rows:
            open_cases.add_metric((row.queue,), row.open)
            late_cases.add_metric((row.queue,), row.late)
        yield open_cases
        yield late_cases
        if lag.seconds is not None:
            yield GaugeMetricFamily(
                "shagym_audit_checkpoint_age_seconds", "Age of the newest signed audit checkpoint", value=lag.seconds
            )
        yield GaugeMetricFamily(
            "shagym_audit_unsigned_events",
            "Audit events committed after the newest signed checkpoint",
            value=lag.unsigned_events,
        )


class _Own:
    """This process's registry as one collector (single-process servers, tests)."""

    def collect(self):
        return REGISTRY.collect()


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Own())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


@bp.get("/metrics")
@limiter.exempt
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        abort(404)
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Count commands once per process (the list of observers is the command layer's)."""
    if app.config["METRICS_TOKEN"] and _command_committed not in unit.COMMITTED:
        unit.COMMITTED.append(_command_committed)
