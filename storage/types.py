"""Declarative base and the column types every model shares.

Timestamps are stored as UTC and always come back timezone-aware, on SQLite
(which has no time zones) as on PostgreSQL, so audit hashes computed when an
event is written are recomputed identically when it is read back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, LargeBinary, MetaData
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


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with AES-GCM before it reaches the database.

    The stored bytes carry the key id, so rotation can re-encrypt rows one by
    one while both keys are readable. ``purpose`` is bound into the
    ciphertext as associated data: a value cannot be moved to another column.
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return crypto.current_keyring().encrypt(value.encode("utf-8"), self.purpose)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return crypto.current_keyring().decrypt(bytes(value), self.purpose).decode("utf-8")


class EncryptedBytes(EncryptedText):
    """Binary content (evidence files), encrypted like ``EncryptedText``."""

    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        return crypto.current_keyring().encrypt(bytes(value), self.purpose)

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        return crypto.current_keyring().decrypt(bytes(value), self.purpose)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
