"""Plain helpers the tests share: settings, reading pages, signing in, clients and small factories.

Fixtures live in ``conftest.py`` (shared) and in an area's own ``conftest.py``; everything
here is an ordinary function, class or constant, imported where it is used.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import time
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pyotp
import pytest
from itsdangerous import base64_decode
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import DBAPIError

from cases import audit, commands, evidence
from cases.models import Case, Event, StaffSession, User
from storage import db

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery staple"
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "AUDIT_CHECKPOINT_EVERY": 0,
    "AUDIT_CHECKPOINT_SECONDS": 0,
    # Assertions read English page text; tests of the Kazakh default set it back explicitly.
    "BABEL_DEFAULT_LOCALE": "en",
}
RECEIPT_RE = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")
REFERENCE_RE = re.compile(r"SHG-\d{4}-\d{6}")


# --- the test database ---------------------------------------------------------------


def pg_url() -> str:
    """``TEST_DATABASE_URL`` with the psycopg 3 driver named, as SQLAlchemy wants it."""
    url = PG_URL or ""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


_PG_TABLES: list[str] = []


def reset_pg(url: str) -> None:
    """Empty every table and restart ids. DELETE on these small tables is much faster than TRUNCATE;
    ``session_replication_role = replica`` skips triggers (the audit guard, foreign keys) for the cleanup only."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        if not _PG_TABLES:
            _PG_TABLES.extend(
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
                )
            )
        sequences = [
            r[0]
            for r in conn.execute(
                text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema='public'")
            )
        ]
        conn.execute(
            text(
                "; ".join([f"DELETE FROM {t}" for t in _PG_TABLES] + [f"ALTER SEQUENCE {q} RESTART" for q in sequences])
            )
        )
    engine.dispose()


def count(model) -> int:
    """Rows of a model's table."""
    return db.session.scalar(select(func.count()).select_from(model))


def system_events(action: str) -> list[Event]:
    """The system chain's events of one action, read afresh from the database."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == action)
            .order_by(Event.seq)
            .execution_options(populate_existing=True)
        )
    )


def age_session(user: User, minutes: int = 11) -> None:
    """Make a user's proof of password older than the re-authentication window."""
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id)
        .values(created_at=datetime.now(UTC) - timedelta(minutes=minutes), reauthenticated_at=None)
    )
    db.session.commit()


def chain(case_id: int) -> list[Event]:
    """The events of a case's audit chain in order, read afresh from the database."""
    return list(
        db.session.scalars(
            select(Event).where(Event.chain_id == case_id).order_by(Event.seq).execution_options(populate_existing=True)
        )
    )


def sqlite_files(app) -> list[Path]:
    """The SQLite database file of ``app`` and its WAL and journal, those that exist."""
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def found_in_database(app, needles: dict[str, bytes]) -> set[str]:
    """Names of the needles that occur anywhere in the stored database.

    SQLite: the raw bytes of the database file and its WAL, as a backup copies them.
    PostgreSQL: every column of every table, cast to text (bytea comes back as hex).
    """
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        raw = b"".join(p.read_bytes() for p in sqlite_files(app))
        assert len(raw) > 10_000  # the scan really read a database
        return {name for name, needle in needles.items() if needle in raw}
    found: set[str] = set()
    columns = db.session.execute(
        text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")
    ).all()
    assert len(columns) > 50
    for table, column in columns:
        for (value,) in db.session.execute(text(f'SELECT "{column}"::text FROM "{table}"')):  # noqa: S608 - names from the catalogue
            if value is None:
                continue
            for name, needle in needles.items():
                if value.startswith("\\x") and needle.hex() in value[2:]:
                    found.add(name)
                elif needle.decode("utf-8", "ignore") in value:
                    found.add(name)
    return found


def assert_append_only(statement: str, params: dict | None = None) -> None:
    """The database refuses ``statement`` on the audit tables, and the session is usable again after."""
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement), params or {})
        db.session.flush()
    db.session.rollback()


# --- reports and cases -----------------------------------------------------------------


