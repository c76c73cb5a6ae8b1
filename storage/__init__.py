"""Storage: the database handle, engine setup, column types and encryption at rest.

This is the bottom layer: it imports nothing of the domain or the web side.
``db`` is the Flask-SQLAlchemy handle every model and command uses.

Engine setup: SQLite durability and locking, PostgreSQL as is.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged report
survives a power cut), foreign keys on and a busy timeout. Transactions of
requests that write begin with ``BEGIN IMMEDIATE``: a second gunicorn worker
then waits for the write lock instead of failing later with "database is
locked" when it upgrades a read transaction.
"""

from __future__ import annotations

import contextvars
import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from storage.types import Base

db = SQLAlchemy(model_class=Base)
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


class WriterLock:
    """One writer at a time across threads and gunicorn workers, with instant hand-over.

    SQLite's own busy handler polls with sleeps of up to 100 ms, so writers
    queued behind each other lose most of their time sleeping. Here a writer
    takes an ``flock`` on a file next to the database, polling every 2 ms at
    most, and gives it back the moment it commits. A worker that dies releases
    its lock with it; after the busy timeout a waiter fails like SQLite would.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def acquire(self, timeout: float = BUSY_TIMEOUT_MS / 1000) -> None:
        deadline = time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked (writer lock timeout)")
        try:
            if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own descriptor
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            delay = 0.0002
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError("database is locked (writer lock timeout)") from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.002)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


class LockingConnection(sqlite3.Connection):
    """A sqlite3 connection that gives the writer lock back right after COMMIT or ROLLBACK."""

    writer_lock: WriterLock | None = None
    holds_lock = False

    def begin_immediate(self) -> None:
        lock = type(self).writer_lock
        if lock is not None and not self.holds_lock:
            lock.acquire()
            self.holds_lock = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._give_back()
            raise

    def _give_back(self) -> None:
        if self.holds_lock:
            self.holds_lock = False
            type(self).writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


_connection_classes: dict[str, type[LockingConnection]] = {}


def connection_class(database_path: str) -> type[LockingConnection]:
    """One connection class (and so one lock) per database file."""
    key = os.path.abspath(database_path)
    if key not in _connection_classes:
        _connection_classes[key] = type(
            "LockingConnection", (LockingConnection,), {"writer_lock": WriterLock(key + ".writelock")}
        )
    return _connection_classes[key]


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
        dbapi = conn.connection.dbapi_connection
        if _write_intent.get() and isinstance(dbapi, LockingConnection):
            dbapi.begin_immediate()
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        database = make_url(url).database or ""
        args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        if database and database != ":memory:":
            args["factory"] = connection_class(database)
        return {"connect_args": args}
    return {"pool_pre_ping": True}
