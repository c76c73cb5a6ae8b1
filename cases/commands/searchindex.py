"""Keeping the blind search index (``cases/search.py``) in step with the encrypted texts.

Terms are written in the same transaction as the text they come from (a report,
a message), removed with the content by retention, and rebuilt for every case
by ``flask --app wsgi search rebuild`` (after an upgrade, or with a new search key), which also
rekeys the name terms of the register of institutions (``cases/institutions.py``).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cases import search
from cases.commands.institutions import reindex_institutions
from cases.commands.unit import command, record, utcnow
from cases.models import Case, Message, SearchTerm
from cases.vocabulary import Action, ActorType
from storage import crypto, db

BATCH = 200


def search_key() -> bytes:
    return current_app.extensions["shagym_search_keys"].current()[1]


def index_terms(case_id: int, terms: set[str]) -> None:
    """Add a case's terms (those it has already are kept once); part of a command."""
    if not terms:
        return
    key = search_key()
    upsert = sqlite_insert if db.engine.dialect.name == "sqlite" else pg_insert
    rows = [{"term": t, "case_id": case_id} for t in search.blind_all(key, terms)]
    # Plain rows through the transaction's connection: no ORM bulk machinery for a dozen terms.
    db.session.connection().execute(upsert(SearchTerm.__table__).on_conflict_do_nothing(), rows)


def index_case(case: Case) -> None:
    """The terms of a new case's narrative, place and contact details; part of a command."""
    index_terms(
        case.id,
        search.text_terms(case.narrative, case.place_description)
        | search.contact_terms(case.contact_email, case.contact_phone),
    )


def forget_case(case_id: int) -> None:
    """Remove every term of a case (its content is destroyed); part of a command."""
    db.session.execute(delete(SearchTerm).where(SearchTerm.case_id == case_id))


@command
def rebuild_batch(after_id: int) -> tuple[int, int] | None:
    """Recompute the terms of up to BATCH cases after ``after_id`` under the current search key;
    (the last case id done, how many), or None when there are no more."""
    cases = db.session.scalars(select(Case).where(Case.id > after_id).order_by(Case.id).limit(BATCH)).all()
    if not cases:
        return None
    ids = [c.id for c in cases]
    db.session.execute(delete(SearchTerm).where(SearchTerm.case_id.in_(ids)))
    bodies: dict[int, list[str]] = {}
    for m in db.session.scalars(select(Message).where(Message.case_id.in_(ids))):
        if m.body:
            bodies.setdefault(m.case_id, []).append(m.body)
    for case in cases:
        if case.content_destroyed_at is None:
            index_case(case)
            index_terms(case.id, search.text_terms(*bodies.get(case.id, [])))
    return ids[-1], len(ids)


@command
def record_rebuild(cases: int, key_id: str) -> None:
    record(None, ActorType.SYSTEM, Action.SEARCH_REBUILT, new=key_id, details={"cases": cases}, at=utcnow())


def rebuild_index(new_key: bool = False) -> tuple[str, int]:
    """Rebuild the whole index in short transactions (the app keeps running); with ``new_key``
    under a fresh search key first. Returns the key id and the number of cases."""
    ring: crypto.Keyring = current_app.extensions["shagym_search_keys"]
    if new_key:
        ring.add_new_key()
    done, last = 0, 0
    while True:
        step = rebuild_batch(last)
        if step is None:
            break
        last, count = step
        done += count
    reindex_institutions()  # their name terms are keyed with the same key
    record_rebuild(done, ring.current_id)
    return ring.current_id, done