def report(**overrides) -> commands.NewReport:
    """What the report form hands the domain, valid and anonymous unless ``overrides`` say otherwise."""
    values = dict(
        category="other",
        narrative="Something happened that violates rights, described in detail.",
        occurred_on=None,
        ongoing=False,
        region="astana",
        place_description="",
        immediate_danger=False,
        child_affected="no",
        in_custody="no",
        reporter_role="witness",
        contact_email="",
        contact_phone="",
    )
    values.update(overrides)
    return commands.NewReport(**values)


def report_form(**overrides) -> dict:
    """The public report form as a browser posts it: every required answer, anonymous.
    An override of ``None`` leaves that field out."""
    data = {
        "category": "other",
        "narrative": "Something happened that violates rights, described in detail.",
        "region": "astana",
        "immediate_danger": "no",
        "child_affected": "no",
        "in_custody": "no",
        "reporter_role": "witness",
        "contact": "anonymous",
        "consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def file_with_evidence(app, filename: str, content: bytes, **report_fields):
    """File a report (``report(**report_fields)``) with one checked file, through the domain."""
    checked = evidence.check(filename, content, evidence.Limits(10**7, 10**8, 20))
    return commands.file_report(report(**report_fields), app.extensions["shagym_receipt_key"], None, [checked])


def receipt_of(html_text: str) -> str:
    """The receipt code shown on a receipt page."""
    match = RECEIPT_RE.search(html_text)
    assert match, "no receipt code on the page"
    return match.group(1)


# --- reading pages ---------------------------------------------------------------------


def page(response) -> str:
    """A response's HTML as text with the entities decoded, for ``in`` checks of what it says."""
    return html.unescape(response.get_data(as_text=True))


_PROGRAM_TEXT = ("script", "style", "code", "pre")  # program text and commands are not prose


class HtmlPage(HTMLParser):
    """One parse of a page, for what tests look at beyond its text.

    ``values``: what a browser would send back if the page's forms were submitted unchanged;
    ``urls``: every href, action, src and formaction; ``ids``; ``links``: (href, text) of each link;
    ``texts``: the text a person sees or hears (text nodes outside scripts, styles and code, plus
    alt, title, aria-label and placeholder); ``lang``: the page's language.
    """

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = defaultdict(list)
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.lang: str | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._link: list | None = None
        self._skip = 0
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in _PROGRAM_TEXT:
            self._skip += 1
        self.texts += [a[k].strip() for k in ("alt", "title", "aria-label", "placeholder") if a.get(k)]
        if a.get("id"):
            self.ids.add(a["id"])
        self.urls += [a[k] for k in ("href", "action", "src", "formaction") if a.get(k) is not None]
        name = a.get("name")
        if tag == "a":
            self._link = [a.get("href"), ""]
        elif tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[name].append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                self.values[name].append(a.get("value") or "")
        elif tag == "textarea":
            self._textarea = name
            self.values[name].append("")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select].append(a.get("value") or "")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))
        if self._textarea:
            self.values[self._textarea][-1] += data
        if self._link is not None:
            self._link[1] += data

    def handle_endtag(self, tag):
        if tag in _PROGRAM_TEXT:
            self._skip -= 1
        if tag == "textarea" and self._textarea:
            value = self.values[self._textarea][-1]
            # The HTML parser drops one newline right after <textarea>, as browsers do.
            self.values[self._textarea][-1] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None

    def value(self, name: str) -> str | None:
        """The one value the form sends for ``name`` (None when there is none or several)."""
        found = self.values.get(name) or []
        return found[0] if len(found) == 1 else None


