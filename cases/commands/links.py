"""Tags and links between cases: the tag vocabulary supervisors keep, tags on a case, links
("related", "duplicate of") and closing a duplicate.

Vocabulary changes are events in the system chain; a tag or link change is an event in the
chain of every case it touches (both cases of a link). A case reference the actor may not see
is refused with the same words as one that does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select

from cases import access, workflow
from cases.commands import unit
from cases.commands.casework import apply_transition
from cases.commands.unit import CommandError, Forbidden, NotFound, command, lock_case, record
from cases.models import Case, CaseLink, CaseTag, Tag, User
from cases.vocabulary import Action, ActorType, LinkKind
from i18n import LANGUAGES, N_
from storage import db

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 32
NAME_MAX = 80
REASON_MAX = 500
# The one answer for a reference that does not exist, is malformed, or names a case the actor
# may not see: nothing tells these apart.
NO_SUCH_CASE = N_("No case with that reference among the cases you may see.")


# --- the tag vocabulary (supervisors) ---------------------------------------------------------


def _supervisor(actor: User) -> None:
    if not access.is_supervisor(actor):
        raise Forbidden(N_("Only supervisors manage the tags."))


def _names(names: dict[str, str]) -> dict[str, str]:
    """A tag's name in each language, trimmed; every one required, none too long."""
    clean = {lang: (names.get(lang) or "").strip() for lang in LANGUAGES}
    if not all(clean.values()):
        raise CommandError(N_("Give the tag a name in Kazakh, Russian and English."))
    if any(len(v) > NAME_MAX for v in clean.values()):
        raise CommandError(N_("A tag name has at most %(n)s characters."), n=NAME_MAX)
    return clean


@command
def create_tag(slug: str, names: dict[str, str], by: User) -> Tag:
    """A new tag of the vocabulary: a unique short name (lower-case letters, digits, dashes) and a
    name in each language. Supervisors only (Forbidden); a ``tag_created`` event in the system chain."""
    _supervisor(by)
    slug = slug.strip().lower()
    if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
        raise CommandError(N_("The short name may contain only letters, digits and dashes."))
    if db.session.scalar(select(Tag.id).where(Tag.slug == slug)) is not None:
        raise CommandError(N_("A tag with this short name exists."))
    clean = _names(names)
    tag = Tag(slug=slug, name_kk=clean["kk"], name_ru=clean["ru"], name_en=clean["en"], active=True)
    db.session.add(tag)
    record(None, ActorType.STAFF, Action.TAG_CREATED, by, new=slug, details=clean, at=unit.utcnow())
    return tag


def _tag(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id, with_for_update=True)
    if tag is None:
        raise NotFound(N_("Tag not found."))
    return tag


@command
def rename_tag(tag_id: int, names: dict[str, str], by: User) -> Tag:
    """New names for a tag (its short name stays: histories name it). Supervisors only."""
    _supervisor(by)
    tag = _tag(tag_id)
    clean = _names(names)
    old = {"kk": tag.name_kk, "ru": tag.name_ru, "en": tag.name_en}
    if old == clean:
        raise CommandError(N_("The tag already has these names."))
    tag.name_kk, tag.name_ru, tag.name_en = clean["kk"], clean["ru"], clean["en"]
    record(
        None,
        ActorType.STAFF,
        Action.TAG_CHANGED,
        by,
        new=tag.slug,
        details={"old": old, "new": clean},
        at=unit.utcnow(),
    )
    return tag


@command
def set_tag_active(tag_id: int, active: bool, by: User) -> Tag:
    """Switch a tag off (no longer offered; cases keep it) or on again. A tag is never deleted,
    so no case or history loses one. Supervisors only."""
    _supervisor(by)
    tag = _tag(tag_id)
    if tag.active == active:
        raise CommandError(N_("The tag is already switched that way."))
    tag.active = active
    record(
        None,
        ActorType.STAFF,
        Action.TAG_CHANGED,
        by,
        old=str(not active).lower(),
        new=str(active).lower(),
        details={"tag": tag.slug},
        at=unit.utcnow(),
    )
    return tag


