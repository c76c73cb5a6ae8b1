"""gunicorn settings. The access log never holds a client address, user agent or referrer."""

import os
import re

from gunicorn.glogging import Logger

from config import load_settings as _load_settings  # not "config": that name is a gunicorn setting

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
# The same setting the app reads (config.SETTINGS): one knob, one default.
forwarded_allow_ips = _load_settings()["FORWARDED_ALLOW_IPS"]

_ADDRESS = re.compile(r"\bip=\S*?(?=: |\s|$)")  # IPv6 has colons, never ": "


class PrivateLogger(Logger):
    """gunicorn's own warnings name the client ("Invalid request from ip=..."): drop the address."""

    def warning(self, msg, *args, **kwargs):
        super().warning(_ADDRESS.sub("ip=-", str(msg)), *args, **kwargs)


logger_class = PrivateLogger