XLSX_NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def xlsx_sheets(data: bytes) -> dict[str, list[list[str]]]:
    """Every sheet of an XLSX file by name, in order, each as rows of cells read as text (shared
    or inline strings, numbers as written; an empty row is []); asserts that no cell holds a formula."""
    x = f"{{{XLSX_NS['x']}}}"
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = set(book.namelist())
        shared = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314 - a file we just wrote
            shared = ["".join(t.text or "" for t in si.iter(f"{x}t")) for si in root.findall("x:si", XLSX_NS)]
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))  # noqa: S314 - a file we just wrote
        titles = [s.get("name") for s in workbook.iter(f"{x}sheet")]
        sheets = {}
        for n, title in enumerate(titles, start=1):
            sheet = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{n}.xml"))  # noqa: S314
            assert not sheet.findall(".//x:f", XLSX_NS), f"a formula in the sheet {title}"
            rows = []
            for row in sheet.iter(f"{x}row"):
                rows += [[] for _ in range(int(row.get("r")) - 1 - len(rows))]  # empty rows are not written
                cells, at = [], 0
                for c in row.findall("x:c", XLSX_NS):
                    column = "".join(ch for ch in c.get("r") if ch.isalpha())
                    index = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(column))) - 1
                    cells += [""] * (index - at)  # cells left empty are not written
                    at = index + 1
                    if c.get("t") == "s":
                        cells.append(shared[int(c.find("x:v", XLSX_NS).text)])
                    elif c.get("t") == "inlineStr":
                        cells.append("".join(t.text or "" for t in c.iter(f"{x}t")))
                    else:
                        assert c.get("t") in (None, "n"), c.attrib
                        value = c.find("x:v", XLSX_NS)
                        cells.append("" if value is None else value.text)
                rows.append(cells)
            sheets[title] = rows
    return sheets


# --- staff sign-in and clients -----------------------------------------------------------


def sign_in(client, who: User | str, password: str = PASSWORD):
    """The password step of the staff sign-in form (no second factor): the response."""
    email = who if isinstance(who, str) else who.email
    return client.post("/staff/login", data={"email": email, "password": password})


@dataclass
class Auth:
    """Signs a test client in through both steps (password, then a current TOTP code when enrolled)."""

    client: object

    def login(self, user: User, password: str = PASSWORD):
        response = sign_in(self.client, user, password)
        if user.totp_enabled and response.status_code == 302:
            # Tests sign in many times within one 30-second step: forget the last used step.
            db.session.execute(text("UPDATE users SET totp_last_step = NULL WHERE id = :id"), {"id": user.id})
            db.session.commit()
            code = pyotp.TOTP(user.totp_secret).at(time.time())
            response = self.client.post("/staff/2fa", data={"totp-code": code})
        return response

    def logout(self):
        return self.client.post("/staff/logout")


def signed_in(app, user: User):
    """A new test client of ``app``, signed in as ``user`` (second factor done)."""
    client = app.test_client()
    response = Auth(client).login(user)
    assert response.status_code == 302, response.data[:500]
    return client


def from_address(app, address: str):
    """A new test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def stolen_copy(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    thief.set_cookie(name, client.get_cookie(name).value)
    return thief


def sessions_of(user: User) -> int:
    """Server-side sessions the account has."""
    return db.session.scalar(select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user.id))


def seed_cases(make_case, rows) -> None:
    """Cases for counting: ``rows`` of (category, region, status, received at)."""
    for category, region, status, at in rows:
        case = make_case(category=category, region=region).case
        finished = status in ("resolved", "closed", "rejected")
        set_case(case.id, commit=False, status=status, is_open=not finished, created_at=at)
    db.session.commit()


def set_case(case_id: int, commit: bool = True, **values) -> None:
    """Put a case in a state directly (set-up, no audit event): ``set_case(id, due_at=...)``."""
    db.session.execute(update(Case).where(Case.id == case_id).values(**values))
    if commit:
        db.session.commit()


# --- time, failures and outside services ----------------------------------------------------


class Clock:
    """A settable ``utcnow`` to patch into the domain: ``clock.now += timedelta(days=5)``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def boom():
    """A view that fails."""
    raise RuntimeError("boom")


def redis_or_skip(url: str):
    """A client of the local Redis; without one the test is skipped (a failure when ``CI`` is set)."""
    redis = pytest.importorskip("redis")
    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no local Redis (CI requires one)")
    return client


def cookie_session(client) -> dict:
    """What Flask's (signed, not encrypted) session cookie of ``client`` shows anyone who reads it."""
    cookie = client.get_cookie("shagym").value
    compressed = cookie.startswith(".")
    payload = cookie.split(".")[1] if compressed else cookie.split(".")[0]
    raw = base64_decode(payload)
    return json.loads(zlib.decompress(raw) if compressed else raw)
