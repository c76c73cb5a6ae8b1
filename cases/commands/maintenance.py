"""Operations on many cases at once: retention and key rotation. Both audited.

Both work in short transactions so the app keeps running: one command per
case destroyed, one per batch re-encrypted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from cases.commands.searchindex import forget_case
from cases.commands.unit import command, lock_case, record
from cases.models import ENCRYPTED_COLUMNS, Case, CategorySetting, Evidence, Message, Referral
from cases.vocabulary import Action, ActorType
from storage import crypto, db
from storage.types import sealed_fields

BATCH = 500
log = logging.getLogger("shagym.keys")


# --- retention ------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    case_id: int
    reference: str
    category: str
    finished_at: datetime


def due_for_destruction(now: datetime, default_days: int) -> list[Due]:
    """Closed or rejected cases past their category's retention period, not on legal hold."""
    out: list[Due] = []
    for setting in db.session.scalars(select(CategorySetting).order_by(CategorySetting.position)):
        cutoff = now - timedelta(days=setting.retention_days or default_days)
        rows = db.session.execute(
            select(Case.id, Case.reference, Case.category, Case.finished_at)
            .where(
                Case.is_open.is_(False),
                Case.finished_at.is_not(None),
                Case.finished_at < cutoff,
                Case.category == setting.slug,
                Case.legal_hold.is_(False),
                Case.content_destroyed_at.is_(None),
            )
            .order_by(Case.finished_at)
        )
        out.extend(Due(*row) for row in rows)
    return out


@command
def destroy_content(case_id: int, now: datetime) -> bool:
    """Destroy one case's personal content; the skeleton and the audit chain stay.

    Checked again under the row lock: a case reopened, put on hold or already destroyed
    since it was listed is left alone (returns False).
    """
    case = lock_case(case_id)
    if case.legal_hold or case.content_destroyed_at is not None or case.is_open:
        return False
    messages = db.session.execute(update(Message).where(Message.case_id == case.id).values(body=None)).rowcount
    files = db.session.execute(
        update(Evidence).where(Evidence.case_id == case.id).values(content=None, filename=None)
    ).rowcount
    # The letter's copy of the narrative and the body's answer are the case's content too.
    referrals = db.session.execute(
        update(Referral).where(Referral.case_id == case.id).values(letter_narrative=None, answer_summary=None)
    ).rowcount
    case.narrative = None
    case.place_description = None
    case.contact_email = None
    case.contact_phone = None
    case.content_destroyed_at = now
    case.version += 1
    forget_case(case.id)
    record(
        case,
        ActorType.SYSTEM,
        Action.CONTENT_DESTROYED,
        at=now,
        details={"messages": messages, "files": files, "referrals": referrals, "policy": "retention"},
    )
    return True


# --- key rotation -------------------------------------------------------------------


def _key_ids_in_use() -> set[str]:
    found: set[str] = set()
    for model, columns in ENCRYPTED_COLUMNS:
        for name in columns:
            column = getattr(model, sealed_fields(model)[name].raw)
            # The key id sits at bytes 3..10 of every stored value (after the 2-byte format marker).
            prefix = func.substr(column, 1, 2 + crypto.KEY_ID_LEN)
            for raw in db.session.scalars(select(prefix).where(column.is_not(None)).distinct()):
                found.add(crypto.Keyring.key_id_of(bytes(raw)))
    return found


@command
def reencrypt_batch(ring: crypto.Keyring, model, name: str, after_id: int) -> tuple[int | None, int]:
    """Re-encrypt up to BATCH values of one field after ``after_id`` under the current key,
    bound to their owner (values from before owners were bound are upgraded too).

    Returns the last id looked at (None when the field is done) and how many were rewritten.
    A value that does not open for its owner (moved in the database) is left as it is, for
    ``audit verify`` to report.
    """
    field = sealed_fields(model)[name]
    raw, owner = getattr(model, field.raw), getattr(model, field.owner)
    rows = db.session.execute(
        select(model.id, owner, raw).where(model.id > after_id, raw.is_not(None)).order_by(model.id).limit(BATCH)
    ).all()
    done = 0
    for row_id, owner_id, stored in rows:
        stored = bytes(stored)
        if crypto.Keyring.key_id_of(stored) == ring.current_id and crypto.Keyring.is_bound(stored):
            continue
        try:
            plain = ring.decrypt(stored, field.purpose, owner_id)
        except crypto.Misplaced:
            log.warning("reencrypt_skipped_unreadable table=%s field=%s id=%s", model.__tablename__, name, row_id)
            continue
        resealed = ring.encrypt(plain, field.purpose, owner_id)
        db.session.execute(update(model).where(model.id == row_id).values({raw: resealed}))
        done += 1
    return (rows[-1][0] if rows else None), done


def reencrypt_all(ring: crypto.Keyring) -> dict[str, int]:
    """Rewrite every value not under the current key, one short transaction per batch (the app keeps running)."""
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED_COLUMNS:
        for name in columns:
            last_id: int | None = 0
            total = 0
            while last_id is not None:
                last_id, done = reencrypt_batch(ring, model, name, last_id)
                total += done
            counts[f"{model.__tablename__}.{name}"] = total
    return counts


@command
def record_key_rotation(old: str, new: str, counts: dict[str, int]) -> None:
    """The ``keys_rotated`` event in the system chain, after every value is under the new key."""
    record(None, ActorType.SYSTEM, Action.KEYS_ROTATED, old=old, new=new, details=counts, at=datetime.now(UTC))


def rotate_keys(ring: crypto.Keyring) -> tuple[str, dict[str, int]]:
    """Make a new key current and re-encrypt every value under it; one audit event in the system chain.

    Key files: a new key is created (older files stay, so running workers keep reading).
    ``SHAGYM_DATA_KEYS``: the operator has already appended the new key (the last one is
    current) and restarted; this re-encrypts everything still under an older key.
    """
    if ring.from_environment:
        new = ring.current_id
        in_use = _key_ids_in_use()
        older = sorted(in_use - {new})
        old = ",".join(older) if older else new
    else:
        old = ring.current_id
        new = ring.add_new_key()
    counts = reencrypt_all(ring)
    record_key_rotation(old, new, counts)
    return new, counts


@command
def record_audit_key_rotation(old: str, new: str) -> None:
    """The ``audit_key_rotated`` event in the system chain, the first one MAC'd under the new key."""
    record(None, ActorType.SYSTEM, Action.AUDIT_KEY_ROTATED, old=old, new=new, at=datetime.now(UTC))


def rotate_audit_key(ring: crypto.Keyring) -> str:
    """Make a new audit MAC key current. Events keep the key they were written under (its id is
    part of each event), so nothing is rewritten; every older key stays needed for ``audit verify``."""
    if ring.from_environment:
        raise RuntimeError("audit keys come from SHAGYM_AUDIT_KEYS: append a new id:key there and restart")
    old = ring.current_id
    new = ring.add_new_key()
    record_audit_key_rotation(old, new)
    return new
