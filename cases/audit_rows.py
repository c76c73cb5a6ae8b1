"""Events as plain rows for ``audit verify``: one streamed query, no ORM objects, no column-type
processing, and the canonical message of each row built without a dict or the JSON encoder.

``message`` returns exactly the bytes ``compute_hash`` hashes when the event is written
(``prev_hash || canonical_json(event_fields(e))``, tested against it); a value of an
unexpected type (something written into the database by hand) takes the general path, so
the bytes are never "the same" by accident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

# The columns in the order ``message`` and ``audit.verify_all`` unpack them.
COLUMNS = (
    "id",
    "chain_id",
    "case_id",
    "seq",
    "created_at",
    "actor_type",
    "actor_id",
    "action",
    "old_value",
    "new_value",
    "reason",
    "details",
    "prev_hash",
    "hash",
    "key_id",
)
_SQL = (
    "SELECT id, chain_id, case_id, seq, created_at, actor_type, actor_id, action, old_value, new_value, reason, "
    "details, prev_hash, hash, key_id FROM events ORDER BY id"
)

# What ``json.JSONEncoder(ensure_ascii=False)`` quotes strings with (the C version where built).
_quote = json.encoder.encode_basestring
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def batches(session: Session, size: int) -> Iterator[list[Any]]:
    """Every event in id order, ``size`` rows at a time, as the driver's own tuples, from one
    query (a server-side cursor on PostgreSQL): memory stays bounded, no row objects are built
    and the caller's ORM objects are left alone. Runs in the session's transaction."""
    raw = session.connection().connection.driver_connection
    postgres = session.get_bind().dialect.name == "postgresql"
    cursor = raw.cursor(name="shagym_verify") if postgres else raw.cursor()
    try:
        cursor.execute(_SQL)
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        cursor.close()


def iso(value: Any) -> str:
    """``created_at`` as the hash has it (``audit._iso``): SQLite hands back its stored text
    ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), PostgreSQL a timezone-aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(row: Any) -> str:
    """``canonical_json(event_fields(event))`` for a row in COLUMNS order."""
    _id, chain, case, seq, at, actor_type, actor, action, old, new, reason, details, _prev, _hash, key = row
    if not (
        type(chain) is int
        and type(seq) is int
        and (case is None or type(case) is int)
        and (actor is None or type(actor) is int)
        and type(at) is str
        and len(at) == 26
        and at[10] == " "
        and at[19] == "."
    ):
        return _general(row)
    try:
        return (
            f'{{"action":{_quote(action)},"actor":{"null" if actor is None else actor},'
            f'"actor_type":{_quote(actor_type)},"at":"{at[:10]}T{at[11:]}+00:00",'
            f'"case":{"null" if case is None else case},"chain":{chain},'
            f'"details":{"null" if details is None else _quote(details)},'
            + ("" if key is None else f'"key":{_quote(key)},')
            + f'"new":{"null" if new is None else _quote(new)},"old":{"null" if old is None else _quote(old)},'
            f'"reason":{"null" if reason is None else _quote(reason)},"seq":{seq}}}'
        )
    except TypeError:  # a non-string where text belongs
        return _general(row)


def _general(row: Any) -> str:
    _id, chain, case, seq, at, actor_type, actor, action, old, new, reason, details, _prev, _hash, key = row
    try:
        at = iso(at)
    except (TypeError, ValueError, AttributeError):
        at = str(at)
    fields = {
        "chain": chain,
        "case": case,
        "seq": seq,
        "at": at,
        "actor_type": actor_type,
        "actor": actor,
        "action": action,
        "old": old,
        "new": new,
        "reason": reason,
        "details": details,
    }
    if key is not None:
        fields["key"] = key
    try:
        return _CANONICAL.encode(fields)
    except TypeError:  # bytes where text belongs: no event was ever written like this
        return "\x00" + repr(fields)
