"""De-identified statistics: the counts equal hand-computed ones, the period is the office's,
and no page or CSV ever shows a count from 1 to the threshold − 1."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import stats
from cases.disclosure import TOTAL
from tests.helpers import page, seed_cases

ALMATY = ZoneInfo("Asia/Almaty")
NEW_YEAR = datetime(2026, 1, 1, tzinfo=ALMATY).astimezone(UTC)  # midnight in the office, in UTC


JAN = datetime(2026, 1, 15, 6, tzinfo=UTC)
APR = datetime(2026, 4, 10, 6, tzinfo=UTC)


@pytest.fixture
def seeded(app, make_case):
    seed_cases(
        make_case,
        [("other", "astana", "new", JAN)] * 7
        + [("other", "almaty-city", "resolved", JAN)] * 6
        + [("women", "astana", "rejected", APR)] * 8
        + [("women", "almaty-city", "referred", APR)] * 2
        # A minute before the period starts in the office: outside, although the UTC date is the same.
        + [("women", "astana", "new", NEW_YEAR - timedelta(minutes=1))]
        # Half past midnight on 1 January in the office, still 31 December in UTC: inside.
        + [("other", "astana", "new", NEW_YEAR + timedelta(minutes=30))],
    )


def request(rows="category", cols="outcome"):
    return stats.Request(rows, cols, date(2026, 1, 1), date(2026, 6, 30))


def test_counts_equal_the_hand_computed_table(seeded):
    table = stats.cross_table(request("category", "region"), ALMATY, threshold=1, round_to=None)
    p = table.protected
    assert (p.value("other", "astana"), p.value("other", "almaty-city")) == (8, 6)
    assert (p.value("women", "astana"), p.value("women", "almaty-city")) == (8, 2)
    assert p.value("torture", "astana") == 0  # every category is a row, zeros included
    assert (p.value("other", TOTAL), p.value(TOTAL, "astana"), p.value(TOTAL, TOTAL)) == (14, 16, 24)


def test_outcomes_and_quarters(seeded):
    p = stats.cross_table(request("outcome", "quarter"), ALMATY, threshold=1, round_to=None).protected
    assert [k for k, _ in stats.cross_table(request("outcome", "quarter"), ALMATY, 1, None).cols] == [
        "2026 Q1",
        "2026 Q2",
    ]
    assert (p.value("open", "2026 Q1"), p.value("resolved", "2026 Q1")) == (8, 6)
    assert (p.value("rejected", "2026 Q2"), p.value("referred", "2026 Q2"), p.value("closed", TOTAL)) == (8, 2, 0)


def test_small_counts_are_hidden_with_what_would_reveal_them(seeded):
    p = stats.cross_table(request("category", "region"), ALMATY, threshold=5, round_to=None).protected
    assert p.value("women", "almaty-city") is None  # 2
    hidden = [k for k, v in p.published.items() if v is None]
    assert len(hidden) >= 4  # the 2 cannot be the only hidden value of its row and column
    assert all(v is None or v == 0 or v >= 5 for v in p.published.values())


@pytest.mark.parametrize(
    "req, message",
    [
        (stats.Request("category", "category", date(2026, 1, 1), date(2026, 2, 1)), "different things"),
        (stats.Request("category", "nonsense", date(2026, 1, 1), date(2026, 2, 1)), "Choose what"),
        (stats.Request("category", "region", date(2026, 2, 1), date(2026, 1, 1)), "ends before it starts"),
        (stats.Request("category", "region", date(2000, 1, 1), date(2026, 1, 1)), "ten years"),
    ],
)
def test_impossible_tables_are_refused_with_a_reason(app, req, message):
    with pytest.raises(stats.BadRequest, match=message):
        stats.cross_table(req, ALMATY, 5, None)


# --- through the supervisor's pages -----------------------------------------------------------

QUERY = "rows=category&cols=region&since=2026-01-01&until=2026-06-30"


def visible_numbers(body: str) -> list[int]:
    cells = re.findall(r"<td>(.*?)</td>", body.split("<tbody>", 1)[1].split("</tbody>", 1)[0], re.S)
    return [int(c) for c in cells if c.strip().isdigit()]


def test_the_page_and_the_csv_never_show_a_small_count(seeded, login_as):
    client, _ = login_as("supervisor")
    client.set_cookie("lang", "en")
    body = page(client.get(f"/staff/supervise/statistics?{QUERY}"))
    numbers = visible_numbers(body)
    assert 8 in numbers and 24 in numbers
    assert not [n for n in numbers if 1 <= n <= 4]
    assert "Cells and totals with 1 to 4 reports are hidden" in body
    response = client.get(f"/staff/supervise/statistics.csv?{QUERY}")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0] == "Category / Region" and rows[-3][0] == "Total"
    assert "1 to 4 reports are hidden" in rows[-1][0] and "“x” marks a hidden value." in rows[-1][0]
    values = [v for row in rows[1:-2] for v in row[1:]]
    assert "x" in values and not [v for v in values if v.isdigit() and 1 <= int(v) <= 4]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_page_is_in_the_readers_language(seeded, login_as, lang):
    client, _ = login_as("supervisor")
    client.set_cookie("lang", lang)
    body = page(client.get(f"/staff/supervise/statistics?{QUERY}"))
    word = {"kk": "Санат", "ru": "Категория", "en": "Category"}[lang]
    assert word in body


@pytest.mark.parametrize(
    "query, message",
    [
        ("since=2026-13-01", "Write dates as YYYY-MM-DD."),
        ("since=2026-03-01&until=2026-02-01", "The period ends before it starts."),
        ("rows=region&cols=region", "Rows and columns must count by different things."),
    ],
)
def test_bad_choices_get_a_clear_message_and_keep_the_form(app, login_as, query, message):
    client, _ = login_as("supervisor")
    client.set_cookie("lang", "en")
    response = client.get(f"/staff/supervise/statistics?{query}")
    assert response.status_code == 400 and message in page(response)
    assert client.get(f"/staff/supervise/statistics.csv?{query}").status_code == 400


def test_case_workers_see_no_statistics(app, login_as):
    client, _ = login_as("caseworker")
    assert client.get("/staff/supervise/statistics").status_code == 403
    assert client.get("/staff/supervise/statistics.csv").status_code == 403
