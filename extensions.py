"""Flask extensions of the web layer, created unbound and attached in ``create_app``.

The database handle lives in ``storage`` (the bottom layer), not here.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def limiter_key() -> str:
    """A keyed hash of the client address: limits work, the address is never stored."""
    addr = (request.remote_addr or "unknown").encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), addr, hashlib.sha256).hexdigest()[:32]


class SweptMemoryStorage(MemoryStorage):
    """The in-memory limit counters of one process, expired inline at most once a second.

    ``limits``' own memory storage starts a timer thread on nearly every counted request to
    expire old counters; a thread per report costs more than the rest of the limit check.
    Expired counters are never counted anyway (``get`` drops them); the sweep only frees memory.
    ``memory://`` in ``RATELIMIT_STORAGE_URI`` means this storage (``create_app``).
    """

    STORAGE_SCHEME = ["sweptmemory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the timer of the base class
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + 1.0
            self._MemoryStorage__expire_events()


def limiter_storage_uri(uri: str) -> str:
    """The storage for a configured URI: one process's memory is swept inline (no timer threads)."""
    return "sweptmemory://" + uri.removeprefix("memory://") if uri.startswith("memory://") else uri


# A storage error lets the request through (RATELIMIT_SWALLOW_ERRORS in create_app: the public
# side's limits fail open); sign-in checks ``limits_reachable`` first and fails closed.
limiter = Limiter(key_func=limiter_key, default_limits=[], headers_enabled=False)


def limits_reachable() -> bool:
    """Whether the limiter's storage answers (memory always does; Redis: a PING)."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return True
    try:
        return bool(limiter.storage.check())
    except Exception:  # any failure to reach it is a "no"
        return False
