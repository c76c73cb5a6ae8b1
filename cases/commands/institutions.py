"""The register of institutions: administrators keep it; staff link the cases they may see.

Register changes are events in the system chain; a link or unlink is an event in the case's
chain naming the institution as it was called then. An institution a case links to is never
deleted (it is switched off), so no count and no history loses it.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cases import access, institutions
from cases.categories import REGION_LABELS
from cases.commands import unit
from cases.commands.unit import CommandError, Forbidden, NotFound, command, lock_case, record
from cases.models import CaseInstitution, Institution, InstitutionTerm, User
from cases.vocabulary import Action, ActorType, InstitutionType, Role
from i18n import LANGUAGES, N_
from storage import db

NAME_MAX = 200


def _admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden(N_("Only administrators keep the register of institutions."))


def _clean(name: str, translations: dict[str, str], kind: str, region: str) -> dict[str, object]:
    """The fields of an institution, trimmed and checked; refusals say which one is wrong."""
    values: dict[str, object] = {"name": " ".join((name or "").split())}
    if not values["name"]:
        raise CommandError(N_("Give the institution's name as it writes it itself."))
    for lang in LANGUAGES:
        values[f"name_{lang}"] = " ".join((translations.get(lang) or "").split()) or None
    if any(len(str(v)) > NAME_MAX for v in values.values() if v):
        raise CommandError(N_("A name has at most %(n)s characters."), n=NAME_MAX)
    if kind not in {k.value for k in InstitutionType}:
        raise CommandError(N_("Choose the type of institution."))
    if region not in REGION_LABELS:
        raise CommandError(N_("Choose the region."))
    values["kind"], values["region"] = kind, region
    return values


def _same_exists(values: dict[str, object], other_than: int | None = None) -> bool:
    stmt = select(Institution.id).where(
        Institution.name == values["name"], Institution.kind == values["kind"], Institution.region == values["region"]
    )
    if other_than is not None:
        stmt = stmt.where(Institution.id != other_than)
    return db.session.scalar(stmt.limit(1)) is not None


def _terms_of(institution: Institution) -> None:
    """Replace the institution's name terms (part of a command)."""
    db.session.execute(delete(InstitutionTerm).where(InstitutionTerm.institution_id == institution.id))
    if not institution.active:
        return  # a switched-off institution is not suggested
    key = current_app.extensions["shagym_search_keys"].current()[1]
    rows = [{"term": t, "institution_id": institution.id} for t in institutions.name_terms(key, institution.names())]
    if rows:
        upsert = sqlite_insert if db.engine.dialect.name == "sqlite" else pg_insert
        db.session.execute(upsert(InstitutionTerm).on_conflict_do_nothing(), rows)


@command
def create_institution(name: str, translations: dict[str, str], kind: str, region: str, by: User) -> Institution:
    """A new institution of the register: its own name, optional translations, a type and a region.
    Administrators only (Forbidden); the same name, type and region twice is refused (a second
    entry would split the counts that show a pattern). ``institution_created`` in the system chain."""
    _admin(by)
    values = _clean(name, translations, kind, region)
    if _same_exists(values):
        raise CommandError(N_("This institution is in the register already."))
    row = Institution(**values, active=True)
    db.session.add(row)
    db.session.flush()
    _terms_of(row)
    record(None, ActorType.STAFF, Action.INSTITUTION_CREATED, by, new=row.id, details=_facts(row), at=unit.utcnow())
    return row


def _facts(row: Institution) -> dict[str, object]:
    return {
        "name": row.name,
        "name_kk": row.name_kk,
        "name_ru": row.name_ru,
        "name_en": row.name_en,
        "kind": row.kind,
        "region": row.region,
    }


def _institution(institution_id: int | None) -> Institution:
    row = db.session.get(Institution, institution_id, with_for_update=True) if institution_id else None
    if row is None:
        raise NotFound(N_("Institution not found."))
    return row


