"""Operations on many cases at once: retention and key rotation. Both audited.

Both work in short transactions so the app keeps running: one command per
case destroyed, one per batch re-encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import LargeBinary, func, select, type_coerce, update

from cases.commands.unit import command, lock_case, record
from cases.models import ENCRYPTED_COLUMNS, Case, CategorySetting, Evidence, Message
from cases.vocabulary import Action, ActorType
from storage import crypto, db

BATCH = 500


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
    case.narrative = None
    case.place_description = None
    case.contact_email = None
    case.contact_phone = None
    case.content_destroyed_at = now
    case.version += 1
    record(
        case,
        ActorType.SYSTEM,
        Action.CONTENT_DESTROYED,
        at=now,
        details={"messages": messages, "files": files, "policy": "retention"},
    )
    return True


# --- key rotation -------------------------------------------------------------------


def _key_ids_in_use() -> set[str]:
    found: set[str] = set()
    for model, columns in ENCRYPTED_COLUMNS:
        for name in columns:
            column = getattr(model, name)
            # The key id sits at bytes 3..10 of every stored value (after the 2-byte format marker).
            prefix = func.substr(type_coerce(column, LargeBinary), 1, 2 + crypto.KEY_ID_LEN)
            for raw in db.session.scalars(select(prefix).where(column.is_not(None)).distinct()):
                found.add(crypto.Keyring.key_id_of(bytes(raw)))
    return found


@command
def reencrypt_batch(ring: crypto.Keyring, model, name: str, after_id: int) -> tuple[int | None, int]:
    """Re-encrypt up to BATCH values of one column after ``after_id`` under the current key.

    Returns the last id looked at (None when the column is done) and how many were rewritten.
    """
    column = getattr(model, name)
    rows = db.session.execute(
        select(model.id, type_coerce(column, LargeBinary))
        .where(model.id > after_id, column.is_not(None))
        .order_by(model.id)
        .limit(BATCH)
    ).all()
    done = 0
    for row_id, raw in rows:
        if crypto.Keyring.key_id_of(bytes(raw)) == ring.current_id:
            continue
        plain = ring.decrypt(bytes(raw), column.type.purpose)
        value = plain if name == "content" else plain.decode("utf-8")
        db.session.execute(update(model).where(model.id == row_id).values({name: value}))
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
