"""Declarative base and the column types every model shares.

Timestamps are stored as UTC and always come back timezone-aware, on SQLite
(which has no time zones) as on PostgreSQL, so audit hashes computed when an
event is written are recomputed identically when it is read back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from storage import crypto

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids are 32-bit integer columns; a larger number in a URL or form names nothing (and SQLite
# cannot even bind one above 2**63), so it is answered like any unknown id.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(timezone.utc)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Sealed:
    """An attribute stored encrypted in the mapped column ``raw`` and bound to its owner.

    The owner is the row's own id (``owner="id"``) or the case it belongs to
    (``owner="case_id"``); it goes into the AES-GCM associated data, so a value
    moved or swapped to another row or case in the database does not open: it
    reads as None and its name appears in ``unreadable(obj)`` (and ``audit verify``
    reports it). On the class, the attribute is the raw column, for queries such as
    ``Case.narrative.is_(None)``. Values are decrypted on first read, not on load:
    a queue page that never shows a narrative never decrypts one.

    A value set before the owner id exists (a new row) is sealed when the row is
    inserted; a row that is its own owner must be flushed first (it has no id before).
    """

    def __init__(self, raw: str, purpose: str, owner: str = "id", binary: bool = False) -> None:
        self.raw, self.purpose, self.owner, self.binary = raw, purpose, owner, binary
        self.name = raw

    def __set_name__(self, cls: type, name: str) -> None:
        self.name = name
        sealed = dict(getattr(cls, "__sealed__", {}))
        sealed[name] = self
        cls.__sealed__ = sealed  # type: ignore[attr-defined]

    def __get__(self, obj: object, cls: type | None = None):
        if obj is None:
            return getattr(cls, self.raw)
        pending = obj.__dict__.get("_sealed_pending", {})
        if self.name in pending:
            return pending[self.name]
        stored = getattr(obj, self.raw)
        if stored is None:
            return None
        cache = obj.__dict__.setdefault("_sealed_cache", {})
        hit = cache.get(self.name)
        if hit is not None and hit[0] is stored:
            return hit[1]
        try:
            plain: bytes | None = crypto.current_keyring().decrypt(bytes(stored), self.purpose, self.owner_id(obj))
        except crypto.Misplaced:
            plain = None
        value = plain if plain is None or self.binary else plain.decode("utf-8")
        cache[self.name] = (stored, value)
        return value

    def __set__(self, obj: object, value) -> None:
        obj.__dict__.get("_sealed_cache", {}).pop(self.name, None)
        if value is not None and self.owner_id(obj) is None:
            obj.__dict__.setdefault("_sealed_pending", {})[self.name] = value
            return
        obj.__dict__.get("_sealed_pending", {}).pop(self.name, None)
        setattr(obj, self.raw, None if value is None else self.seal(value, self.owner_id(obj)))

    def owner_id(self, obj: object) -> int | None:
        return getattr(obj, self.owner)

    def seal(self, value: str | bytes, owner: int | str) -> bytes:
        plain = bytes(value) if self.binary else str(value).encode("utf-8")
        return crypto.current_keyring().encrypt(plain, self.purpose, owner)

    def is_readable(self, obj: object) -> bool:
        """False when a stored value does not open for this owner (moved, swapped or altered).
        A deferred value not loaded yet (evidence content) is not loaded for this: True."""
        if self.raw not in obj.__dict__:
            return True
        return getattr(obj, self.raw) is None or self.__get__(obj) is not None

    def seal_pending(self, obj: object) -> None:
        pending = obj.__dict__.get("_sealed_pending", {})
        if self.name not in pending:
            return
        if self.owner_id(obj) is None:
            raise ValueError(f"{type(obj).__name__}.{self.name} is bound to {self.owner}, which is not set yet")
        self.__set__(obj, pending.pop(self.name))


def sealed_fields(obj_or_cls: object) -> dict[str, Sealed]:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return getattr(cls, "__sealed__", {})


def unreadable(obj: object) -> list[str]:
    """The sealed fields of ``obj`` (those loaded) whose stored value does not belong to it."""
    return [name for name, field in sealed_fields(obj).items() if not field.is_readable(obj)]


def seal_pending(mapper, connection, target) -> None:
    """Mapper hook (before insert/update): seal values set before their owner id was known."""
    for field in sealed_fields(target).values():
        field.seal_pending(target)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
