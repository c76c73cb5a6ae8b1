"""gunicorn settings. The access log never holds a client address, user agent or referrer."""

import os
import re
import sys
from pathlib import Path

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from config import load_settings as _load_settings  # not "config": that name is a gunicorn setting
from web.logs import JsonFormatter

# One worker per core by default: a report is CPU work in Python, so more processes than cores
# only take turns on them (4 workers on 2 cores filed fewer reports than 2, issue 15).
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 1)))
# Threads, not one sync process per request: a client that sends its body at a byte a second
# holds one thread, not a whole worker, so a handful of slow connections cannot take the site
# down (behind nginx, which buffers request bodies, such a client never reaches gunicorn).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
timeout = 60
keepalive = 5
accesslog = "-"
# time, method, path (no query string), status, bytes, duration; no %(h)s, %(a)s, %(f)s or header atoms.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = "info"
# The same settings the app reads (config.SETTINGS): one knob, one default.
_settings = _load_settings()
forwarded_allow_ips = _settings["FORWARDED_ALLOW_IPS"]
_JSON = _settings["LOG_FORMAT"] == "json"
if _JSON:
    # The app writes one JSON line per request (web/telemetry.py, with its request id): no access
    # line here. gunicorn's own lines become JSON too (PrivateLogger.setup).
    accesslog = None
_METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    """Counters of an earlier run (or of workers killed with it) must not be added to this one's."""
    if _METRICS_DIR:
        Path(_METRICS_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
        for old in Path(_METRICS_DIR).glob("*.db"):
            old.unlink()


def child_exit(server, worker):
    """A worker that exits: its live gauges are dropped; its counters stay counted."""
    if _METRICS_DIR:
        multiprocess.mark_process_dead(worker.pid)


_ADDRESS = re.compile(r"\bip=\S*?(?=: |\s|$)")  # IPv6 has colons, never ": "


class PrivateLogger(Logger):
    """gunicorn's own warnings name the client ("Invalid request from ip=..."): drop the address."""

    def setup(self, cfg):
        super().setup(cfg)
        if _JSON:
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    def warning(self, msg, *args, **kwargs):
        super().warning(_ADDRESS.sub("ip=-", str(msg)), *args, **kwargs)


logger_class = PrivateLogger
APP_LOAD_ERROR = 4  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR: the master halts instead of respawning


def post_worker_init(worker):
    """A worker whose keys differ from the ones recorded in the database (``web/keycheck.py``)
    stops with that one line, and gunicorn with "App failed to load" instead of serving refusals."""
    refusal = getattr(worker.wsgi, "extensions", {}).get("shagym_keys_refusal")
    if refusal:
        worker.log.critical(refusal)
        sys.exit(APP_LOAD_ERROR)
