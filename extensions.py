"""Flask extensions, created unbound and attached in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from cases.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def _limiter_key() -> str:
    # Defined in security so the key never holds a client address in clear.
    from cases.security import limiter_key

    return limiter_key()


limiter = Limiter(key_func=_limiter_key, default_limits=[], headers_enabled=False)