# --- tags on a case ---------------------------------------------------------------------------


@command
def add_tag(case_id: int, actor: User, tag_id: int | None) -> CaseTag:
    """Put a tag of the vocabulary on a case the actor may see (case workers of its queue,
    supervisors). Only a switched-on tag; not twice. A ``tag_added`` event in the case's chain."""
    case = lock_case(case_id, actor)
    tag = db.session.get(Tag, tag_id) if tag_id is not None else None
    if tag is None or not tag.active:
        raise CommandError(N_("Choose a tag from the list."))
    if db.session.get(CaseTag, (case.id, tag.id)) is not None:
        raise CommandError(N_("The case already has this tag."))
    now = unit.utcnow()
    row = CaseTag(case_id=case.id, tag_id=tag.id, added_by=actor.id, added_at=now)
    db.session.add(row)
    case.updated_at = now
    record(case, ActorType.STAFF, Action.TAG_ADDED, actor, new=tag.slug, at=now)
    return row


@command
def remove_tag(case_id: int, actor: User, tag_id: int) -> None:
    """Take a tag off a case (a switched-off tag too). A ``tag_removed`` event in the case's chain."""
    case = lock_case(case_id, actor)
    row = db.session.get(CaseTag, (case.id, tag_id))
    if row is None:
        raise CommandError(N_("The case does not have this tag."))
    now = unit.utcnow()
    slug = row.tag.slug
    db.session.delete(row)
    case.updated_at = now
    record(case, ActorType.STAFF, Action.TAG_REMOVED, actor, old=slug, at=now)


# --- links between cases ----------------------------------------------------------------------


def _other_case(actor: User, reference: str) -> Case:
    """The case of ``reference`` if the actor may see it; else the one not-found refusal."""
    reference = (reference or "").strip().upper()
    other = db.session.scalar(select(Case).where(Case.reference == reference)) if 0 < len(reference) <= 32 else None
    if other is None or not access.can_see(db.session, actor, other):
        raise CommandError(NO_SUCH_CASE)
    return other


def _visible(case_id: int, actor: User) -> None:
    """A case the actor may not see is NotFound before anything else is looked at."""
    if access.visible_case(db.session, actor, case_id) is None:
        raise NotFound(N_("Case not found."))


def _lock_pair(actor: User, first_id: int, second_id: int) -> tuple[Case, Case]:
    """Both cases locked, lower id first (two people linking the same pair never deadlock)."""
    low, high = sorted((first_id, second_id))
    locked = {low: lock_case(low, actor), high: lock_case(high, actor)}
    return locked[first_id], locked[second_id]


def _link_between(a: int, b: int) -> CaseLink | None:
    return db.session.scalar(
        select(CaseLink).where(
            or_(
                (CaseLink.case_id == a) & (CaseLink.other_case_id == b),
                (CaseLink.case_id == b) & (CaseLink.other_case_id == a),
            )
        )
    )


def _is_duplicate(case_id: int) -> bool:
    return (
        db.session.scalar(
            select(CaseLink.id).where(CaseLink.case_id == case_id, CaseLink.kind == LinkKind.DUPLICATE_OF).limit(1)
        )
        is not None
    )


def _has_duplicates(case_id: int) -> bool:
    return (
        db.session.scalar(
            select(CaseLink.id)
            .where(CaseLink.other_case_id == case_id, CaseLink.kind == LinkKind.DUPLICATE_OF)
            .limit(1)
        )
        is not None
    )


