"""Database engine setup: SQLite durability and locking, PostgreSQL as is.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged report
survives a power cut), foreign keys on and a busy timeout. Transactions of
requests that write begin with ``BEGIN IMMEDIATE``: a second gunicorn worker
then waits for the write lock instead of failing later with "database is
locked" when it upgrades a read transaction.
"""

from __future__ import annotations

import contextvars
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30_000
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("shagym_write_intent", default=True)


def set_write_intent(writes: bool) -> contextvars.Token:
    return _write_intent.set(writes)


def reset_write_intent(token: contextvars.Token) -> None:
    _write_intent.reset(token)


def writes_on_get(view: Any) -> Any:
    """Mark a GET view that writes (e.g. records an access event)."""
    view.shagym_writes = True
    return view


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True}
