"""Statistics as files and as a report: the XLSX holds the CSV's cells, the printable report and
its PDF show the same protected tables with the method, in the reader's language, and none of
them ever shows a count from 1 to the threshold − 1 (what a person could be recognised from)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import gettext

from cases import disclosure, stats, stats_files
from cases.disclosure import TOTAL
from tests.helpers import page, seed_cases, xlsx_sheets
from web import printing

JAN = datetime(2026, 1, 15, 6, tzinfo=UTC)
APR = datetime(2026, 4, 10, 6, tzinfo=UTC)
PERIOD = "since=2026-01-01&until=2026-06-30"
SMALL = range(1, 5)  # STATS_THRESHOLD is 5
KAZAKH = set("әғқңөұүі")  # һ is rare in Kazakh words (test_printing.py checks it is drawn)
needs_pdf = pytest.mark.skipif(
    not printing.available() or shutil.which("pdftotext") is None,
    reason="PDF needs Pango and poppler-utils (.ci/run installs both)",
)


@pytest.fixture
def seeded(app, make_case):
    """Counts with small cells in them: women × referred is 2, torture × resolved is 1."""
    seed_cases(
        make_case,
        [("other", "astana", "new", JAN)] * 7
        + [("other", "almaty-city", "resolved", JAN)] * 6
        + [("women", "astana", "rejected", APR)] * 8
        + [("women", "almaty-city", "referred", APR)] * 2
        + [("torture", "astana", "resolved", APR)]
        + [("torture", "astana", "new", APR)] * 9,
    )


@pytest.fixture
def supervisor(login_as):
    def signed_in(lang: str = "en"):
        client, _user = login_as("supervisor")
        client.set_cookie("lang", lang)
        return client

    return signed_in


def csv_of(client, query: str) -> list[list[str]]:
    response = client.get(f"/staff/supervise/statistics.csv?{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def assert_no_small_count(values) -> None:
    numbers = [int(v) for v in values if str(v).isdigit()]
    assert numbers, "no count at all: the check would prove nothing"
    assert not [n for n in numbers if n in SMALL], numbers


# --- XLSX -------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["rows=category&cols=outcome", "rows=provision&cols=region"])
def test_the_xlsx_holds_the_cells_of_the_csv_and_no_small_count(seeded, supervisor, query):
    client = supervisor()
    as_csv = csv_of(client, f"{query}&{PERIOD}")
    response = client.get(f"/staff/supervise/statistics.xlsx?{query}&{PERIOD}")
    assert response.status_code == 200 and response.mimetype == stats_files.XLSX_MIMETYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and re.search(
        r"shagym-\w+-by-\w+-2026-01-01-2026-06-30\.xlsx", disposition
    )
    sheets = xlsx_sheets(response.data)
    assert list(sheets) == ["Table", "Method"]
    table = sheets["Table"]
    assert table == as_csv  # the grid, an empty row, the method note
    assert table[-1] == as_csv[-1] and "“x” marks a hidden value." in table[-1][0]
    cells = [v for row in table[1:-1] for v in row[1:]]
    assert "x" in cells
    assert_no_small_count(cells)


def test_the_method_sheet_says_how_the_table_was_made(seeded, supervisor):
    response = supervisor().get(f"/staff/supervise/statistics.xlsx?rows=provision&cols=outcome&{PERIOD}")
    method = xlsx_sheets(response.data)["Method"]
    facts = {row[0]: row[1] for row in method if len(row) == 2 and row[1]}
    assert method[0] == ["Statistics of reports received"] and not any(method[1])
    assert facts["Period"] == "2026-01-01 – 2026-06-30"
    assert (facts["Rows"], facts["Columns"]) == ("Treaty provision", "Outcome")
    assert facts["Hidden because small"] == "counts from 1 to 4"
    assert "no hidden value can be worked out" in facts["Secondary suppression"]
    assert facts["Rounding"] == "none: the counts are exact"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Almaty\)", facts["Made on"])
    sentences = [row[0] for row in method[len(facts) + 2 :] if any(row)]  # below the facts, across both columns
    assert any("Cells and totals with 1 to 4 reports are hidden" in s for s in sentences)
    assert any("starting point that a person reviews" in s for s in sentences)


@pytest.mark.parametrize("lang, word, sheet", [("kk", "Санат", "Кесте"), ("ru", "Категория", "Таблица")])
def test_the_xlsx_is_in_the_readers_language(seeded, supervisor, lang, word, sheet):
    sheets = xlsx_sheets(supervisor(lang).get(f"/staff/supervise/statistics.xlsx?{PERIOD}").data)
    assert list(sheets)[0] == sheet and sheets[sheet][0][0].startswith(word)


def test_rounding_is_the_same_in_both_files(app, seeded, supervisor):
    app.config["STATS_ROUND_TO"] = 5
    client = supervisor()
    as_csv = csv_of(client, f"rows=category&cols=region&{PERIOD}")
    table = xlsx_sheets(client.get(f"/staff/supervise/statistics.xlsx?rows=category&cols=region&{PERIOD}").data)
    assert table["Table"] == as_csv
    assert all(int(v) % 5 == 0 for row in as_csv[1:-2] for v in row[1:] if v.isdigit())
    assert "rounded to the nearest multiple of 5" in as_csv[-1][0]


def test_a_label_that_looks_like_a_formula_is_written_as_text(app):
    """Labels come from the vocabulary and from provision codes an administrator typed."""
    protected = disclosure.protect({("a", "b"): 7}, ["a"], ["b"], threshold=5)
    req = stats.Request("category", "outcome", date(2026, 1, 1), date(2026, 1, 31))
    table = stats.Table(req, [("a", '=HYPERLINK("http://evil.example","x")')], [("b", "@SUM(A1)")], protected)
    rows = stats_files.grid(table, lambda s, **kw: s % kw if kw else s)
    assert rows[0][1] == "'@SUM(A1)" and rows[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    sheets = xlsx_sheets(stats_files.to_xlsx(table, lambda s, **kw: s, "-note", "=title", [("+a", "-b")], ["=c"]))
    table_sheet, method = sheets.values()
    assert table_sheet[0][1] == "'@SUM(A1)" and table_sheet[1][1] == "7" and table_sheet[-1] == ["'-note"]
    assert method == [["'=title"], [], ["'+a", "'-b"], [], ["'=c", ""]]  # the sentence spans both columns


# --- the printable report -------------------------------------------------------------------


def table_cells(body: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", body, re.S)


def test_the_report_shows_both_tables_the_facts_and_the_method(seeded, supervisor):
    body = page(supervisor().get(f"/staff/supervise/statistics/report?rows=category&cols=outcome&{PERIOD}"))
    assert "<h1>Statistics of reports received</h1>" in body
    assert "Category × Outcome" in body and "Treaty provision × Outcome" in body  # the two captions
    for fact in ("Period", "Hidden because small", "Secondary suppression", "Rounding", "Made on"):
        assert f"<dt>{fact}</dt>" in body
    assert "Cells and totals with 1 to 4 reports are hidden" in body and "× marks a hidden value." in body
    assert "starting point that a person reviews" in body
    assert 'class="no-print"' in body  # the form and links stay off paper
    cells = table_cells(body)
    assert any("visually-hidden" in c for c in cells)
    assert_no_small_count([c.strip() for c in cells])
    assert "CEDAW art." in body  # women counts under CEDAW provisions
    # The same numbers as the CSV of the first table.
    as_csv = csv_of(supervisor(), f"rows=category&cols=outcome&{PERIOD}")
    shown = [c.strip() if c.strip().isdigit() else "x" for c in cells][: (len(as_csv) - 3) * (len(as_csv[0]) - 1)]
    assert shown == [v for row in as_csv[1:-2] for v in row[1:]]


def test_a_report_by_provision_has_one_table(seeded, supervisor):
    body = page(supervisor().get(f"/staff/supervise/statistics/report?rows=region&cols=provision&{PERIOD}"))
    assert body.count("<caption>") == 1 and "Region × Treaty provision" in body


@pytest.mark.parametrize(
    "lang, title", [("kk", "Түскен өтініштердің статистикасы"), ("ru", "Статистика поступивших обращений")]
)
def test_the_report_is_in_the_readers_language(seeded, supervisor, lang, title):
    body = page(supervisor(lang).get(f"/staff/supervise/statistics/report?{PERIOD}"))
    assert f"<h1>{title}</h1>" in body


BAD = [
    ("since=2026-13-01", "Write dates as YYYY-MM-DD."),
    ("since=2026-03-01&until=2026-02-01", "The period ends before it starts."),
    ("since=2000-01-01&until=2026-01-01", "Choose a period of at most ten years."),
    ("rows=region&cols=region", "Rows and columns must count by different things."),
    ("rows=name&cols=region", "Choose what the rows and columns count by."),
]


@pytest.mark.parametrize("query, message", BAD)
@pytest.mark.parametrize("what", ["statistics.xlsx", "statistics/report", "statistics/report.pdf"])
def test_bad_periods_and_choices_are_refused_with_the_reason(app, supervisor, what, query, message):
    response = supervisor().get(f"/staff/supervise/{what}?{query}")
    assert response.status_code == 400 and message in page(response)
    assert "Content-Disposition" not in response.headers


def test_the_report_keeps_the_choices_when_refused(app, supervisor):
    body = page(supervisor().get("/staff/supervise/statistics/report?rows=region&cols=region&since=2026-02-01"))
    assert 'value="2026-02-01"' in body and re.search(r'<option value="region"\s+selected', body)


def test_without_pdf_the_link_explains_and_the_printable_page_works(seeded, supervisor, monkeypatch):
    monkeypatch.setattr(printing, "available", lambda: False)
    client = supervisor()
    response = client.get(f"/staff/supervise/statistics/report.pdf?rows=category&cols=outcome&{PERIOD}")
    body = page(response)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert "PDF is not available on this server" in body and "lacks the Pango library" in body
    assert f'href="/staff/supervise/statistics/report?rows=category&cols=outcome&{PERIOD}"' in body
    assert client.get(f"/staff/supervise/statistics/report?{PERIOD}").status_code == 200


def test_case_workers_get_no_statistics_in_any_form(seeded, login_as):
    client, _user = login_as("caseworker")
    for what in ("statistics.xlsx", "statistics/report", "statistics/report.pdf"):
        response = client.get(f"/staff/supervise/{what}?{PERIOD}")
        assert response.status_code == 403 and "Content-Disposition" not in response.headers


def test_the_statistics_page_links_its_downloads(seeded, supervisor):
    body = page(supervisor().get(f"/staff/supervise/statistics?rows=region&cols=outcome&{PERIOD}"))
    for what in ("statistics.csv", "statistics.xlsx", "statistics/report", "statistics/report.pdf"):
        assert f'href="/staff/supervise/{what}?rows=region&cols=outcome&{PERIOD}"' in body


# --- the PDF ----------------------------------------------------------------------------------


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


class Rows:
    """The lines of a PDF's text, read down: each row is looked for below the one before."""

    def __init__(self, text: str) -> None:
        self.lines, self.at = text.splitlines(), 0

    def cells(self, label: str) -> list[str]:
        """The cells after the next line that starts with ``label`` (then at least two spaces)."""
        pattern = re.compile(rf"\s*{re.escape(label)}\s{{2,}}")
        for n in range(self.at, len(self.lines)):
            if pattern.match(self.lines[n]):
                self.at = n + 1
                return self.lines[n].strip()[len(label) :].split()
        raise AssertionError(f"no row {label!r} below line {self.at}")


