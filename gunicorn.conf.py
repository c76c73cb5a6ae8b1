"""gunicorn settings. The access log never holds a client address, user agent or referrer."""

import os
import re
import sys

from gunicorn.glogging import Logger

from config import load_settings as _load_settings  # not "config": that name is a gunicorn setting

workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
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
# The same setting the app reads (config.SETTINGS): one knob, one default.
forwarded_allow_ips = _load_settings()["FORWARDED_ALLOW_IPS"]

_ADDRESS = re.compile(r"\bip=\S*?(?=: |\s|$)")  # IPv6 has colons, never ": "


class PrivateLogger(Logger):
    """gunicorn's own warnings name the client ("Invalid request from ip=..."): drop the address."""

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
