"""Settings read from the environment, each documented once.

``SETTINGS`` is the single source of truth: ``create_app`` reads it and the
README's settings table is generated from it (``make readme``). No knob and no
fallback default lives anywhere else: code reads ``app.config[NAME]``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _hours(value: str) -> str:
    """``22-6``: from 22:00 to 06:00 (office time); refused at start-up unless two hours 0–23 that differ."""
    start, sep, end = value.strip().partition("-")
    if not (sep and start.isdigit() and end.isdigit() and int(start) < 24 and int(end) < 24 and start != end):
        raise ValueError(f"not a range of hours like 22-6: {value!r}")
    return f"{int(start)}-{int(end)}"


def _log_format(value: str) -> str:
    value = value.strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT is text or json, not {value!r}")
    return value


def _timezone(value: str) -> str:
    ZoneInfo(value)  # refuses an unknown zone at start-up, not at the first due date
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SECRET_KEY",
        None,
        "Signs sessions and CSRF tokens. Unset: generated once into `instance/secret_key` (mode 0600).",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL. Unset: SQLite at `instance/shagym.sqlite3`. PostgreSQL: `postgresql+psycopg://user@host/db`.",
    ),
    Setting(
        "SHAGYM_DATA_KEYS",
        None,
        "Data-encryption keys as `id:base64,...` (last is current). Unset: key files in `instance/keys/` (mode 0600).",
    ),
    Setting(
        "SHAGYM_AUDIT_KEYS",
        None,
        "Audit-chain MAC keys as `id:base64,...` (last is current; every instance needs all of them). "
        "Unset: key files `instance/keys/audit-*.key` (mode 0600).",
    ),
    Setting(
        "SHAGYM_SEARCH_KEYS",
        None,
        "Keys of the blind search index as `id:base64,...` (last is current; every instance needs it). "
        "Unset: `instance/keys/search-*.key`.",
    ),
    Setting(
        "SHAGYM_SIGNING_KEY",
        None,
        "Ed25519 seed (base64, 32 bytes) that signs audit checkpoints; the same on every instance. "
        "Unset: `instance/audit_ed25519.pem`.",
    ),
    Setting(
        "SHAGYM_RECEIPT_KEY",
        None,
        "Key of the receipt-code HMAC (base64). Unset: generated into `instance/receipt_key`.",
    ),
    Setting(
        "SECRET_KEY_FILE",
        None,
        "A file holding `SECRET_KEY` (e.g. a systemd credential or a mounted secret), so every instance "
        "reads the same one; setting both is refused.",
    ),
    Setting("SHAGYM_DATA_KEYS_FILE", None, "A file holding `SHAGYM_DATA_KEYS` (same format)."),
    Setting("SHAGYM_AUDIT_KEYS_FILE", None, "A file holding `SHAGYM_AUDIT_KEYS` (same format)."),
    Setting("SHAGYM_SEARCH_KEYS_FILE", None, "A file holding `SHAGYM_SEARCH_KEYS` (same format)."),
    Setting("SHAGYM_SIGNING_KEY_FILE", None, "A file holding `SHAGYM_SIGNING_KEY` (the base64 seed)."),
    Setting(
        "SHAGYM_RECEIPT_KEY_FILE",
        None,
        "A file holding `SHAGYM_RECEIPT_KEY`. With several instances on one database every key must be the "
        "same on each: their fingerprints are recorded in the database and an instance with another key "
        "refuses to start.",
    ),
    Setting("SHAGYM_HTTPS", False, "`1` when served over HTTPS: `Secure` + `__Host-` cookies and HSTS.", _bool),
    Setting("SHAGYM_PRODUCTION", False, "`1` in production: refuses to start in debug or testing mode.", _bool),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        "Flask-Limiter storage; `redis://127.0.0.1:6379/0` to share limits between gunicorn workers.",
    ),
    Setting(
        "AUDIT_CHECKPOINT_EVERY",
        1000,
        "The worker signs a Merkle checkpoint once this many audit events are past the last one…",
        int,
    ),
    Setting(
        "AUDIT_CHECKPOINT_SECONDS",
        600,
        "…or once this many seconds passed since the last checkpoint and there are new events (0: only by count).",
        int,
    ),
    Setting(
        "AUDIT_WITNESS_LOG",
        "",
        "Also append every witnessed audit head, fsync'd, to this file (put it on another volume or host mount).",
    ),
    Setting(
        "AUDIT_WITNESS_SYSLOG",
        "",
        "Also send every witnessed audit head to syslog: `/dev/log` or `host:514` (a log host the database admin cannot edit).",
    ),
    Setting(
        "REQUIRE_2FA_FOR_ALL",
        False,
        "`1`: every staff account must use two-factor sign-in (supervisors and admins always must).",
        _bool,
    ),
    Setting(
        "RETENTION_DAYS",
        365,
        "Default days after closing/rejection before personal content is destroyed (per category override in the database).",
        int,
    ),
    Setting(
        "STATS_THRESHOLD",
        5,
        "Statistics hide every count from 1 to this minus one (and what would reveal them).",
        int,
    ),
    Setting(
        "EXPORT_MAX_ROWS",
        100_000,
        "A supervisor's case-list export (CSV or XLSX) holds at most this many cases; more must be narrowed by filters.",
        int,
    ),
    Setting("STATS_ROUND_TO", 0, "Statistics round every shown count to a multiple of this (`0`: no rounding).", int),
    Setting(
        "PUBLIC_STATISTICS",
        False,
        "`1`: the public site shows the same protected tables at `/statistics` (this year and last); "
        "off, that address is not found.",
        _bool,
    ),
    Setting(
        "PUBLIC_STATISTICS_SECONDS",
        600,
        "The public statistics are computed at most once per this many seconds per process (and may be "
        "kept that long by browsers and proxies).",
        int,
    ),
    Setting(
        "ACCESS_REVIEW_FACTOR",
        3.0,
        "Access analytics: a day on which someone opens more than this many times their usual number of "
        "cases (the median of their working days in the 30 before) is listed for review…",
        float,
    ),
    Setting("ACCESS_REVIEW_FLOOR", 20, "…if it is also more than this many cases.", int),
    Setting(
        "ACCESS_NIGHT",
        "22-6",
        "Access analytics: the night, in office hours (`22-6`: 22:00 to 06:00); opening a case or a file "
        "then is listed for review.",
        _hours,
    ),
    Setting("MAX_FILE_MB", 20, "Largest evidence file, in MB.", int),
    Setting("MAX_CASE_FILES_MB", 100, "Total evidence per case, in MB.", int),
    Setting("MAX_CASE_FILES", 20, "Evidence files per case.", int),
    Setting(
        "EVIDENCE_DAILY_QUOTA_MB",
        5000,
        "Evidence stored per UTC day for the whole site, in MB; a warning is logged at 80 %. When it is full, "
        "reports and replies are still taken, without their files, and the reporter is told (`0`: no quota).",
        int,
    ),
    Setting(
        "MAIL_SERVER",
        None,
        "SMTP host for reporter notifications. Unset: notifications are skipped (staff pages say so).",
    ),
    Setting("MAIL_PORT", 25, "SMTP port.", int),
    Setting("MAIL_USERNAME", None, "SMTP user (optional)."),
    Setting("MAIL_PASSWORD", None, "SMTP password (optional)."),
    Setting("MAIL_USE_TLS", False, "`1`: STARTTLS.", _bool),
    Setting("MAIL_FROM", "shagym@localhost", "Sender address of notifications."),
    Setting(
        "MAIL_TIMEOUT_SECONDS",
        10,
        "The worker's SMTP connect/answer timeout; a mail not taken in time is retried.",
        int,
    ),
    Setting(
        "OUTBOX_RETRY_SECONDS",
        30,
        "The worker retries an e-mail the SMTP server did not take after this long, doubling each time…",
        int,
    ),
    Setting("OUTBOX_RETRY_MAX_SECONDS", 3600, "…up to this long between attempts (it never gives up).", int),
    Setting(
        "WORKER_POLL_SECONDS",
        2.0,
        "How often `flask --app wsgi worker` looks for a checkpoint that is due and for e-mails to send.",
        float,
    ),
    Setting(
        "STAFF_URL",
        None,
        "Address of the staff pages (e.g. `https://shagym.example.org/staff`) for the link in "
        "escalation e-mails, which a scheduled job sends outside any request.",
    ),
    Setting(
        "QUICK_EXIT_URL",
        "https://www.google.com/search?q=weather+forecast",
        "Neutral page opened by the “Leave this site quickly” button.",
    ),
    Setting(
        "REPORT_RATE_LIMIT",
        "20 per hour;5 per minute",
        "Report submissions allowed per client (keyed hash of the address).",
    ),
    Setting(
        "RECEIPT_REISSUE_MINUTES",
        15,
        "The same report form sent again within this many minutes (its answer was lost, e.g. a dropped "
        "connection) gets a fresh receipt for the stored report; the first code stops working. Later: 409.",
        int,
    ),
    Setting("TRACK_RATE_LIMIT", "10 per minute;50 per hour", "Receipt look-ups allowed per client."),
    Setting(
        "LOGIN_RATE_LIMIT", "5 per minute", "Failed staff sign-ins allowed per account and, separately, per client."
    ),
    Setting(
        "TWO_FACTOR_RATE_LIMIT",
        "5 per minute",
        "Wrong two-factor codes allowed per account (and twice as many tries per client).",
    ),
    Setting(
        "TWO_FACTOR_HOURLY_LIMIT",
        100,
        "Wrong two-factor codes allowed per account per hour, counted in the database (so with any limiter "
        "storage); past it the account's codes are refused until the hour is over, and a warning is logged.",
        int,
    ),
    Setting("STAFF_IDLE_MINUTES", 30, "A staff session ends after this many minutes without a request.", int),
    Setting("STAFF_SESSION_HOURS", 12, "A staff session ends this many hours after sign-in, however active.", int),
    Setting(
        "REAUTH_MINUTES",
        10,
        "Account, role and second-factor changes need the password again if it was last given longer ago.",
        int,
    ),
    Setting(
        "PASSWORD_RESET_HOURS",
        24,
        "A one-time code an administrator gives for a password reset stops working after this many hours.",
        int,
    ),
    Setting(
        "TRACK_IDLE_MINUTES",
        30,
        "A reporter's check of their case (by receipt) ends after this many minutes without activity.",
        int,
    ),
    Setting(
        "TRACK_SESSION_HOURS",
        2,
        "A reporter's check of their case ends this many hours after the receipt was given, however active.",
        int,
    ),
    Setting(
        "OFFICE_TIMEZONE",
        "Asia/Almaty",
        "The office's time zone: working-day due dates, dates typed in filters, times shown on pages.",
        _timezone,
    ),
    Setting(
        "DUPLICATE_WINDOW_DAYS",
        30,
        "Possible duplicates shown on a case page were reported at most this many days before or after it.",
        int,
    ),
    Setting(
        "SHAGYM_PROXY_HOPS",
        0,
        "Reverse proxies in front of the app whose `X-Forwarded-For` is trusted (for rate limits; the address is never stored).",
        int,
    ),
    Setting(
        "FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        "Addresses of the reverse proxy (comma-separated): only requests from them may set `X-Forwarded-*` "
        "(read by the app and by gunicorn). gunicorn listens on 127.0.0.1 behind the proxy.",
    ),
    Setting(
        "LOG_FORMAT",
        "text",
        "`json`: JSON lines — the app writes one per request (request id, also in the `X-Request-Id` header; "
        "endpoint, status, duration) instead of gunicorn's access line, and gunicorn's own lines are JSON too.",
        _log_format,
    ),
    Setting(
        "METRICS_TOKEN",
        None,
        "Turns on Prometheus metrics at `/metrics` for requests with `Authorization: Bearer <token>` "
        "(anyone else: 404). Unset: no metrics and no per-request counting. Keep `/metrics` off the public proxy.",
    ),
    Setting("PORT", 8000, "Port of `make run`.", int),
)

# Read outside the Flask config: by the CLI, gunicorn.conf.py, the tests or CI.
OTHER_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("SHAGYM_INSTANCE", "`instance/`", "Folder for the SQLite database, generated keys and secrets."),
    ("SHAGYM_PASSWORD", "—", "Password for `flask --app wsgi create-user` (else a hidden prompt)."),
    ("WEB_CONCURRENCY", "the number of cores", "gunicorn worker processes (`gunicorn.conf.py`)."),
    (
        "GUNICORN_THREADS",
        "`32`",
        "Threads per gunicorn worker (`gunicorn.conf.py`): slow clients hold a thread, not a worker.",
    ),
    (
        "PROMETHEUS_MULTIPROC_DIR",
        "—",
        "With gunicorn and `METRICS_TOKEN`: an empty folder only the app can write (e.g. `/run/shagym/metrics`) "
        "where each worker keeps its counters, so any worker's `/metrics` answers for all (cleared on start).",
    ),
    ("TEST_DATABASE_URL", "—", "Run the test suite on this PostgreSQL database instead of SQLite (it is wiped)."),
    ("CI", "—", "Set by CI: a missing Chromium fails the browser tests instead of skipping them."),
)


def default(name: str) -> Any:
    """The registered default of one setting (for pure domain code that needs one, e.g. in tests)."""
    return next(s.default for s in SETTINGS if s.name == name)


def load_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ) if environ is None else environ
    out: dict[str, Any] = {}
    for s in SETTINGS:
        raw = environ.get(s.name)
        out[s.name] = s.default if raw in (None, "") else s.parse(raw)
    return out


KEY_SETTINGS = (
    "SECRET_KEY",
    "SHAGYM_DATA_KEYS",
    "SHAGYM_AUDIT_KEYS",
    "SHAGYM_SEARCH_KEYS",
    "SHAGYM_SIGNING_KEY",
    "SHAGYM_RECEIPT_KEY",
)


def read_key_files(values: dict[str, Any]) -> None:
    """Fill each key setting from the file its ``*_FILE`` setting names (stripped of whitespace).
    A file that cannot be read, an empty one, or a key given both ways is refused at start-up."""
    for name in KEY_SETTINGS:
        path = values.get(f"{name}_FILE")
        if not path:
            continue
        if values.get(name):
            raise ValueError(f"{name} and {name}_FILE are both set: give the key one way")
        try:
            value = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{name}_FILE: cannot read {path} ({exc})") from exc
        if not value:
            raise ValueError(f"{name}_FILE: {path} is empty")
        values[name] = value


def instance_secret(instance_path: str, filename: str, nbytes: int = 32) -> str:
    """Read a generated secret from ``instance/``, creating it (0600) once."""
    path = Path(instance_path) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = "—" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    for name, default, meaning in OTHER_VARIABLES:
        rows.append(f"| `{name}` | {default} | {meaning} |")
    return "\n".join(rows)
