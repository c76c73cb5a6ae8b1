"""Statistics tables as files and as a report: one grid of the protected table, written as CSV or
XLSX, and the method note and the facts of a table, in the reader's language.

The writers only format what ``stats.cross_table`` protected: a hidden entry is written as the
HIDDEN mark, never as a number; labels are neutralised against formula injection like the
case-list exports (a provision code is typed by an administrator). The facts never say how
many entries were hidden because small and how many to protect them: knowing which hidden values
are all small would narrow them down.

``translate`` is ``gettext``-like: ``translate(template, **params)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime

import xlsxwriter

from cases import disclosure
from cases.exports import neutralise
from cases.stats import BY_PROVISION, DIMENSIONS, METHOD, ROUNDED, Table
from i18n import N_

HIDDEN = "x"  # the mark for a hidden entry in CSV and XLSX (the pages show ×)
HIDDEN_SAYS = N_("“x” marks a hidden value.")
PAGE_HIDDEN_SAYS = N_("× marks a hidden value.")  # pages and the printed report
MAPPING_REVIEWED = N_(
    "Which treaty provisions a category counts under is a starting point that a person reviews: "
    "the office's administrators keep the mapping, and it is not a legal finding about any report."
)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Characters a worksheet's name cannot hold, and its longest length.
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))
_SHEET_MAX = 31

Cell = str | int


def grid(table: Table, translate: Callable[..., str], hidden: str = HIDDEN) -> list[list[Cell]]:
    """The table as rows of cells: a header, a row per key, the totals; counts stay numbers and a
    hidden entry is ``hidden``."""
    p, r = table.protected, table.request
    header = [
        f"{translate(DIMENSIONS[r.rows])} / {translate(DIMENSIONS[r.cols])}",
        *(translate(label) for _k, label in table.cols),
        translate(N_("Total")),
    ]
    out: list[list[Cell]] = [[neutralise(h) for h in header]]
    for key, label in (*table.rows, (disclosure.TOTAL, N_("Total"))):
        values = [p.value(key, c) for c, _l in table.cols] + [p.value(key, disclosure.TOTAL)]
        out.append([neutralise(translate(label)), *(hidden if v is None else v for v in values)])
    return out


def method(
    table: Table, translate: Callable[..., str], day: Callable[[date], str], mark: str = HIDDEN_SAYS
) -> list[str]:
    """The method note as sentences: what is hidden and why, the mark, rounding, and for a table
    by treaty provision what a count there means and who stands behind the mapping."""
    r, p = table.request, table.protected
    out = [translate(METHOD, since=day(r.since), until=day(r.until), small=p.threshold - 1), translate(mark)]
    if p.round_to:
        out.append(translate(ROUNDED, base=p.round_to))
    if "provision" in (r.rows, r.cols):
        out += [translate(BY_PROVISION), translate(MAPPING_REVIEWED)]
    return out


def facts(
    table: Table, translate: Callable[..., str], day: Callable[[date], str], generated: datetime
) -> list[tuple[str, str]]:
    """What a reader needs beside the table: (what, which) for the period, the breakdown, the
    disclosure control and when it was made (``generated``, in the office's time zone)."""
    r, p = table.request, table.protected
    rounding = translate(N_("to the nearest multiple of %(base)s"), base=p.round_to) if p.round_to else None
    return [
        (translate(N_("Period")), f"{day(r.since)} – {day(r.until)}"),
        (translate(N_("Rows")), translate(DIMENSIONS[r.rows])),
        (translate(N_("Columns")), translate(DIMENSIONS[r.cols])),
        (translate(N_("Hidden because small")), translate(N_("counts from 1 to %(small)s"), small=p.threshold - 1)),
        (
            translate(N_("Secondary suppression")),
            translate(N_("further values hidden, so that no hidden value can be worked out from the totals")),
        ),
        (translate(N_("Rounding")), rounding or translate(N_("none: the counts are exact"))),
        (translate(N_("Made on")), f"{generated:%Y-%m-%d %H:%M} ({generated.tzinfo})"),
    ]


def to_csv(table: Table, translate: Callable[..., str], note: str) -> str:
    """The table as CSV: the grid, an empty row, then the method ``note`` in one cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(grid(table, translate))
    writer.writerow([])
    writer.writerow([neutralise(note)])
    return out.getvalue()


def _sheet_name(title: str) -> str:
    return " ".join(title.translate(_SHEET_FORBIDDEN).split())[:_SHEET_MAX].strip("'") or "Sheet"


def to_xlsx(
    table: Table, translate: Callable[..., str], note: str, title: str, about: list[tuple[str, str]], lines: list[str]
) -> bytes:
    """The table as an XLSX workbook: the first sheet holds the same cells as the CSV (counts as
    numbers, ``note`` under them); the second, ``title``, the facts ``about`` and the method
    ``lines``. Every text is written as a string: nothing becomes a formula, a number or a link."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet = book.add_worksheet(_sheet_name(translate(N_("Table"))))
    rows = grid(table, translate)
    for y, row in enumerate(rows):
        emphasis = bold if y in (0, len(rows) - 1) else None
        for x, value in enumerate(row):
            style = bold if x == 0 else emphasis
            if isinstance(value, int):
                sheet.write_number(y, x, value, style)
            else:
                sheet.write_string(y, x, value, style)
    sheet.write_string(len(rows) + 1, 0, neutralise(note))
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, len(rows[0]) - 1, 12)
    sheet.freeze_panes(1, 1)

    notes = book.add_worksheet(_sheet_name(translate(N_("Method"))))
    notes.set_column(0, 0, 30)
    notes.set_column(1, 1, 90)
    notes.write_string(0, 0, neutralise(title), bold)
    for y, (what, which) in enumerate(about, start=2):
        notes.write_string(y, 0, neutralise(what), bold)
        notes.write_string(y, 1, neutralise(which), wrap)
    for y, line in enumerate(lines, start=len(about) + 3):
        # A sentence across both columns, tall enough for its wrapped lines.
        notes.merge_range(y, 0, y, 1, "", wrap)
        notes.write_string(y, 0, neutralise(line), wrap)
        notes.set_row(y, 15 * (1 + len(line) // 110))
    book.close()
    return out.getvalue()
