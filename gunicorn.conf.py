"""gunicorn settings. The access log never holds a client address, user agent or referrer."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = 1
timeout = 60
accesslog = "-"
# time, method, path (no query string), status, bytes, duration; no %(h)s, %(a)s or %(f)s.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