@command
def link_cases(case_id: int, actor: User, reference: str, kind: str, reason: str = "") -> CaseLink:
    """Link a case to another the actor may see, by its reference.

    ``related``: one link for the pair, a ``case_linked`` event in both chains. ``duplicate_of``:
    this case is the duplicate — it is closed through the workflow (reason required) with a
    ``status`` and a ``marked_duplicate`` event, and the kept case records the link. Refused: a
    reference not found or not visible (one message for both), the case itself, a pair already
    linked, a duplicate that is not open, a kept case that is itself a duplicate, and a case
    that other reports were joined with.
    """
    if kind not in {k.value for k in LinkKind}:
        raise CommandError(N_("Choose how the cases are linked."))
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise CommandError(N_("Write at most %(max)d characters."), max=REASON_MAX)
    _visible(case_id, actor)
    other = _other_case(actor, reference)
    if other.id == case_id:
        raise CommandError(N_("A case cannot be linked to itself."))
    case, other = _lock_pair(actor, case_id, other.id)
    if _link_between(case.id, other.id) is not None:
        raise CommandError(N_("These cases are already linked."))
    now = unit.utcnow()
    if kind == LinkKind.DUPLICATE_OF:
        return _mark_duplicate(case, other, actor, reason, now)
    low, high = sorted((case.id, other.id))
    link = CaseLink(
        case_id=low, other_case_id=high, kind=LinkKind.RELATED.value, created_by=actor.id, created_at=now, reason=reason
    )
    db.session.add(link)
    for this, that in ((case, other), (other, case)):
        this.updated_at = now
        record(
            this, ActorType.STAFF, Action.CASE_LINKED, actor, new=that.id, reason=reason, details={"kind": kind}, at=now
        )
    return link


def _mark_duplicate(case: Case, kept: Case, actor: User, reason: str, now: datetime) -> CaseLink:
    """Close ``case`` as a duplicate of ``kept`` (both locked, not yet linked)."""
    if not reason:
        raise CommandError(N_("A reason is required to close a case as a duplicate."))
    transition = workflow.duplicate_closing(case.status)
    if transition is None:
        raise CommandError(N_("This case is already finished; only an open case can be closed as a duplicate."))
    if _is_duplicate(kept.id):
        raise CommandError(
            N_("That case is itself a duplicate of another; link this one to the case it was joined with.")
        )
    if _has_duplicates(case.id):
        raise CommandError(N_("Other reports were joined with this case; it cannot become a duplicate itself."))
    link = CaseLink(
        case_id=case.id,
        other_case_id=kept.id,
        kind=LinkKind.DUPLICATE_OF.value,
        created_by=actor.id,
        created_at=now,
        reason=reason,
    )
    db.session.add(link)
    apply_transition(case, transition, now)
    record(
        case,
        ActorType.STAFF,
        Action.STATUS,
        actor,
        old=transition.source.value,
        new=transition.target.value,
        reason=reason,
        at=now,
    )
    record(case, ActorType.STAFF, Action.MARKED_DUPLICATE, actor, new=kept.id, reason=reason, at=now)
    kept.updated_at = now
    record(
        kept,
        ActorType.STAFF,
        Action.CASE_LINKED,
        actor,
        new=case.id,
        reason=reason,
        details={"kind": LinkKind.DUPLICATE_OF.value, "duplicate": True},
        at=now,
    )
    return link


@command
def unlink_cases(case_id: int, actor: User, link_id: int) -> None:
    """Remove a ``related`` link of this case (both cases must be visible to the actor); a
    ``case_unlinked`` event in both chains. A duplicate's link stays: it is why the case was closed."""
    _visible(case_id, actor)
    link = db.session.get(CaseLink, link_id)
    if link is None or case_id not in (link.case_id, link.other_case_id):
        raise CommandError(N_("That link was not found."))
    other_id = link.other_case_id if link.case_id == case_id else link.case_id
    other = db.session.get(Case, other_id)
    if other is None or not access.can_see(db.session, actor, other):
        raise CommandError(N_("That link was not found."))
    if link.kind != LinkKind.RELATED:
        raise CommandError(N_("A duplicate's link is how it was closed; it cannot be removed."))
    case, other = _lock_pair(actor, case_id, other_id)
    now = unit.utcnow()
    db.session.delete(link)
    for this, that in ((case, other), (other, case)):
        this.updated_at = now
        record(this, ActorType.STAFF, Action.CASE_UNLINKED, actor, old=that.id, at=now)