def pdf_pages(data: bytes, tmp_path) -> str:
    path = tmp_path / "info.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout


@needs_pdf
def test_a_kazakh_pdf_holds_the_letters_the_method_and_only_protected_counts(seeded, supervisor, tmp_path, app):
    response = supervisor("kk").get(f"/staff/supervise/statistics/report.pdf?rows=outcome&cols=quarter&{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert re.search(
        r'^attachment; filename="shagym-outcome-by-quarter-[\d-]+\.pdf"$', response.headers["Content-Disposition"]
    )
    text = pdf_text(response.data, tmp_path)
    assert "Түскен өтініштердің статистикасы" in text
    assert KAZAKH <= set(text), KAZAKH - set(text)
    flat = " ".join(text.split())
    assert "1-ден 4-ге дейін өтініші бар ұяшықтар мен жиындар жасырылған" in flat  # what is hidden, and why
    assert "қосымша ұяшықтар да жасырылған" in flat  # secondary suppression
    assert "× белгісі жасырылған мәнді білдіреді" in flat  # the mark, explained
    assert "адам қарап шығатын бастапқы нұсқа" in flat  # the provision mapping is reviewed by a person
    assert "Жасалған уақыты" in flat and "Кезең" in flat
    # Every row of both tables, cell by cell, as the protected tables publish them.
    req = stats.Request("outcome", "quarter", date(2026, 1, 1), date(2026, 6, 30))
    rows, shown = Rows(text), []
    with app.test_request_context(headers={"Cookie": "lang=kk"}):
        for r in (req, stats.Request("provision", "quarter", req.since, req.until)):
            table = stats.cross_table(r, ZoneInfo(app.config["OFFICE_TIMEZONE"]), 5, None)
            for key, label in (*table.rows, (TOTAL, "Total")):
                values = [table.protected.value(key, c) for c, _l in table.cols] + [table.protected.value(key, TOTAL)]
                expected = ["×" if v is None else str(v) for v in values]
                assert rows.cells(gettext(label)) == expected, label
                shown += expected
    assert "×" in shown and "8" in shown
    assert_no_small_count(shown)
    assert "595.276 x 841.89" in pdf_pages(response.data, tmp_path)  # two columns: upright


