"""What the report form and the tracking page share: evidence limits, uploaded files, rate limits."""

from __future__ import annotations

from flask import current_app, request

from cases import evidence

# Views whose multipart posts may carry evidence files.
UPLOAD_ENDPOINTS = frozenset({"intake.report", "track.track_reply", "staff.report_for_someone"})


def evidence_limits() -> evidence.Limits:
    cfg = current_app.config
    mb = 1024 * 1024
    return evidence.Limits(cfg["MAX_FILE_MB"] * mb, cfg["MAX_CASE_FILES_MB"] * mb, cfg["MAX_CASE_FILES"])


def uploaded_files() -> list[tuple[str, bytes]]:
    """The chosen files, each read up to one byte past the limit (enough to refuse it)."""
    limit = current_app.config["MAX_FILE_MB"] * 1024 * 1024
    return [(f.filename or "", f.read(limit + 1)) for f in request.files.getlist("evidence") if f and f.filename]


def raise_upload_limit() -> None:
    """Multipart posts to upload views may carry files; other bodies keep the 2 MB limit."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data":
        request.max_content_length = (current_app.config["MAX_CASE_FILES_MB"] + 2) * 1024 * 1024


def report_limit() -> str:
    return current_app.config["REPORT_RATE_LIMIT"]


def track_limit() -> str:
    """Receipt look-ups: the tracking form and the receipt file share one limit."""
    return current_app.config["TRACK_RATE_LIMIT"]
