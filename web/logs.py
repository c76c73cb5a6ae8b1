"""Log output: plain text lines (the default) or JSON lines (``LOG_FORMAT=json``).

A JSON line holds the time, level, logger, the message as the code wrote it (messages never
quote a form value, an address or case content: tests/security/test_privacy.py), the request id
when inside a request, the fields a caller attached under ``extra={"fields": {...}}``, and for an
exception only its type — never its text or traceback, which can quote what a user typed.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flask import g, has_request_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            out["request_id"] = g.request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            out["exc"] = record.exc_info[0].__name__
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"), default=str)


def handler(fmt: str) -> logging.Handler:
    out = logging.StreamHandler()
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return out


def configure(fmt: str) -> None:
    """The root logger's output, unless something (gunicorn's ``logconfig_dict``, pytest) set it already."""
    logging.basicConfig(level=logging.INFO, handlers=[handler(fmt)])
