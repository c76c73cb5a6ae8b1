"""The limit of this stack, for ``scripts/bench.py``: a minimal Flask view that stores one row
with one durable SQLite commit (WAL, ``synchronous=FULL``) and answers a line of text.

Served by the same gunicorn settings as Shagym, it shows what Flask, gunicorn and a durable
commit cost together on this machine; Shagym's figures are printed as a share of these.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, request

_local = threading.local()


def _connection(path: str) -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        _local.conn = conn
    return conn


def create_app() -> Flask:
    app = Flask(__name__)
    path = os.environ["BENCH_LIMIT_DB"]

    @app.post("/report")
    def report():
        conn = _connection(path)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO reports (body) VALUES (?)", (request.form.get("narrative", ""),))
        conn.execute("COMMIT")
        return "received\n"

    return app
