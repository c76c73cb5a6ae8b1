"""Flask extensions of the web layer, created unbound and attached in ``create_app``.

The database handle lives in ``storage`` (the bottom layer), not here.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def limiter_key() -> str:
    """A keyed hash of the client address: limits work, the address is never stored."""
    addr = (request.remote_addr or "unknown").encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), addr, hashlib.sha256).hexdigest()[:32]


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