@command
def edit_institution(
    institution_id: int, name: str, translations: dict[str, str], kind: str, region: str, by: User
) -> Institution:
    """New names, type or region for an institution (linked cases keep the link). Administrators
    only; an unchanged form and a duplicate are refused; the old and new facts are in the event."""
    _admin(by)
    row = _institution(institution_id)
    values = _clean(name, translations, kind, region)
    old = _facts(row)
    if old == values:
        raise CommandError(N_("Nothing was changed."))
    if _same_exists(values, other_than=row.id):
        raise CommandError(N_("This institution is in the register already."))
    for field, value in values.items():
        setattr(row, field, value)
    _terms_of(row)
    record(
        None,
        ActorType.STAFF,
        Action.INSTITUTION_CHANGED,
        by,
        new=row.id,
        details={"old": old, "new": _facts(row)},
        at=unit.utcnow(),
    )
    return row


@command
def set_institution_active(institution_id: int, active: bool, by: User) -> Institution:
    """Switch an institution off (no longer offered or suggested; its cases keep it) or on again."""
    _admin(by)
    row = _institution(institution_id)
    if row.active == active:
        raise CommandError(N_("The institution is already switched that way."))
    row.active = active
    _terms_of(row)
    record(
        None,
        ActorType.STAFF,
        Action.INSTITUTION_CHANGED,
        by,
        old=str(not active).lower(),
        new=str(active).lower(),
        details={"institution": row.id, "name": row.name},
        at=unit.utcnow(),
    )
    return row


@command
def delete_institution(institution_id: int, by: User) -> None:
    """Remove an institution entered by mistake. Refused while any case links to it — even one
    the administrator cannot see (they see no case): it is switched off instead."""
    _admin(by)
    row = _institution(institution_id)
    linked = db.session.scalar(select(CaseInstitution.case_id).where(CaseInstitution.institution_id == row.id).limit(1))
    if linked is not None:
        raise CommandError(N_("Cases are linked to this institution, so it cannot be deleted; switch it off instead."))
    facts = _facts(row)
    db.session.delete(row)
    record(None, ActorType.STAFF, Action.INSTITUTION_DELETED, by, old=institution_id, details=facts, at=unit.utcnow())


# --- links from cases -------------------------------------------------------------------------


@command
def link_institution(case_id: int, actor: User, institution_id: int | None) -> CaseInstitution:
    """Link a case the actor may see (case workers of its queue, supervisors; else NotFound) to an
    active institution of the register; not twice. ``institution_linked`` in the case's chain."""
    if not access.can_read_cases(actor):
        raise NotFound(N_("Case not found."))
    case = lock_case(case_id, actor)
    row = db.session.get(Institution, institution_id) if institution_id else None
    if row is None or not row.active:
        raise CommandError(N_("Choose an institution from the register."))
    if db.session.get(CaseInstitution, (case.id, row.id)) is not None:
        raise CommandError(N_("The case is already linked to this institution."))
    now = unit.utcnow()
    link = CaseInstitution(case_id=case.id, institution_id=row.id, added_by=actor.id, added_at=now)
    db.session.add(link)
    case.updated_at = now
    record(
        case, ActorType.STAFF, Action.INSTITUTION_LINKED, actor, new=row.name, details={"institution": row.id}, at=now
    )
    return link


@command
def unlink_institution(case_id: int, actor: User, institution_id: int) -> None:
    """Remove a case's link to an institution (a switched-off one too). ``institution_unlinked``."""
    if not access.can_read_cases(actor):
        raise NotFound(N_("Case not found."))
    case = lock_case(case_id, actor)
    link = db.session.get(CaseInstitution, (case.id, institution_id))
    if link is None:
        raise CommandError(N_("The case is not linked to this institution."))
    now = unit.utcnow()
    name = link.institution.name
    db.session.delete(link)
    case.updated_at = now
    record(
        case,
        ActorType.STAFF,
        Action.INSTITUTION_UNLINKED,
        actor,
        old=name,
        details={"institution": institution_id},
        at=now,
    )


@command
def reindex_institutions() -> int:
    """Recompute every institution's name terms under the current search key (after a key
    rotation, with ``search rebuild``). Returns how many institutions were indexed."""
    rows = list(db.session.scalars(select(Institution).order_by(Institution.id)))
    for row in rows:
        _terms_of(row)
    return sum(1 for r in rows if r.active)
