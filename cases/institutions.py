"""The read side of the register of institutions: a case's institutions and suggestions for it,
an institution's cases and counts, and the supervisors' ranking of institutions by cases.

**Suggestions from the place text.** An institution's names are public facts, stored as plain
text; each name gives keyed word stems (``search.text_terms``, keyed with the search key) under
the prefix ``i:`` — ``HMAC(search key, "i:w:" + stem)`` — in ``institution_terms``. On the page
of a case the viewer may see, that case's place text (which the page shows anyway) is read and
keyed the same way, and the active institutions sharing most terms with it are suggested, those
of the case's region first. No other case is decrypted, and the prefix keeps institution terms
different from every case's search terms (``w:`` …): a copy of the database, where the names
are readable, cannot be used as a dictionary to tell which cases contain a word of a name.

**Counts.** A case counts once per institution it is linked to, by the day it was received
(office time). Supervisors see every case and every count. Anyone else sees only the cases they
may see (``access.case_filter``), and the counts over all queues protected as published
statistics are (``cases/disclosure.py``: 1 to ``STATS_THRESHOLD - 1`` hidden, and what would
reveal them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, func, or_, select

from cases import access, disclosure, search
from cases.categories import CATEGORIES, CATEGORY_BY_SLUG, REGION_LABELS
from cases.models import Case, CaseInstitution, Institution, InstitutionTerm, User
from cases.stats import MAX_DAYS, BadRequest
from cases.vocabulary import INSTITUTION_TYPE_TITLES, InstitutionType, Role
from i18n import N_
from storage import db

TERM_PREFIX = "i:"
SUGGESTIONS = 5
CHOICES = 300  # the case page's chooser: the case's region first, then the rest, by name
PAGE = 50  # rows of the ranking, and cases on an institution's page
CSV_MAX = 5000
REGISTER_MAX = 2000  # the administrators' list


def name_terms(key: bytes, texts: Iterable[str | None]) -> set[bytes]:
    """The keyed terms of these texts as institution terms: ``HMAC(key, "i:" + term)``."""
    return search.blind_all(key, {TERM_PREFIX + t for t in search.text_terms(*texts)})


# --- the register ------------------------------------------------------------------------------


def register(limit: int = REGISTER_MAX) -> list[Institution]:
    """The administrators' list: switched-on first, by region and name (no counts: admins see no case)."""
    stmt = select(Institution).order_by(Institution.active.desc(), Institution.region, Institution.name)
    return list(db.session.scalars(stmt.limit(limit)))


def linked_to(case_id: int) -> list[Institution]:
    rows = db.session.scalars(
        select(Institution)
        .join(CaseInstitution, CaseInstitution.institution_id == Institution.id)
        .where(CaseInstitution.case_id == case_id)
        .order_by(Institution.name)
    )
    return list(rows)


def choices(case: Case, exclude: set[int]) -> list[Institution]:
    """Active institutions to link, the case's region first, at most CHOICES."""
    stmt = (
        select(Institution)
        .where(Institution.active.is_(True), Institution.id.not_in(exclude or {0}))
        .order_by((Institution.region == case.region).desc(), Institution.region, Institution.name)
        .limit(CHOICES)
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class Suggestion:
    institution: Institution
    shared: int  # name terms in common with the place text


def suggestions(case: Case, key: bytes, exclude: set[int]) -> list[Suggestion]:
    """Active institutions whose names share terms with this case's place text, most shared
    first, the case's region first among equals; none already linked; at most SUGGESTIONS."""
    if case.content_destroyed_at is not None or not case.place_description:
        return []
    terms = name_terms(key, [case.place_description])
    if not terms:
        return []
    shared = func.count(InstitutionTerm.term).label("shared")
    here = (Institution.region == case.region).label("here")
    ranked = db.session.execute(
        select(Institution.id, shared, here)
        .join(InstitutionTerm, InstitutionTerm.institution_id == Institution.id)
        .where(
            InstitutionTerm.term.in_(terms),
            Institution.active.is_(True),
            Institution.id.not_in(exclude or {0}),
        )
        .group_by(Institution.id, Institution.region)
        .order_by(shared.desc(), here.desc(), Institution.id)
        .limit(SUGGESTIONS)
    ).all()
    rows = {i.id: i for i in db.session.scalars(select(Institution).where(Institution.id.in_([r[0] for r in ranked])))}
    return [Suggestion(rows[r[0]], r[1]) for r in ranked if r[0] in rows]


def case_panel(case: Case, key: bytes) -> dict[str, object]:
    """The case page's institutions: those linked, suggestions from the place text, the chooser."""
    linked = linked_to(case.id)
    ids = {i.id for i in linked}
    return {
        "institutions": linked,
        "institution_suggestions": suggestions(case, key, ids),
        "institution_choices": choices(case, ids),
    }


# --- one institution's cases -------------------------------------------------------------------


def cases_of(institution_id: int, viewer: User, before: int | None, limit: int = PAGE) -> tuple[list[Case], int | None]:
    """The cases linked to the institution that ``viewer`` may see, newest first, ``limit`` at a
    time (keyset on the case id: ``before`` is the last id of the previous page)."""
    stmt = (
        select(Case)
        .join(CaseInstitution, CaseInstitution.case_id == Case.id)
        .where(CaseInstitution.institution_id == institution_id)
    )
    visible = access.case_filter(viewer)
    if visible is not None:
        stmt = stmt.where(visible)
    if before is not None:
        stmt = stmt.where(Case.id < before)
    rows = list(db.session.scalars(stmt.order_by(Case.id.desc()).limit(limit + 1)))
    more = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], more


