"""Backups that restore: a consistent copy of the database and the audit witness, with a manifest.

A backup is a directory (mode 0700) holding

- ``database.sqlite3`` (SQLite's online backup API: one consistent snapshot while the app
  writes) or ``database.pgdump`` (``pg_dump`` custom format, taken in the same snapshot as the
  row counts through ``pg_export_snapshot``);
- ``audit_witness.sqlite3``, a copy of the witness of audit heads, taken *before* the database,
  so every head it names is already committed in the copy and ``audit verify`` passes on the
  restored data;
- ``manifest.json``: the schema revision, the rows of every table, the newest signed audit
  checkpoint and the newest event, and the SHA-256 of each file.

Keys are never in a backup (``storage.keyexport`` writes them, encrypted, on their own).
Restoring refuses a database that holds anything, checks every file's hash first and the
restored rows against the manifest after. Nothing here knows Flask: the CLI passes the engine
and the paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine

from storage import reset_write_intent, set_write_intent

FORMAT = "shagym-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
WITNESS_FILE = "audit_witness.sqlite3"
PG_DUMP = "/usr/bin/pg_dump"
PG_RESTORE = "/usr/bin/pg_restore"
_HASH_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]

    @property
    def row_counts(self) -> dict[str, int]:
        return self.data["row_counts"]

    @property
    def revision(self) -> str | None:
        return self.data["schema_revision"]

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        return self.data["audit"]["newest_checkpoint"]

    @property
    def dialect(self) -> str:
        return self.data["dialect"]


# --- shared ---------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _snapshot_facts(conn: Connection | sqlite3.Connection, tables: list[str]) -> dict[str, Any]:
    """Row counts, schema revision and audit head, read inside one snapshot."""

    def scalar(sql: str) -> Any:
        if isinstance(conn, sqlite3.Connection):
            return conn.execute(sql).fetchone()
        return conn.execute(text(sql)).first()

    for name in tables:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise BackupError(f"unexpected table name {name!r}")
    counts = {name: int(scalar(f"SELECT count(*) FROM {name}")[0]) for name in sorted(tables)}  # noqa: S608  # nosec B608
    revision = scalar("SELECT version_num FROM alembic_version") if "alembic_version" in tables else None
    checkpoint = newest_event = None
    if {"checkpoints", "events"} <= set(tables):
        checkpoint = scalar(
            "SELECT last_event_id, tree_size, root_hash, signature, key_id FROM checkpoints "
            "ORDER BY last_event_id DESC LIMIT 1"
        )
        newest_event = scalar("SELECT id, chain_id, seq, hash FROM events ORDER BY id DESC LIMIT 1")
    return {
        "schema_revision": revision[0] if revision else None,
        "row_counts": counts,
        "audit": {
            "newest_checkpoint": dict(
                zip(("last_event_id", "tree_size", "root_hash", "signature", "key_id"), checkpoint, strict=True)
            )
            if checkpoint
            else None,
            "newest_event": dict(zip(("id", "chain_id", "seq", "hash"), newest_event, strict=True))
            if newest_event
            else None,
        },
    }


_SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
_PG_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(_SQLITE_TABLES)]


def _tables(conn: Connection) -> list[str]:
    return list(conn.execute(text(_PG_TABLES if conn.dialect.name == "postgresql" else _SQLITE_TABLES)).scalars())


def _sqlite_copy(source: Path, target: Path) -> None:
    """One consistent copy through SQLite's online backup API (readers never block the app's writers)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


def _pg_env(url: URL) -> dict[str, str]:
    """libpq settings for pg_dump/pg_restore; the password goes in the environment, never in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[name] = str(value)
    return env


def _client_major(tool: str) -> int:
    if not Path(tool).exists():
        raise BackupError(f"{tool} is not installed (the PostgreSQL client tools are needed)")
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603  # nosec B603
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def _check_versions(conn: Connection, tool: str) -> int:
    """pg_dump cannot dump a newer server; say so before starting rather than after."""
    server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    client = _client_major(tool)
    if client < server:
        raise BackupError(
            f"the PostgreSQL server is version {server} but {tool} is version {client}: "
            f"install the version {server} client tools"
        )
    return server


def prepare_directory(path: Path) -> None:
    """The backup's directory: new, or existing and empty (checked before anything is written)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} exists and is not an empty directory: give a new path for the backup")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


# --- create ---------------------------------------------------------------------------


def create(engine: Engine, witness_path: Path, target: Path) -> Manifest:
    """Copy the witness, then the database (one snapshot), into ``target``; write the manifest."""
    prepare_directory(target)
    files: dict[str, str] = {}
    if witness_path.exists():
        _sqlite_copy(witness_path, target / WITNESS_FILE)
        files[WITNESS_FILE] = sha256_of(target / WITNESS_FILE)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(Path(url.database or ""), target / SQLITE_FILE)
        copy = sqlite3.connect(target / SQLITE_FILE)
        try:
            facts = _snapshot_facts(copy, _sqlite_tables(copy))
        finally:
            copy.close()
        files[SQLITE_FILE] = sha256_of(target / SQLITE_FILE)
        server = None
    elif url.get_backend_name() == "postgresql":
        facts, server = _pg_dump(engine, target / PG_FILE)
        files[PG_FILE] = sha256_of(target / PG_FILE)
    else:
        raise BackupError(f"cannot back up a {url.get_backend_name()} database")
    data = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dialect": url.get_backend_name(),
        "server_version": server,
        **facts,
        "files": files,
    }
    path = target / MANIFEST
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return Manifest(data)


