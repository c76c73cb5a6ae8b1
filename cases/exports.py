"""Exports of case lists for supervisors: which fields, what they need, and the files.

A supervisor exports the cases of a queue (or of all queues) that a queue filter shows, with
the fields they tick. The default set is the minimum to work a list from (reference, dates,
category, region, channel, priority, status, queue, assignee, service levels); what a reporter
wrote or left to be reached by (narrative, place, e-mail, phone) is in a file only when ticked,
and then only with a stated reason, which the audit event keeps.

The file is written in batches of EXPORT_BATCH cases read by id (an index range read each:
``ix_cases_queue_id`` for one queue, the primary key for all), never the whole list at once,
into a temporary file, so that its SHA-256 is known before the audit event is committed.
Sealed texts are decrypted only when their field is ticked (they decrypt on first read).

Every text cell is neutralised against formula injection (``neutralise``): a spreadsheet
would run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (a tab or carriage return first
also counts) as a formula, e.g. ``=HYPERLINK(...)`` sending the row to an outside address.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import IO, Optional

import xlsxwriter
from sqlalchemy import select

from cases import deadlines, triage
from cases.categories import CATEGORY_BY_SLUG, REGION_LABELS
from cases.models import Case, Queue, User
from cases.refusals import Refused
from cases.vocabulary import CHANNEL_TITLES, PRIORITY_TITLES, Channel, Priority
from cases.workflow import Status
from i18n import N_
from storage import db

EXPORT_BATCH = 500
REASON_MIN = 15
REASON_MAX = 500
FORMATS = {"csv": N_("CSV (plain text, opens in any spreadsheet)"), "xlsx": N_("Excel workbook (XLSX)")}
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What a spreadsheet reads as the start of a formula: first (after spaces), or a tab or CR first.
# The full-width forms too: some spreadsheets take ＝ as = when typed with an East Asian input method.
_FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_CONTROL_STARTS = frozenset("\t\r\n")


def neutralise(value: str) -> str:
    """``value`` made safe to open in a spreadsheet: a text that would start a formula gets a
    leading apostrophe (shown as text, the way a spreadsheet user writes a literal ``=``)."""
    if value[:1] in _CONTROL_STARTS or value.lstrip(" \u00a0")[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


@dataclass(frozen=True)
class Field:
    key: str
    title: str  # N_(), translated in the file's header
    sensitive: bool = False  # what the reporter wrote or left to be reached by: needs a reason


FIELDS: tuple[Field, ...] = (
    Field("reference", N_("Reference")),
    Field("received", N_("Received")),
    Field("category", N_("Category")),
    Field("region", N_("Region")),
    Field("channel", N_("Reached us by")),
    Field("priority", N_("Priority")),
    Field("status", N_("Status")),
    Field("queue", N_("Queue")),
    Field("assignee", N_("Assigned to")),
    Field("first_response", N_("First response")),
    Field("first_response_due", N_("First response due")),
    Field("first_response_at", N_("First response given")),
    Field("resolution", N_("Resolution")),
    Field("resolution_due", N_("Resolution due")),
    Field("resolved_at", N_("Resolved on")),
    Field("narrative", N_("What happened (the reporter's words)"), sensitive=True),
    Field("place_description", N_("Place described"), sensitive=True),
    Field("contact_email", N_("Contact e-mail"), sensitive=True),
    Field("contact_phone", N_("Contact phone"), sensitive=True),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
DEFAULT_FIELDS = tuple(f.key for f in FIELDS if not f.sensitive)
SENSITIVE_FIELDS = tuple(f.key for f in FIELDS if f.sensitive)
# A service-level target's state (deadlines.Level) in a cell.
LEVEL_STATES = {
    "due": N_("running"),
    "late": N_("late"),
    "paused": N_("paused"),
    "met": N_("met on time"),
    "met_late": N_("met late"),
    "none": N_("no target"),
}


class BadChoice(Refused):
    """An export that cannot be made as asked; ``field`` names the form input at fault."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        self.field = field
        super().__init__(template, **params)


class TooManyRows(Refused):
    pass


@dataclass(frozen=True)
class Choice:
    """What a supervisor asked for: the fields (in the order of FIELDS), the format, a reason."""

    fields: tuple[str, ...]
    fmt: str
    reason: str = ""

    @classmethod
    def of(cls, fields: Iterable[str], fmt: str, reason: str) -> Choice:
        asked = set(fields)
        known = tuple(f.key for f in FIELDS if f.key in asked)
        return cls(known + tuple(sorted(asked - set(known))), fmt, " ".join(reason.split()))

    @property
    def sensitive(self) -> tuple[str, ...]:
        return tuple(k for k in self.fields if k in SENSITIVE_FIELDS)

    def problems(self) -> list[BadChoice]:
        """Every reason the export cannot be made as asked (empty: it can)."""
        found = []
        if not self.fields:
            found.append(BadChoice("fields", N_("Choose at least one field.")))
        elif any(k not in FIELD_BY_KEY for k in self.fields):
            found.append(BadChoice("fields", N_("Choose the fields from the list.")))
        if self.fmt not in FORMATS:
            found.append(BadChoice("format", N_("Choose CSV or XLSX.")))
        if self.sensitive and len(self.reason) < REASON_MIN:
            found.append(
                BadChoice(
                    "reason",
                    N_(
                        "Say why this export needs what reporters wrote or their contact (at least %(min)s characters)."
                    ),
                    min=REASON_MIN,
                )
            )
        if len(self.reason) > REASON_MAX:
            found.append(BadChoice("reason", N_("A reason can be at most %(max)s characters."), max=REASON_MAX))
        return found

    def check(self) -> None:
        problems = self.problems()
        if problems:
            raise problems[0]


