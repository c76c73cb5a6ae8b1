"""Recording the fingerprints of the keys in use (``cases/keyprints.py``)."""

from __future__ import annotations

from cases.commands.unit import command
from cases.models import KeyFingerprint
from storage import db


@command
def record_key_fingerprints(new: dict[str, str]) -> None:
    """Record the fingerprints of keys the database does not know yet (first start, a ring key
    added by rotation). Never replaces one: a differing key is refused before this runs, and two
    instances starting at once with different keys collide on the name (``Conflict``), so the
    loser compares again and refuses. No audit event: this is start-up bookkeeping of the
    installation, like the seeded reference data, not anyone's action on a case; a changed key
    shows as a refusal, and a rotation has its own event."""
    for name, print_ in sorted(new.items()):
        db.session.add(KeyFingerprint(name=name, fingerprint=print_))
