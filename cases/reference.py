"""The office's reference data a report needs, kept per process: routing rules, queues, categories.

Every report routes over the active rules, names its queue and counts its due dates from its
category's settings. These tables change a few times a year, so each process keeps a plain copy
and checks one number before using it: ``reference_version``, which database triggers move on
every insert, update or delete of those tables (migration 0019), whoever makes it — an admin page
on another instance, the CLI, a restore. The check reads in the caller's transaction, so a
report routes over the rules its own transaction sees.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select

from cases.models import CategorySetting, Queue, ReferenceVersion, RoutingRule
from storage import db


@dataclass(frozen=True)
class RuleRow:
    """A routing rule as ``routing.route`` reads it (the ``routing.Rule`` protocol)."""

    id: int
    position: int
    name: str
    category: Optional[str]
    immediate_danger: Optional[bool]
    child_affected: Optional[str]
    in_custody: Optional[str]
    region: Optional[str]
    queue_id: int
    priority: int
    active: bool


@dataclass(frozen=True)
class QueueRow:
    id: int
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class CategoryRow:
    slug: str
    first_response_hours: Optional[int]
    first_response_working_days: int
    resolution_working_days: Optional[int]


@dataclass(frozen=True)
class Reference:
    version: int | None
    rules: tuple[RuleRow, ...]  # the active ones, in position order
    queues: dict[int, QueueRow]
    categories: dict[str, CategoryRow]


_RULE_COLUMNS = [getattr(RoutingRule, f) for f in RuleRow.__dataclass_fields__]


_VERSION = select(ReferenceVersion.version).where(ReferenceVersion.id == 1)


def current_version() -> int | None:
    # Through the transaction's connection: one indexed row, without the ORM's result machinery.
    return db.session.connection().execute(_VERSION).scalar()


def load(version: int | None) -> Reference:
    """Read the reference tables afresh (plain rows, no ORM objects), labelled with ``version``
    read before them (a change committed in between is newer than the label: read again next time)."""
    session = db.session
    rules = tuple(
        RuleRow(*row)
        for row in session.execute(
            select(*_RULE_COLUMNS).where(RoutingRule.active.is_(True)).order_by(RoutingRule.position)
        )
    )
    queues = {
        row.id: QueueRow(row.id, row.slug, row.name, row.description or "")
        for row in session.execute(select(Queue.id, Queue.slug, Queue.name, Queue.description))
    }
    categories = {
        row.slug: CategoryRow(*row)
        for row in session.execute(
            select(
                CategorySetting.slug,
                CategorySetting.first_response_hours,
                CategorySetting.first_response_working_days,
                CategorySetting.resolution_working_days,
            )
        )
    }
    return Reference(version, rules, queues, categories)


def cached(store: MutableMapping[str, Reference]) -> Reference:
    """The copy in ``store`` (one per app, so per process), read again when the version moved.

    Without a version row (a database emptied by hand) nothing is kept: every call reads afresh.
    """
    kept = store.get("reference")
    version = current_version()
    if kept is not None and version is not None and kept.version == version:
        return kept
    fresh = load(version)
    if fresh.version is not None:
        store["reference"] = fresh
    return fresh