@dataclass(frozen=True)
class Written:
    rows: int
    sha256: str
    size: int


def cases_in_batches(
    queue_id: Optional[int], f: triage.QueueFilter, me: User, now: datetime, batch: Optional[int] = None
) -> Iterator[Case]:
    """The cases the queue filter shows, in id order (the order they were received), read
    ``batch`` at a time after the last id seen; each batch leaves the session once written, so an
    export of any size holds one batch in memory."""
    batch = batch or EXPORT_BATCH
    after = 0
    while True:
        stmt = triage.matching(queue_id, f, me, now).where(Case.id > after).order_by(Case.id).limit(batch)
        rows = list(db.session.scalars(stmt))
        yield from rows
        for case in rows:
            db.session.expunge(case)
        if len(rows) < batch:
            return
        after = rows[-1].id


def queue_titles() -> dict[int, str]:
    """Queue names by id (a handful of rows), so a row does not load its queue again."""
    return dict(db.session.execute(select(Queue.id, Queue.name)).tuples().all())


class Cells:
    """A case's cells for the chosen fields, as text in the reader's language and the office's time."""

    def __init__(self, translate: Callable[[str], str], tz: tzinfo, now: datetime, queues: dict[int, str]) -> None:
        self.t, self.tz, self.now, self.queues = translate, tz, now, queues

    def header(self, keys: Iterable[str]) -> list[str]:
        return [self.t(FIELD_BY_KEY[k].title) for k in keys]

    def row(self, case: Case, keys: Iterable[str]) -> list[str]:
        first, resolution = deadlines.service_levels(case, self.now)
        return [neutralise(self._cell(case, k, first, resolution)) for k in keys]

    def _when(self, at: Optional[datetime]) -> str:
        return at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if at else ""

    def _state(self, level: deadlines.Level) -> str:
        return self.t(LEVEL_STATES["met_late" if level.state == "met" and level.by else level.state])

    def _cell(self, case: Case, key: str, first: deadlines.Level, resolution: deadlines.Level) -> str:
        t = self.t
        match key:
            case "reference":
                return case.reference or ""
            case "received":
                return self._when(case.created_at)
            case "category":
                return t(CATEGORY_BY_SLUG[case.category].name) if case.category in CATEGORY_BY_SLUG else case.category
            case "region":
                return t(REGION_LABELS[case.region]) if case.region in REGION_LABELS else case.region
            case "channel":
                return t(CHANNEL_TITLES[Channel(case.channel)])
            case "priority":
                return t(PRIORITY_TITLES[Priority(case.priority)])
            case "status":
                return t(Status(case.status).title)
            case "queue":
                return t(self.queues.get(case.queue_id, ""))
            case "assignee":
                return case.assignee.name if case.assignee else ""
            case "first_response":
                return self._state(first)
            case "first_response_due":
                return self._when(first.due_at)
            case "first_response_at":
                return self._when(case.first_response_at)
            case "resolution":
                return self._state(resolution)
            case "resolution_due":
                return self._when(resolution.due_at)
            case "resolved_at":
                return self._when(case.resolved_at)
            case "narrative" | "place_description" | "contact_email" | "contact_phone":
                return getattr(case, key) or ""  # decrypted here, only for a ticked field
        raise KeyError(key)


def _limited(cases: Iterable[Case], max_rows: int) -> Iterator[Case]:
    for n, case in enumerate(cases):
        if n >= max_rows:
            raise TooManyRows(N_("More than %(max)s cases match; narrow the filters and export again."), max=max_rows)
        yield case


def write(out: IO[bytes], choice: Choice, cases: Iterable[Case], cells: Cells, max_rows: int) -> Written:
    """Write the export to ``out`` (a binary temporary file): a header row and a row per case.
    Raises TooManyRows past ``max_rows``. Returns the row count and the file's SHA-256."""
    choice.check()
    rows = (cells.row(case, choice.fields) for case in _limited(cases, max_rows))
    header = cells.header(choice.fields)
    count = _write_xlsx(out, header, rows) if choice.fmt == "xlsx" else _write_csv(out, header, rows)
    out.flush()
    out.seek(0)
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: out.read(1 << 16), b""):
        digest.update(chunk)
        size += len(chunk)
    out.seek(0)
    return Written(count, digest.hexdigest(), size)


def _write_csv(out: IO[bytes], header: list[str], rows: Iterable[list[str]]) -> int:
    # A byte-order mark: without it, Excel reads UTF-8 Kazakh and Russian text as mojibake.
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)  # type: ignore[arg-type]
    writer = csv.writer(text)
    writer.writerow([neutralise(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    text.flush()
    text.detach()  # leaves ``out`` open for hashing and sending
    return count


def _write_xlsx(out: IO[bytes], header: list[str], rows: Iterable[list[str]]) -> int:
    # constant_memory: each row goes to a temporary file as it is written. Every cell is a string
    # written with write_string: nothing is ever turned into a formula, a number or a link.
    book = xlsxwriter.Workbook(
        out,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    sheet = book.add_worksheet("Cases")
    bold = book.add_format({"bold": True})
    for col, title in enumerate(header):
        sheet.write_string(0, col, neutralise(title), bold)
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            sheet.write_string(count, col, value)
    book.close()
    return count
