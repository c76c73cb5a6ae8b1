"""The read side of tags and links: the tag vocabulary, a case's links both ways, and the
possible duplicates of a case.

Possible duplicates are the open cases of the same category and region reported within a
window around this one, ranked by how many blind-index terms (``search_terms``: keyed word
stems of their texts, exact contact details) they share with it. Nothing is decrypted: the
terms are compared as stored. The candidates are the newest ``DUPLICATE_CANDIDATES`` of that
window (``ix_cases_duplicates``), limited to the cases the viewer may see, so the query costs
the same however many cases the office holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from cases import access
from cases.models import Case, CaseLink, SearchTerm, Tag, User
from cases.vocabulary import LinkKind
from storage import db

DUPLICATE_CANDIDATES = 200
DUPLICATE_SUGGESTIONS = 5
TAG_LIMIT = 500  # a vocabulary, not a table of data: an office keeps tens of tags


def all_tags() -> list[Tag]:
    """The whole vocabulary for the supervisors' page: switched-on first, then by short name."""
    return list(db.session.scalars(select(Tag).order_by(Tag.active.desc(), Tag.slug).limit(TAG_LIMIT)))


def active_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(Tag.active.is_(True)).order_by(Tag.slug).limit(TAG_LIMIT)))


@dataclass(frozen=True)
class LinkView:
    """One link of a case as its page shows it. ``reference`` and ``other_id`` are None when the
    viewer may not see the other case (it is shown as "a case in another queue")."""

    id: int
    kind: str
    outgoing: bool  # from this case: "this is a duplicate of", else "… is a duplicate of this"
    other_id: Optional[int]
    reference: Optional[str]
    created_at: datetime
    reason: Optional[str]

    @property
    def removable(self) -> bool:
        return self.kind == LinkKind.RELATED and self.other_id is not None


def links_of(case: Case, viewer: User, limit: int = 100) -> list[LinkView]:
    """The links of ``case`` both ways, oldest first (two indexed lookups: the pair key and
    ``ix_case_links_other``), with the other case's reference only if ``viewer`` may see it."""
    rows = list(
        db.session.scalars(
            select(CaseLink)
            .where(or_(CaseLink.case_id == case.id, CaseLink.other_case_id == case.id))
            .order_by(CaseLink.id)
            .limit(limit)
        )
    )
    other_ids = {r.other_case_id if r.case_id == case.id else r.case_id for r in rows}
    visible = access.case_filter(viewer)
    stmt = select(Case.id, Case.reference).where(Case.id.in_(other_ids))
    seen = dict(db.session.execute(stmt if visible is None else stmt.where(visible)).tuples().all()) if rows else {}
    out = []
    for r in rows:
        other = r.other_case_id if r.case_id == case.id else r.case_id
        shown = other in seen
        out.append(
            LinkView(
                r.id,
                r.kind,
                r.case_id == case.id,
                other if shown else None,
                seen.get(other),
                r.created_at,
                r.reason if shown else None,
            )
        )
    return out


@dataclass(frozen=True)
class Suggestion:
    case: Case
    shared: int  # blind-index terms in common


def duplicate_suggestions(case: Case, viewer: User, window_days: int) -> list[Suggestion]:
    """Open cases that may report the same events as ``case``: same category and region, reported
    within ``window_days`` of it, sharing at least one blind-index term; most shared first, at most
    DUPLICATE_SUGGESTIONS, only among the cases ``viewer`` may see, never one already linked."""
    if not access.can_read_cases(viewer):
        return []
    window = timedelta(days=window_days)
    linked = (
        select(CaseLink.other_case_id)
        .where(CaseLink.case_id == case.id)
        .union(select(CaseLink.case_id).where(CaseLink.other_case_id == case.id))
    )
    candidates = select(Case.id).where(
        Case.category == case.category,
        Case.region == case.region,
        Case.created_at >= case.created_at - window,
        Case.created_at <= case.created_at + window,
        Case.is_open.is_(True),
        Case.id != case.id,
        Case.id.not_in(linked),
    )
    visible = access.case_filter(viewer)
    if visible is not None:
        candidates = candidates.where(visible)
    candidates = candidates.order_by(Case.created_at.desc()).limit(DUPLICATE_CANDIDATES).subquery()
    mine = select(SearchTerm.term).where(SearchTerm.case_id == case.id)
    theirs = aliased(SearchTerm)
    shared = func.count().label("shared")
    ranked = db.session.execute(
        select(theirs.case_id, shared)
        .join(candidates, candidates.c.id == theirs.case_id)
        .where(theirs.term.in_(mine))
        .group_by(theirs.case_id)
        .order_by(shared.desc(), theirs.case_id.desc())
        .limit(DUPLICATE_SUGGESTIONS)
    ).all()
    if not ranked:
        return []
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_([r[0] for r in ranked])))}
    return [Suggestion(cases[case_id], n) for case_id, n in ranked if case_id in cases]