ROW = "cases"


def counts_of(institution_id: int, viewer: User, threshold: int) -> disclosure.Protected:
    """Its linked cases (all queues) by category and in total. For a supervisor every count; for
    anyone else protected like published statistics, with ``threshold``."""
    n = func.count(Case.id)
    rows = db.session.execute(
        select(Case.category, n)
        .join(CaseInstitution, CaseInstitution.case_id == Case.id)
        .where(CaseInstitution.institution_id == institution_id)
        .group_by(Case.category)
    ).all()
    counts = {(ROW, category): count for category, count in rows}
    shown = 1 if viewer.role == Role.SUPERVISOR else threshold
    return disclosure.protect(counts, [ROW], [c.slug for c in CATEGORIES], shown)


# --- the supervisors' ranking ------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    since: date
    until: date
    kind: str = ""
    region: str = ""
    category: str = ""

    def check(self) -> None:
        if self.until < self.since:
            raise BadRequest(N_("The period ends before it starts."))
        if (self.until - self.since).days > MAX_DAYS:
            raise BadRequest(N_("Choose a period of at most ten years."))
        if self.kind and self.kind not in {k.value for k in InstitutionType}:
            raise BadRequest(N_("Choose the type of institution."))
        if self.region and self.region not in REGION_LABELS:
            raise BadRequest(N_("Choose the region."))
        if self.category and self.category not in CATEGORY_BY_SLUG:
            raise BadRequest(N_("Choose a category from the list."))


@dataclass(frozen=True)
class Ranked:
    institution: Institution
    cases: int
    by_category: dict[str, int]


def _start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def _in_period(stmt, f: Filter, tz: tzinfo):
    stmt = stmt.where(Case.created_at >= _start(f.since, tz), Case.created_at < _start(f.until + timedelta(days=1), tz))
    if f.kind:
        stmt = stmt.where(Institution.kind == f.kind)
    if f.region:
        stmt = stmt.where(Institution.region == f.region)
    if f.category:
        stmt = stmt.where(Case.category == f.category)
    return stmt


def _joined(*columns):
    return (
        select(*columns)
        .select_from(CaseInstitution)
        .join(Institution, Institution.id == CaseInstitution.institution_id)
        .join(Case, Case.id == CaseInstitution.case_id)
    )


def parse_cursor(raw: str) -> tuple[int, int] | None:
    """``after=<cases>-<id>`` of the ranking's next page; None if absent or malformed."""
    count, _, ident = (raw or "")[:40].partition("-")
    if count.isdigit() and ident.isdigit():
        return int(count), int(ident)
    return None


def ranking(
    f: Filter, tz: tzinfo, after: tuple[int, int] | None = None, limit: int | None = None
) -> tuple[list[Ranked], tuple[int, int] | None]:
    """Institutions by the number of cases linked to them that were received in the period (and
    match the filters), most first, then by id; ``limit`` a page. Keyset pagination on (count,
    id): a page costs one grouped query over the period's links, and no count of the whole."""
    limit = limit or PAGE
    f.check()
    n = func.count(CaseInstitution.case_id)
    stmt = _in_period(_joined(Institution.id, n.label("n")), f, tz).group_by(Institution.id)
    if after is not None:
        stmt = stmt.having(or_(n < after[0], and_(n == after[0], Institution.id > after[1])))
    top = db.session.execute(stmt.order_by(n.desc(), Institution.id).limit(limit + 1)).all()
    more = (top[limit - 1][1], top[limit - 1][0]) if len(top) > limit else None
    return _with_details(top[:limit], f, tz), more


def _with_details(top, f: Filter, tz: tzinfo) -> list[Ranked]:
    ids = [r[0] for r in top]
    if not ids:
        return []
    rows = {i.id: i for i in db.session.scalars(select(Institution).where(Institution.id.in_(ids)))}
    split: dict[int, dict[str, int]] = {}
    n = func.count(CaseInstitution.case_id)
    stmt = _in_period(_joined(Institution.id, Case.category, n), f, tz).where(Institution.id.in_(ids))
    for institution_id, category, count in db.session.execute(stmt.group_by(Institution.id, Case.category)):
        split.setdefault(institution_id, {})[category] = count
    return [Ranked(rows[i], c, split.get(i, {})) for i, c in top if i in rows]


def ranking_csv(f: Filter, tz: tzinfo, translate, locale: str) -> str:
    """The ranking as CSV (at most CSV_MAX institutions): name, type, region, cases, then a
    column per category. Names are typed by people: nothing a spreadsheet would run."""
    rows, _ = ranking(f, tz, None, CSV_MAX)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [translate("Institution"), translate("Type"), translate("Region"), translate("Cases")]
        + [translate(c.name) for c in CATEGORIES]
    )
    for r in rows:
        i = r.institution
        writer.writerow(
            [
                _safe(i.title(locale)),
                translate(INSTITUTION_TYPE_TITLES[InstitutionType(i.kind)]),
                translate(REGION_LABELS.get(i.region, i.region)),
                r.cases,
            ]
            + [r.by_category.get(c.slug, 0) for c in CATEGORIES]
        )
    return out.getvalue()


def _safe(text: str) -> str:
    return f"'{text}" if text[:1] in "=+-@\t\r" else text
