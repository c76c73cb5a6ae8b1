"""The public statistics page: not found unless the office publishes it; then the protected
tables of this year and last, never a count from 1 to 4, no case and no staff member, in the
reader's language, made once per period and shareable by caches."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event

from cases import commands
from storage import db
from tests.helpers import REFERENCE_RE, HtmlPage, page, set_case

ALMATY = ZoneInfo("Asia/Almaty")


@pytest.fixture
def published(app):
    app.config["PUBLIC_STATISTICS"] = True
    return app


@pytest.fixture
def reports(app, make_case, make_user):
    """This year: 7 open 'other' reports from Astana, 2 resolved 'women' ones from Almaty (hidden).
    Last year: 6 closed 'torture' reports from Astana. A case worker has worked one of them."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    last_year = datetime(datetime.now(ALMATY).year - 1, 4, 10, 12, tzinfo=ALMATY)
    filed = []
    for category, region, status, at, n in (
        ("other", "astana", "new", now, 7),
        ("women", "almaty-city", "resolved", now, 2),
        ("torture", "astana", "closed", last_year, 6),
    ):
        for _ in range(n):
            case = make_case(category=category, region=region).case
            filed.append(case)
            done = status in ("resolved", "closed")
            set_case(case.id, commit=False, status=status, is_open=not done, created_at=at)
    db.session.commit()
    worker = make_user("caseworker", ["general"], name="Zhanar Worker")
    commands.add_note(filed[0].id, worker, "Internal: spoke to the neighbour")
    return filed, worker


def cells(body: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td>(.*?)</td>", body, re.S)]


def test_off_by_default_the_page_is_not_found_and_not_linked(app, en):
    assert app.config["PUBLIC_STATISTICS"] is False
    response = en.get("/statistics")
    assert response.status_code == 404 and "no-store" in response.headers["Cache-Control"]
    assert "/statistics" not in en.get("/").get_data(as_text=True)


def test_on_the_tables_of_this_year_and_last_with_the_method(published, reports, en):
    response = en.get("/statistics")
    assert response.status_code == 200
    body = page(response)
    year = datetime.now(ALMATY).year
    assert f"<h2>{year} (so far)</h2>" in body and f"<h2>{year - 1}</h2>" in body
    assert body.count("<table") == 4  # category × outcome and region × outcome, per year
    numbers = [int(c) for c in cells(body) if c.isdigit()]
    assert 7 in numbers and 6 in numbers  # this year's Astana reports, last year's torture reports
    assert not [n for n in numbers if 1 <= n <= 4], "a small count is shown"
    assert any("hidden" in c for c in cells(body))  # the 2 resolved reports, and what would reveal them
    assert "Cells and totals with 1 to 4 reports are hidden" in body
    assert HtmlPage(en.get("/").get_data(as_text=True)).links.count(("/statistics", "Reports in numbers")) == 1


def test_no_case_and_no_staff_member_on_the_page_whoever_reads_it(published, reports, login_as):
    filed, worker = reports
    supervisor_client, supervisor = login_as("supervisor")
    for client in (published.test_client(), supervisor_client):
        body = page(client.get("/statistics"))
        assert not REFERENCE_RE.search(body)
        for secret in (worker.name, worker.email, supervisor.name, "Internal: spoke", filed[0].narrative, "/staff/"):
            assert secret not in body, secret


def test_shared_caches_may_keep_it_per_language(published, reports, en):
    response = en.get("/statistics")
    assert response.headers["Cache-Control"] == f"public, max-age={published.config['PUBLIC_STATISTICS_SECONDS']}"
    assert {"Cookie", "Accept-Language"} <= set(response.vary)
    assert "Set-Cookie" not in response.headers and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "no-store" in en.get("/").headers["Cache-Control"]  # every other page still never kept


def test_made_once_then_served_from_memory_without_a_query(published, reports, client):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/statistics")
        first = [s for s in statements if "cases" in s]
        statements.clear()
        for lang in ("kk", "ru", "en"):
            client.set_cookie("lang", lang)
            assert client.get("/statistics").status_code == 200
        again = list(statements)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert len(first) == 4  # one GROUP BY per table
    assert again == []


def test_the_figures_are_made_again_once_the_time_is_up(published, reports, client, make_case):
    published.config["PUBLIC_STATISTICS_SECONDS"] = 0
    before = [int(c) for c in cells(page(client.get("/statistics"))) if c.isdigit()]
    for _ in range(5):
        make_case(category="disability", region="astana")
    after = [int(c) for c in cells(page(client.get("/statistics"))) if c.isdigit()]
    assert 5 not in before and 5 in after


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("kk", ("Өтініштер сандармен", "Санат")),
        ("ru", ("Обращения в цифрах", "Категория")),
        ("en", ("Reports in numbers", "Category")),
    ],
)
def test_the_page_is_in_the_readers_language(published, reports, client, lang, words):
    client.set_cookie("lang", lang)
    body = page(client.get("/statistics"))
    assert all(w in body for w in words), lang