@needs_pdf
def test_a_wide_table_is_printed_turned_on_a_landscape_page(seeded, supervisor, tmp_path):
    response = supervisor("ru").get(f"/staff/supervise/statistics/report.pdf?rows=category&cols=region&{PERIOD}")
    assert "841.89 x 595.276" in pdf_pages(response.data, tmp_path)
    text = pdf_text(response.data, tmp_path)
    first = text.split("Регион × Категория", 1)[1].split("Регион × Положение договора", 1)[0]
    lines = first.splitlines()[1:]  # below the caption, whose dates hold small numbers
    assert any(line.startswith("город Астана") for line in lines)
    cells = [word for line in lines for word in line.split() if word.isdigit() or word == "×"]
    assert "×" in cells and "25" in cells  # Astana: 10 torture, 8 women, 7 other
    assert_no_small_count(cells)
    assert "Таблица, в которой столбцов больше, чем строк, показана повёрнутой" in " ".join(text.split())


def test_a_wide_report_table_is_the_csv_turned(seeded, supervisor):
    """Turning moves the published values; it never protects the counts again (another pattern of
    hidden cells beside the CSV's could give a hidden value away)."""
    client = supervisor()
    as_csv = csv_of(client, f"rows=category&cols=region&{PERIOD}")
    body = page(client.get(f"/staff/supervise/statistics/report?rows=category&cols=region&{PERIOD}"))
    assert "Region × Category" in body and "shown turned" in body
    grid = [row[1:] for row in as_csv[1:-2]]
    turned = [[row[n] for row in grid] for n in range(len(grid[0]))]
    cells = [c.strip() if c.strip().isdigit() else "x" for c in table_cells(body)]
    assert cells[: len(turned) * len(turned[0])] == [v for row in turned for v in row]


def test_turning_twice_gives_the_table_back(seeded):
    req = stats.Request("category", "region", date(2026, 1, 1), date(2026, 6, 30))
    table = stats.cross_table(req, ZoneInfo("Asia/Almaty"), 5, None)
    turned = stats.turned(table)
    assert turned.request.rows == "region" and [k for k, _l in turned.rows] == [k for k, _l in table.cols]
    assert turned.protected.value("astana", "women") is table.protected.value("women", "astana") is None
    assert turned.protected.value(TOTAL, "other") == table.protected.value("other", TOTAL) == 13
    assert stats.turned(turned) == table
