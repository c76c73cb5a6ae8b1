"""The register of partner bodies that cases are referred to, kept by administrators.

A body is switched off, never deleted, once a referral names it: the referral's history and
letter must keep saying to whom it went. Every change is an event in the system chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from cases.categories import CATEGORY_BY_SLUG, REGION_LABELS
from cases.commands.accounts import _system_event
from cases.commands.unit import CommandError, command
from cases.models import PartnerBody, Referral, User
from cases.referrals import MAX_ANSWER_DAYS
from cases.vocabulary import Action, PartnerKind
from i18n import LANGUAGES, N_
from storage import db


@dataclass(frozen=True)
class PartnerValues:
    """What an administrator types about a body."""

    names: dict[str, str]  # kk, ru, en
    kind: str
    region: str | None
    contact: str
    categories: list[str]
    answer_days: int | None


def _checked(v: PartnerValues) -> dict:
    names = {lang: " ".join((v.names.get(lang) or "").split()) for lang in LANGUAGES}
    if not all(names.values()):
        raise CommandError(N_("Give the body's name in Kazakh, Russian and English."))
    if any(len(n) > 200 for n in names.values()):
        raise CommandError(N_("A name may be at most 200 characters."))
    if v.kind not in {k.value for k in PartnerKind}:
        raise CommandError(N_("Choose what kind of body it is."))
    if v.region and v.region not in REGION_LABELS:
        raise CommandError(N_("Unknown region."))
    if any(c not in CATEGORY_BY_SLUG for c in v.categories):
        raise CommandError(N_("Unknown category."))
    if v.answer_days is None or not 1 <= v.answer_days <= MAX_ANSWER_DAYS:
        raise CommandError(N_("The expected answer time is 1 to %(max)s working days."), max=MAX_ANSWER_DAYS)
    contact = (v.contact or "").strip()
    if not contact:
        raise CommandError(N_("Say how to reach the body (address, e-mail or telephone of its office)."))
    return {
        "name_kk": names["kk"],
        "name_ru": names["ru"],
        "name_en": names["en"],
        "kind": v.kind,
        "region": v.region or None,
        "contact": contact[:2000],
        "categories": json.dumps(sorted(set(v.categories))),
        "answer_days": v.answer_days,
    }


@command
def create_partner(values: PartnerValues, by: User) -> PartnerBody:
    """A new partner body; refused with a missing name, kind, contact or answer time."""
    body = PartnerBody(**_checked(values), active=True)
    db.session.add(body)
    db.session.flush()
    _system_event(by, Action.PARTNER_CREATED, new=str(body.id), details={"name": body.name_en, "kind": body.kind})
    return body


@command
def edit_partner(body: PartnerBody, values: PartnerValues, by: User) -> dict:
    """Change a body's names, kind, region, contact, categories or answer time (referrals already
    sent keep their due date). Returns what changed, as ``{field: [old, new]}``."""
    wanted = _checked(values)
    changed = {k: [getattr(body, k), v] for k, v in wanted.items() if getattr(body, k) != v}
    if not changed:
        raise CommandError(N_("Nothing was changed."))
    for k, (_old, v) in changed.items():
        setattr(body, k, v)
    _system_event(by, Action.PARTNER_EDITED, new=str(body.id), details={"changed": changed})
    return changed


@command
def set_partner_active(body: PartnerBody, active: bool, by: User) -> None:
    """Switch a body off (no new referral can go to it; drafts to it cannot be sent) or on again."""
    if body.active == active:
        raise CommandError(N_("The body is already in this state."))
    body.active = active
    _system_event(by, Action.PARTNER_TOGGLED, new=str(body.id), details={"active": active})


@command
def delete_partner(body: PartnerBody, by: User) -> None:
    """Delete a body entered by mistake. Refused while any referral names it: switch it off instead."""
    used = db.session.scalar(select(func.count(Referral.id)).where(Referral.partner_id == body.id))
    if used:
        raise CommandError(
            N_("Referrals name this body (%(n)s), so it cannot be deleted: switch it off instead."), n=used
        )
    _system_event(by, Action.PARTNER_DELETED, new=str(body.id), details={"name": body.name_en})
    db.session.delete(body)