def _pg_dump(engine: Engine, target: Path) -> tuple[dict[str, Any], int]:
    """pg_dump in the snapshot the row counts were read in: the manifest describes the dump exactly."""
    with engine.connect() as conn:
        server = _check_versions(conn, PG_DUMP)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        facts = _snapshot_facts(conn, _tables(conn))
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        done = subprocess.run(  # noqa: S603  # nosec B603
            [PG_DUMP, "--format=custom", f"--snapshot={snapshot}", "--no-owner", "--no-privileges", f"--file={target}"],
            env=_pg_env(engine.url),
            capture_output=True,
            text=True,
        )
        conn.rollback()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return facts, server


# --- restore --------------------------------------------------------------------------


def read_manifest(source: Path) -> Manifest:
    """The manifest of a backup, each file checked against its SHA-256 (before anything is written)."""
    try:
        data = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{source} is not a Shagym backup (no {MANIFEST})") from exc
    except ValueError as exc:
        raise BackupError(f"{source / MANIFEST} is not readable JSON") from exc
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise BackupError(f"{source / MANIFEST} is not a version {VERSION} Shagym backup manifest")
    for name, digest in data["files"].items():
        path = source / name
        if Path(name).name != name or not path.is_file():
            raise BackupError(f"the backup is incomplete: {name} is missing")
        if sha256_of(path) != digest:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the backup is damaged")
    return Manifest(data)


def sqlite_is_empty(path: Path) -> bool:
    """A missing file or one without tables (never created by looking: read-only open)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return not _sqlite_tables(conn)
    finally:
        conn.close()


def restore(engine: Engine, source: Path) -> Manifest:
    """Restore the backup into the empty database of ``engine``, then compare it with the manifest.

    Raises ``BackupError`` for a damaged backup, a database that holds anything, a backup of the
    other dialect, or restored rows that differ from the manifest.
    """
    manifest = read_manifest(source)
    url = engine.url
    if manifest.dialect != url.get_backend_name():
        raise BackupError(
            f"this is a {manifest.dialect} backup; DATABASE_URL names a {url.get_backend_name()} database"
        )
    engine.dispose()
    if manifest.dialect == "sqlite":
        target = Path(url.database or "")
        if not sqlite_is_empty(target):
            raise BackupError(f"{target} is not empty: restore only into a new database (move this one away first)")
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(source / SQLITE_FILE, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    else:
        with engine.connect() as conn:
            if _tables(conn):
                raise BackupError(f"the database {url.database} is not empty: restore only into a new, empty database")
            _check_versions(conn, PG_RESTORE)
        done = subprocess.run(  # noqa: S603  # nosec B603
            [PG_RESTORE, "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={url.database}"]
            + [str(source / PG_FILE)],
            env=_pg_env(url),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    problems = compare(engine, manifest)
    if problems:
        raise BackupError("the restored database does not match the manifest: " + "; ".join(problems))
    return manifest


def facts_of(engine: Engine) -> dict[str, Any]:
    """Row counts, revision and audit head of a live database (for checking a restore); a read,
    so on SQLite it never waits for the writer lock."""
    token = set_write_intent(False)
    try:
        with engine.connect() as conn:
            return _snapshot_facts(conn, _tables(conn))
    finally:
        reset_write_intent(token)


def compare(engine: Engine, manifest: Manifest) -> list[str]:
    facts = facts_of(engine)
    problems = []
    if facts["schema_revision"] != manifest.revision:
        problems.append(f"schema revision {facts['schema_revision']} instead of {manifest.revision}")
    for table, rows in manifest.row_counts.items():
        if facts["row_counts"].get(table) != rows:
            problems.append(f"{table} has {facts['row_counts'].get(table)} rows instead of {rows}")
    if facts["audit"] != manifest.data["audit"]:
        problems.append("the newest audit checkpoint or event differs from the backed-up head")
    return problems


def install_witness(source: Path, witness_path: Path) -> Path | None:
    """Put the backed-up witness in place; an existing one is kept aside (returned), never lost:
    ``audit verify --witness <it>`` then shows what the backup misses."""
    if not (source / WITNESS_FILE).exists():
        return None
    aside = None
    if witness_path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = witness_path.with_name(f"{witness_path.name}.before-restore-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{witness_path}{suffix}").exists():
                os.replace(f"{witness_path}{suffix}", f"{aside}{suffix}")
    tmp = witness_path.with_name(f".{witness_path.name}.restoring")
    shutil.copyfile(source / WITNESS_FILE, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, witness_path)
    return aside
