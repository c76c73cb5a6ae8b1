"""De-identified statistics: counts of reports by two of category, region, quarter and outcome,
protected by disclosure control (``cases/disclosure.py``) before anyone sees them.

Counted by the day each report was received, in the office's time zone; a case counts once,
in its current outcome. The query is one GROUP BY over the reports received in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import case as when
from sqlalchemy import func, literal, select

from cases import disclosure
from cases.categories import CATEGORIES, REGIONS
from cases.models import Case, CategoryProvision, TreatyProvision
from cases.workflow import Status
from i18n import N_
from storage import db

# What a table can be broken down by, and what the breakdown is called.
DIMENSIONS = {
    "category": N_("Category"),
    "region": N_("Region"),
    "quarter": N_("Quarter"),
    "outcome": N_("Outcome"),
    "provision": N_("Treaty provision"),
}
OUTCOMES = {
    "open": N_("Still open"),
    "referred": N_("Referred"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "rejected": N_("Rejected"),
}
_OUTCOME_OF = {Status.REFERRED.value: "referred", **{s: s for s in ("resolved", "closed", "rejected")}}
MAX_DAYS = 366 * 10
METHOD = N_(
    "Counts of reports received from %(since)s to %(until)s (office time), each in its current outcome. "
    "Cells and totals with 1 to %(small)s reports are hidden; further cells are hidden so that no hidden "
    "value can be worked out from the others and the totals. Zeros are shown."
)
ROUNDED = N_("Every shown value is rounded to the nearest multiple of %(base)s.")
BY_PROVISION = N_(
    "A report counts under every treaty provision its category is mapped to, so totals across provisions "
    "count mentions, not reports; categories mapped to none are left out."
)


class BadRequest(ValueError):
    """A table that cannot be made (same dimension twice, an empty or too long period)."""

    def __init__(self, template: str, **params: object) -> None:
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


@dataclass(frozen=True)
class Request:
    rows: str
    cols: str
    since: date  # first day, included
    until: date  # last day, included

    def check(self) -> None:
        if self.rows not in DIMENSIONS or self.cols not in DIMENSIONS:
            raise BadRequest(N_("Choose what the rows and columns count by."))
        if self.rows == self.cols:
            raise BadRequest(N_("Rows and columns must count by different things."))
        if self.until < self.since:
            raise BadRequest(N_("The period ends before it starts."))
        if (self.until - self.since).days > MAX_DAYS:
            raise BadRequest(N_("Choose a period of at most ten years."))


@dataclass(frozen=True)
class Table:
    request: Request
    rows: list[tuple[str, str]]  # (key, label to translate)
    cols: list[tuple[str, str]]
    protected: disclosure.Protected


def _quarters(since: date, until: date) -> list[tuple[str, date]]:
    """(label, first day) of each calendar quarter touching the period."""
    out = []
    year, q = since.year, (since.month - 1) // 3
    while date(year, q * 3 + 1, 1) <= until:
        out.append((f"{year} Q{q + 1}", date(year, q * 3 + 1, 1)))
        year, q = (year + 1, 0) if q == 3 else (year, q + 1)
    return out


def _start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def _expression(dimension: str, quarters: list[tuple[str, date]], tz: tzinfo):
    if dimension == "category":
        return Case.category
    if dimension == "region":
        return Case.region
    if dimension == "outcome":
        return outcome_expression()
    # Quarters: a report belongs to the first quarter whose successor starts after it came in.
    ends = [
        (Case.created_at < _start(after, tz), label)
        for (label, _), (_n, after) in zip(quarters, quarters[1:], strict=False)
    ]
    return when(*ends, else_=quarters[-1][0]) if ends else literal(quarters[0][0])


def outcome_expression():
    """A case's outcome key (OUTCOMES) in SQL: referred, resolved, closed, rejected, else open."""
    return when(*((Case.status == s, o) for s, o in _OUTCOME_OF.items()), else_="open")


def _provisions() -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """The provisions as (key, label) in treaty order, and the provision keys of each category."""
    provisions = list(db.session.scalars(select(TreatyProvision)))
    provisions.sort(key=lambda p: (p.treaty, int(p.article.split("-")[0]), p.article))
    keys = [(str(p.id), p.code) for p in provisions]
    of: dict[str, list[str]] = {}
    for category, provision_id in db.session.execute(
        select(CategoryProvision.category, CategoryProvision.provision_id)
    ):
        of.setdefault(category, []).append(str(provision_id))
    return keys, of


def _keys(dimension: str, quarters: list[tuple[str, date]]) -> list[tuple[str, str]]:
    if dimension == "category":
        return [(c.slug, c.name) for c in CATEGORIES]
    if dimension == "region":
        return list(REGIONS)
    if dimension == "outcome":
        return list(OUTCOMES.items())
    if dimension == "provision":
        return _provisions()[0]
    return [(label, label) for label, _first in quarters]


def cross_table(req: Request, tz: tzinfo, threshold: int, round_to: int | None) -> Table:
    """The protected table for ``req``: every row and column key present (zeros included)."""
    req.check()
    quarters = _quarters(req.since, req.until)
    # A provision is a function of the category: count by category, then spread (below).
    rows_by, cols_by = (("category" if d == "provision" else d) for d in (req.rows, req.cols))
    a, b = _expression(rows_by, quarters, tz), _expression(cols_by, quarters, tz)
    stmt = (
        select(a, b, func.count(Case.id))
        .where(Case.created_at >= _start(req.since, tz), Case.created_at < _start(req.until + timedelta(days=1), tz))
        .group_by(a, b)
    )
    counts = {(str(x), str(y)): n for x, y, n in db.session.execute(stmt)}
    if "provision" in (req.rows, req.cols):
        provision_keys, of = _provisions()
        spread: dict[tuple[str, str], int] = {}
        for (x, y), n in counts.items():
            for px in of.get(x, []) if req.rows == "provision" else [x]:
                for py in of.get(y, []) if req.cols == "provision" else [y]:
                    spread[(px, py)] = spread.get((px, py), 0) + n
        counts = spread
    rows, cols = _keys(req.rows, quarters), _keys(req.cols, quarters)
    protected = disclosure.protect(counts, [k for k, _ in rows], [k for k, _ in cols], threshold, round_to)
    return Table(req, rows, cols, protected)


def turned(table: Table) -> Table:
    """The same published table with its rows and columns swapped, to print a wide table down the
    page: the published values are moved, never protected again, so no value differs from the
    table's CSV (another protection of the same counts could hide other cells, and the two
    together could give a hidden value away)."""
    r, p = table.request, table.protected
    published = {(col, row): v for (row, col), v in p.published.items()}
    return Table(
        Request(r.cols, r.rows, r.since, r.until),
        table.cols,
        table.rows,
        replace(p, rows=p.cols, cols=p.rows, published=published),
    )


# The public page: by category and by region, each against the outcome.
PUBLIC_TABLES = (("category", "outcome"), ("region", "outcome"))


def public_tables(today: date, tz: tzinfo, threshold: int, round_to: int | None) -> list[tuple[int, list[Table]]]:
    """(year, its protected tables) for this year so far and the whole of last year, this year first:
    one GROUP BY each, counts only (no case and no staff member in them)."""
    years = (
        (today.year, date(today.year, 1, 1), today),
        (today.year - 1, date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    )
    return [
        (
            year,
            [cross_table(Request(rows, cols, since, until), tz, threshold, round_to) for rows, cols in PUBLIC_TABLES],
        )
        for year, since, until in years
    ]
