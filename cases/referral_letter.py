"""What a referral letter says about the case: only the items the referral shares.

The letter's template receives nothing but these items (and the body, the letter's number and
dates), so a field that is not shared cannot appear in the letter by a slip in the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cases.categories import ANSWER_LABELS, CATEGORY_BY_SLUG, REGION_LABELS
from cases.models import Case, Evidence, Referral
from cases.vocabulary import SHARED_FIELD_TITLES, SharedField
from storage import db


@dataclass(frozen=True)
class Item:
    """One shared item: ``value`` is what the letter's template shows for ``field`` — a message
    id (category, region), a date and "still happening" (dates), the danger/child/custody answers
    as message ids, text as typed (narratives, place), or lines as typed (contact, files)."""

    field: SharedField
    title: str  # a message id, translated in the letter's language
    value: Any


def items(referral: Referral, case: Case) -> list[Item]:
    """The shared items, in the enum's order."""
    return [Item(f, SHARED_FIELD_TITLES[f], _value(f, referral, case)) for f in referral.shared]


def _value(field: SharedField, referral: Referral, case: Case) -> Any:
    f = SharedField
    if field == f.CATEGORY:
        category = CATEGORY_BY_SLUG.get(case.category)
        return category.name if category else case.category
    if field == f.REGION:
        return REGION_LABELS.get(case.region, case.region)
    if field == f.DATES:
        return (case.occurred_on, case.ongoing)
    if field == f.CIRCUMSTANCES:
        return tuple(
            ANSWER_LABELS[a] for a in ("yes" if case.immediate_danger else "no", case.child_affected, case.in_custody)
        )
    if field == f.NARRATIVE_REDACTED:
        return referral.letter_narrative or ""
    if field == f.NARRATIVE_ORIGINAL:
        return case.narrative or ""
    if field == f.PLACE:
        return case.place_description or ""
    if field == f.REPORTER_CONTACT:
        return [v for v in (case.contact_email, case.contact_phone) if v]
    files = db.session.scalars(select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id))
    return [f"{e.kind} · {e.size} B · SHA-256 {e.sha256}" for e in files]
