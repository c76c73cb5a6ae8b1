"""Operations on the installation itself: a backup taken, a backup restored. Both audited.

The copy and the restore happen outside the ORM (SQLite's backup API, ``pg_dump`` and
``pg_restore``, in ``storage.backup``); what the app writes about them is an event in the
system chain, through these commands.
"""

from __future__ import annotations

from cases.commands.unit import command, record, utcnow
from cases.vocabulary import Action, ActorType


@command
def record_backup(dialect: str) -> None:
    """The ``backup_created`` event, appended before the copy so the backup holds it."""
    record(None, ActorType.SYSTEM, Action.BACKUP_CREATED, new=dialect, at=utcnow())


@command
def record_restore(backup_created_at: str, revision: str | None) -> None:
    """The ``restored`` event, the first after the backed-up head: when the backup was taken, at
    which schema revision."""
    record(
        None,
        ActorType.SYSTEM,
        Action.RESTORED,
        new=backup_created_at,
        details={"schema_revision": revision},
        at=utcnow(),
    )
