"""A citizen's report becomes a case: stored, routed and recorded in one transaction."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from cases import evidence, receipts, routing
from cases.commands import unit
from cases.commands.casework import first_response_due, reference_data, resolution_due
from cases.commands.searchindex import index_case
from cases.commands.unit import CommandError, command, record, touch
from cases.models import Case, Evidence, EvidenceDay, Queue, User
from cases.reference import QueueRow
from cases.vocabulary import Action, ActorType, Channel, Priority
from cases.workflow import Status
from i18n import DEFAULT_LOCALE, LANGUAGES, N_
from storage import db

log = logging.getLogger("shagym.evidence")


@dataclass(frozen=True)
class NewReport:
    category: str
    narrative: str
    occurred_on: Optional[date]
    ongoing: bool
    region: str
    place_description: str
    immediate_danger: bool
    child_affected: str
    in_custody: str
    reporter_role: str
    contact_email: str
    contact_phone: str
    channel: Channel = Channel.WEB
    language: str = DEFAULT_LOCALE  # the reporter's: messages and e-mail notices go out in it

    @property
    def facts(self) -> routing.ReportFacts:
        return routing.ReportFacts(
            self.category, self.immediate_danger, self.child_affected, self.in_custody, self.region
        )


QUOTA_WARNING_SHARE = 0.8


def take_evidence_quota(files: Sequence[evidence.Checked], now: datetime) -> bool:
    """Reserve today's space for these files in the site-wide daily quota; False if it is full.

    One row a day, locked for the transaction, so concurrent reports cannot both take the
    last space. Part of a command: the reservation is committed (or rolled back) with the report.
    """
    quota = current_app.config["EVIDENCE_DAILY_QUOTA_MB"] * 1024 * 1024
    size = sum(f.size for f in files)
    if not files or quota <= 0:
        return True
    day = now.astimezone(UTC).date()
    upsert = sqlite_insert if db.engine.dialect.name == "sqlite" else pg_insert
    db.session.execute(upsert(EvidenceDay).values(day=day, stored_bytes=0).on_conflict_do_nothing())
    row = db.session.scalars(
        select(EvidenceDay).where(EvidenceDay.day == day).with_for_update().execution_options(populate_existing=True)
    ).one()
    if row.stored_bytes + size > quota:
        log.warning("evidence_quota_full day=%s quota_mb=%s", day.isoformat(), quota // (1024 * 1024))
        return False
    if row.stored_bytes < QUOTA_WARNING_SHARE * quota <= row.stored_bytes + size:
        log.warning("evidence_quota_80_percent day=%s quota_mb=%s", day.isoformat(), quota // (1024 * 1024))
    row.stored_bytes += size
    return True


@dataclass(frozen=True)
class Filed:
    """The new case, its receipt, and what the receipt page shows, read before the commit
    (so rendering it never reopens a transaction or waits for the writer lock)."""

    case: Case
    receipt: str
    queue: Queue | QueueRow
    reference: str = ""
    due_at: datetime | None = None
    queue_name: str = ""
    queue_description: str = ""
    has_email: bool = False
    files_not_kept: int = 0  # accepted files left out because the daily quota was full


class DuplicateSubmission(CommandError):
    """The same form was submitted twice (a refresh or double click)."""


@command
def file_report(
    report: NewReport,
    receipt_key: bytes,
    submission_token: str | None = None,
    files: Sequence[evidence.Checked] = (),
    filed_by: User | None = None,
) -> Filed:
    """Store a report and its files, route it and write ``created``, ``routed`` and one
    ``evidence_added`` per file: one transaction, one commit, so a report and its files
    are stored together or not at all.

    With ``filed_by``, a staff member took the report (phone, walk-in, letter, e-mail) on the
    reporter's behalf: ``created`` names them and the channel. Raises ``DuplicateSubmission``
    when this form's token was already used.
    """
    if filed_by is not None and report.channel == Channel.WEB:
        raise CommandError(N_("Choose how the report reached us."))
    if report.language not in LANGUAGES:
        raise CommandError(N_("Choose the reporter's language."))
    session = db.session
    now = unit.utcnow()
    office = reference_data()
    decision = routing.route(report.facts, office.rules)
    code = receipts.new_code()
    case = Case(
        created_at=now,
        updated_at=now,
        public_updated_at=now,
        category=report.category,
        region=report.region,
        occurred_on=report.occurred_on,
        ongoing=report.ongoing,
        immediate_danger=report.immediate_danger,
        child_affected=report.child_affected,
        in_custody=report.in_custody,
        reporter_role=report.reporter_role,
        channel=report.channel.value,
        language=report.language,
        receipt_hash=receipts.digest(receipt_key, receipts.normalize(code) or ""),
        submission_hash=hashlib.sha256(submission_token.encode()).digest() if submission_token else None,
        queue_id=decision.queue_id,
        routing_rule_id=decision.rule.id,
        routing_rule_name=decision.rule.name,
        priority=decision.priority,
        status=Status.NEW.value,
        is_open=True,
        due_at=first_response_due(report.category, now, decision.priority, office),
        resolution_due_at=resolution_due(report.category, now, office),
        version=1,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()  # the unit of work rolls back too; here first, to ask what clashed
        if submission_token and _submission_used(submission_token):
            raise DuplicateSubmission(N_("This report was already received.")) from exc
        raise
    # Set with the reference in the same UPDATE: the text is sealed to the case id, known only now.
    case.reference = f"SHG-{now.year}-{case.id:06d}"
    case.narrative = report.narrative
    case.place_description = report.place_description or None
    case.contact_email = report.contact_email or None
    case.contact_phone = report.contact_phone or None
    index_case(case)
    queue = office.queues[decision.queue_id]
    record(
        case,
        ActorType.STAFF if filed_by else ActorType.PUBLIC,
        Action.CREATED,
        filed_by,
        new=case.reference,
        at=now,
        details={"category": report.category}
        | ({"channel": report.channel.value, "on_behalf_of_reporter": True} if filed_by else {}),
        new_chain=True,
    )
    record(
        case,
        ActorType.SYSTEM,
        Action.ROUTED,
        new=queue.slug,
        at=now,
        details={
            "rule": decision.rule.name,
            "rule_id": decision.rule.id,
            "priority": Priority(decision.priority).label,
            "due": case.due_at.isoformat(),
        },
    )
    # Files never cost the report itself: with the day's quota full, the report is kept without them.
    kept = files if take_evidence_quota(files, now) else ()
    for checked in kept:
        add_evidence(case, checked, now)
    return Filed(
        case,
        code,
        queue,
        case.reference,
        case.due_at,
        queue.name,
        queue.description or "",
        bool(report.contact_email),
        len(files) - len(kept),
    )


def add_evidence(case: Case, checked: evidence.Checked, now: datetime) -> Evidence:
    """Store one accepted file with the case; its SHA-256 and size go into the audit chain. Part of a command."""
    item = Evidence(
        case_id=case.id,
        created_at=now,
        filename=checked.filename,
        kind=checked.kind,
        size=checked.size,
        sha256=checked.sha256,
        has_gps=checked.has_gps,
        content=checked.content,
    )
    db.session.add(item)
    db.session.flush()
    record(
        case,
        ActorType.REPORTER,
        Action.EVIDENCE_ADDED,
        new=item.id,
        at=now,
        details={"sha256": checked.sha256, "size": checked.size, "type": checked.kind},
    )
    return item


@command
def reissue_receipt(submission_token: str, receipt_key: bytes, window: timedelta) -> Filed:
    """The same form came back (its answer never reached the reporter): a fresh receipt for the
    case it stored, shown once; the earlier code stops working (``receipt_reissued`` event).

    Raises ``DuplicateSubmission`` when no case has this form token, or it is older than ``window``.
    """
    digest = hashlib.sha256(submission_token.encode()).digest()
    case = db.session.scalars(select(Case).where(Case.submission_hash == digest).with_for_update(of=Case)).first()
    now = unit.utcnow()
    if case is None or now - case.created_at > window or case.content_destroyed_at is not None:
        raise DuplicateSubmission(N_("This report was already received."))
    code = receipts.new_code()
    case.receipt_hash = receipts.digest(receipt_key, receipts.normalize(code) or "")
    touch(case, now)
    record(case, ActorType.PUBLIC, Action.RECEIPT_REISSUED, at=now)
    return _filed(case, code)


def _filed(case: Case, code: str) -> Filed:
    """What the receipt page shows, read before the commit."""
    queue = case.queue
    return Filed(
        case,
        code,
        queue,
        case.reference or "",
        case.due_at,
        queue.name,
        queue.description or "",
        bool(case.contact_email),
    )


def _submission_used(token: str) -> bool:
    digest = hashlib.sha256(token.encode()).digest()
    return db.session.scalar(select(Case.id).where(Case.submission_hash == digest)) is not None
