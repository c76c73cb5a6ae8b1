"""Database models. Invariants that matter are also database constraints."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    false,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.institution_models import CaseInstitution as CaseInstitution
from cases.institution_models import Institution as Institution
from cases.institution_models import InstitutionTerm as InstitutionTerm
from cases.referral_models import PartnerBody, Referral
from cases.vocabulary import AccessKind, Answer, Channel, LinkKind, MailKind, MessageKind, Priority, Role, check_in
from cases.workflow import CLOCK_RUNNING, RESOLUTION_RUNNING, Status
from i18n import DEFAULT_LOCALE, LANGUAGES
from storage import db
from storage.types import Sealed, UTCDateTime, seal_pending, sealed_fields, utcnow

__all__ = ["PartnerBody", "Referral"]  # defined in referral_models.py, importable from here too
CLOCK_RUNNING_VALUES = frozenset(s.value for s in CLOCK_RUNNING)
RESOLUTION_RUNNING_VALUES = frozenset(s.value for s in RESOLUTION_RUNNING)
PRIORITY_RANGE = f"priority BETWEEN {min(Priority)} AND {max(Priority)}"
OPEN_NOW_COLUMNS = (
    "queue_id",
    "assignee_id",
    "status",
    "due_at",
    "first_response_at",
    "resolution_due_at",
    "category",
    "region",
    "channel",
    "priority",
    "is_open",
)


class CategorySetting(db.Model):
    """Per-category settings; names and explanations live in ``categories.py``."""

    __tablename__ = "categories"
    slug: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    first_response_hours: Mapped[Optional[int]] = mapped_column(Integer)
    first_response_working_days: Mapped[int] = mapped_column(Integer, default=3)
    # The resolution target in the office's working days; None: no target for this category.
    resolution_working_days: Mapped[Optional[int]] = mapped_column(Integer)
    retention_days: Mapped[Optional[int]] = mapped_column(Integer)


class Queue(db.Model):
    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoutingRule(db.Model):
    """One ordered routing rule; ``None`` in a condition means "any"."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        CheckConstraint(PRIORITY_RANGE, name="priority_range"),
        CheckConstraint(check_in("child_affected", Answer), name="child_values"),
        CheckConstraint(check_in("in_custody", Answer), name="custody_values"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[Optional[str]] = mapped_column(ForeignKey("categories.slug"))
    immediate_danger: Mapped[Optional[bool]] = mapped_column(Boolean)
    child_affected: Mapped[Optional[str]] = mapped_column(String(8))
    in_custody: Mapped[Optional[str]] = mapped_column(String(8))
    region: Mapped[Optional[str]] = mapped_column(String(32))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    priority: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    queue: Mapped[Queue] = relationship(lazy="joined")

    @property
    def priority_name(self) -> str:
        return Priority(self.priority).label


class ReferenceVersion(db.Model):
    """One number that database triggers move on every change to the routing rules, queues and
    category settings (migration 0019): workers compare it with the copy they keep in memory."""

    __tablename__ = "reference_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(check_in("role", Role), name="role_values"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    _totp_secret: Mapped[Optional[bytes]] = mapped_column("totp_secret", LargeBinary)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[Optional[int]] = mapped_column(Integer)
    # Wrong second-factor codes in the hour that started at ``second_factor_window_at``.
    second_factor_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    second_factor_window_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # A password reset by an administrator: the one-time code (argon2id, like passwords) and its end.
    reset_code_hash: Mapped[Optional[str]] = mapped_column(String(200))
    reset_code_expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    queues: Mapped[list[Queue]] = relationship(secondary="queue_memberships", order_by="Queue.name")

    totp_secret = Sealed("_totp_secret", "users.totp_secret")

    # Flask-Login protocol; the session id, not the user id, is what is stored.
    session_id = None  # set per request by the user loader
    staff_session = None

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_id or ""


class QueueMembership(db.Model):
    __tablename__ = "queue_memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)


class StaffSession(db.Model):
    """Server-side record of a staff sign-in; deleting it ends the session."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    reauthenticated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # Signed in with a one-time reset code: nothing but the new-password page until a password is set.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(check_in("status", Status), name="status_values"),
        CheckConstraint(check_in("channel", Channel), name="channel_values"),
        CheckConstraint(check_in("language", LANGUAGES), name="language_values"),
        CheckConstraint(PRIORITY_RANGE, name="priority_range"),
        CheckConstraint(check_in("child_affected", Answer), name="child_values"),
        CheckConstraint(check_in("in_custody", Answer), name="custody_values"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Queue pages: open cases of a queue, urgent first, then due date, then age.
        Index("ix_cases_queue_order", "queue_id", "is_open", "priority", "due_at", "id"),
        Index("ix_cases_assignee_open", "assignee_id", "is_open", "priority", "due_at", "id"),
        # The same order within one category or region of a queue (the queue page's filters).
        Index("ix_cases_queue_category", "queue_id", "category", "is_open", "priority", "due_at", "id"),
        Index("ix_cases_queue_region", "queue_id", "region", "is_open", "priority", "due_at", "id"),
        Index("ix_cases_retention", "is_open", "finished_at"),
        # The queue page's other orders: by due date, and oldest first.
        Index("ix_cases_queue_due", "queue_id", "is_open", "due_at", "id"),
        Index("ix_cases_queue_age", "queue_id", "is_open", "created_at", "id"),
        # The escalation list and the escalation run: open cases late on either target.
        Index("ix_cases_open_due", "is_open", "due_at"),
        Index("ix_cases_open_resolution", "is_open", "resolution_due_at"),
        # The supervisors' dashboard: reports received, and cases resolved, in a period.
        Index("ix_cases_created", "created_at"),
        Index("ix_cases_resolved", "resolved_at"),
        # Possible duplicates: cases of one category and region around a date (``cases/related.py``).
        Index("ix_cases_duplicates", "category", "region", "created_at"),
        # A queue's cases in id order: the batches of an export (cases/exports.py).
        Index("ix_cases_queue_id", "queue_id", "id"),
        # The dashboard's roll-ups: cases changed since a day was rolled up (``cases/rollups.py``).
        Index("ix_cases_updated", "updated_at"),
        # The dashboard's open-now figures (per queue, per case worker, late), read from the open
        # cases alone without touching the table: partial, so its size follows the backlog.
        Index(
            "ix_cases_open_now",
            *OPEN_NOW_COLUMNS,
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[Optional[str]] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    category: Mapped[str] = mapped_column(ForeignKey("categories.slug"))
    region: Mapped[str] = mapped_column(String(32))
    # Sealed (below): encrypted, bound to this case's id, decrypted only when read.
    _place_description: Mapped[Optional[bytes]] = mapped_column("place_description", LargeBinary)
    _narrative: Mapped[Optional[bytes]] = mapped_column("narrative", LargeBinary)
    occurred_on: Mapped[Optional[date]] = mapped_column(Date)
    ongoing: Mapped[bool] = mapped_column(Boolean, default=False)
    immediate_danger: Mapped[bool] = mapped_column(Boolean)
    child_affected: Mapped[str] = mapped_column(String(8))
    in_custody: Mapped[str] = mapped_column(String(8))
    reporter_role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default=Channel.WEB.value, server_default=Channel.WEB.value)
    # The reporter's language at filing: messages and e-mail notices go out in it.
    language: Mapped[str] = mapped_column(String(8), default=DEFAULT_LOCALE, server_default=DEFAULT_LOCALE)
    _contact_email: Mapped[Optional[bytes]] = mapped_column("contact_email", LargeBinary)
    _contact_phone: Mapped[Optional[bytes]] = mapped_column("contact_phone", LargeBinary)
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    submission_hash: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32), unique=True)

    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    routing_rule_id: Mapped[Optional[int]] = mapped_column(ForeignKey("routing_rules.id"))
    routing_rule_name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW.value)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paused_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # When the reporter got a first response (message, referral, rejection): the clock stops.
    first_response_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # The resolution target (None: the category has none); paused like ``due_at`` while awaiting.
    resolution_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # When the case left the open statuses (resolved, closed, rejected); None while open.
    resolved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # How many times a supervisor reopened the case (the dashboard's reopen rate).
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the supervisors were told that the case is late (they are told once).
    escalated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Reporter-visible activity (tracking page) and unread reporter messages (staff pages).
    public_updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reporter_news: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    content_destroyed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    queue: Mapped[Queue] = relationship(lazy="joined")
    assignee: Mapped[Optional[User]] = relationship(lazy="joined")

    narrative = Sealed("_narrative", "cases.narrative")
    place_description = Sealed("_place_description", "cases.place_description")
    contact_email = Sealed("_contact_email", "cases.contact_email")
    contact_phone = Sealed("_contact_phone", "cases.contact_phone")

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def priority_name(self) -> str:
        return Priority(self.priority).label

    @hybrid_method
    def is_overdue(self, now: datetime) -> bool:
        """The first-response clock runs (not paused, not met, not finished) and its due date has
        passed: the one overdue rule, for templates (``case.is_overdue(now)``) and queries
        (``where(Case.is_overdue(now))``)."""
        return self.status in CLOCK_RUNNING_VALUES and self.first_response_at is None and self.due_at < now

    @is_overdue.expression
    def _is_overdue_sql(cls, now: datetime):  # noqa: N805 - SQLAlchemy passes the class
        return and_(cls.status.in_(CLOCK_RUNNING_VALUES), cls.first_response_at.is_(None), cls.due_at < now)

    @hybrid_method
    def is_resolution_late(self, now: datetime) -> bool:
        """The resolution clock runs (open, not awaiting the reporter) and its target has passed."""
        return (
            self.status in RESOLUTION_RUNNING_VALUES
            and self.resolution_due_at is not None
            and self.resolution_due_at < now
        )

    @is_resolution_late.expression
    def _is_resolution_late_sql(cls, now: datetime):  # noqa: N805 - SQLAlchemy passes the class
        return and_(cls.status.in_(RESOLUTION_RUNNING_VALUES), cls.resolution_due_at < now)


class Event(db.Model):
    """Audit event. Append-only (database triggers) and hash-chained per case."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("chain_id", "seq", name="uq_events_chain_seq"),
        Index("ix_events_created", "created_at"),
        Index("ix_events_actor", "actor_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer)  # the case id; 0 for system events
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # public, system, staff, reporter
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Optional[str]] = mapped_column(String(500))
    new_value: Mapped[Optional[str]] = mapped_column(String(500))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    details: Mapped[Optional[str]] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 under the audit key ``key_id``
    key_id: Mapped[Optional[str]] = mapped_column(String(8))  # None: plain SHA-256 (before keyed chains)

    actor: Mapped[Optional[User]] = relationship(lazy="joined")


class Checkpoint(db.Model):
    """Signed RFC 6962 Merkle root over all event hashes up to ``last_event_id``."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_event_id: Mapped[int] = mapped_column(Integer, unique=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    # The Merkle frontier (roots of the perfect subtrees) at this head, so the next checkpoint
    # reads only newer events; it folds to ``root_hash``, which is signed.
    frontier: Mapped[Optional[str]] = mapped_column(Text)


class Message(db.Model):
    """Internal notes and messages with the reporter; text encrypted."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(check_in("kind", MessageKind), name="kind_values"),
        Index("ix_messages_case", "case_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    _body: Mapped[Optional[bytes]] = mapped_column("body", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[Optional[User]] = relationship(lazy="joined")

    body = Sealed("_body", "messages.body", owner="case_id")


class Evidence(db.Model):
    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    _filename: Mapped[Optional[bytes]] = mapped_column("filename", LargeBinary)
    kind: Mapped[str] = mapped_column(String(32))  # detected from content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    has_gps: Mapped[bool] = mapped_column(Boolean, default=False)
    _content: Mapped[Optional[bytes]] = mapped_column("content", LargeBinary, deferred=True)

    filename = Sealed("_filename", "evidence.filename", owner="case_id")
    content = Sealed("_content", "evidence.content", owner="case_id", binary=True)


class AccessRequest(db.Model):
    """A grant of case access asked for by an administrator, waiting for a supervisor (four eyes)."""

    __tablename__ = "access_requests"
    __table_args__ = (
        CheckConstraint(check_in("kind", AccessKind), name="kind_values"),
        CheckConstraint(check_in("role", Role), name="role_values"),
        Index("ix_access_requests_pending", "decided_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    queues: Mapped[Optional[str]] = mapped_column(Text)  # JSON list of queue slugs, for ``queues``
    role: Mapped[Optional[str]] = mapped_column(String(16))  # the role asked for, for ``role``
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    approved: Mapped[Optional[bool]] = mapped_column(Boolean)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    requester: Mapped[User] = relationship(foreign_keys=[requested_by], lazy="joined")

    @property
    def queue_slugs(self) -> list[str]:
        return json.loads(self.queues) if self.queues else []


class TreatyProvision(db.Model):
    """An article of a human-rights treaty that reports can be counted under (statistics for
    treaty-body reporting). Administrators keep the list and the categories mapped to each."""

    __tablename__ = "treaty_provisions"
    __table_args__ = (UniqueConstraint("treaty", "article", name="uq_treaty_provisions_article"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    treaty: Mapped[str] = mapped_column(String(16))  # CAT, ICCPR, CEDAW, CRC, CRPD, ...
    article: Mapped[str] = mapped_column(String(16))  # "2", "21-22"
    title: Mapped[str] = mapped_column(String(200))  # what the article protects, in English

    @property
    def code(self) -> str:
        return f"{self.treaty} art. {self.article}"


class CategoryProvision(db.Model):
    __tablename__ = "category_provisions"
    category: Mapped[str] = mapped_column(ForeignKey("categories.slug", ondelete="CASCADE"), primary_key=True)
    provision_id: Mapped[int] = mapped_column(ForeignKey("treaty_provisions.id", ondelete="CASCADE"), primary_key=True)


class SavedView(db.Model):
    """A staff member's named queue filter ("my late torture cases"), listed on their start page."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    params: Mapped[str] = mapped_column(Text)  # the filter's query string, checked again when used
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    queue: Mapped[Queue] = relationship(lazy="joined")


class TrackingSession(db.Model):
    """A reporter's check of their case after giving the receipt. The cookie holds only a random
    token whose SHA-256 is the id; deleting the row ends the check at once (leave, quick exit)."""

    __tablename__ = "tracking_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SearchTerm(db.Model):
    """One keyed word stem (or contact detail) of a case's texts: the blind index (``cases/search.py``).
    The key order serves "cases with this term, newest first"; the case index serves removal."""

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_case", "case_id"),)
    term: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)


class Tag(db.Model):
    """A word of the tag vocabulary that supervisors keep; one name per language. A tag is never
    deleted (cases and their histories name it): it is switched off."""

    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    name_kk: Mapped[str] = mapped_column(String(80))
    name_ru: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def name(self, locale: str) -> str:
        """The tag's name in ``locale`` (kk, ru, en), else its English name."""
        return getattr(self, f"name_{locale}", None) or self.name_en


class CaseTag(db.Model):
    """A tag on a case. The key serves "the tags of these cases"; the tag index serves a queue
    filtered by tag ("the cases with this tag")."""

    __tablename__ = "case_tags"
    __table_args__ = (Index("ix_case_tags_tag", "tag_id", "case_id"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    added_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tag: Mapped[Tag] = relationship(lazy="joined")


class CaseLink(db.Model):
    """A link between two cases. ``related`` is stored once per pair, lower id first;
    ``duplicate_of`` goes from the duplicate (``case_id``, closed) to the kept case."""

    __tablename__ = "case_links"
    __table_args__ = (
        CheckConstraint(check_in("kind", LinkKind), name="kind_values"),
        CheckConstraint("case_id <> other_case_id", name="not_itself"),
        UniqueConstraint("case_id", "other_case_id", name="uq_case_links_pair"),
        Index("ix_case_links_other", "other_case_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Staff's reason, as plain as the reason of a status change in the audit event it repeats.
    reason: Mapped[Optional[str]] = mapped_column(String(500))


class EvidenceDay(db.Model):
    """Evidence bytes stored on one UTC day, for the global daily quota (one small row a day)."""

    __tablename__ = "evidence_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class ReplyTemplate(db.Model):
    """A reply a supervisor wrote once for case workers to insert into messages, with placeholders
    (``cases/replies.py``). Office boilerplate, never about one case: stored as plain text, like
    queue descriptions."""

    __tablename__ = "reply_templates"
    __table_args__ = (
        CheckConstraint(check_in("language", LANGUAGES), name="language_values"),
        UniqueConstraint("language", "name", name="uq_reply_templates_language_name"),
        # The chooser and the supervisors' list: active first, by language and name.
        Index("ix_reply_templates_list", "active", "language", "name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))

    creator: Mapped[Optional[User]] = relationship(foreign_keys=[created_by], lazy="joined")
    editor: Mapped[Optional[User]] = relationship(foreign_keys=[updated_by], lazy="joined")


class KeyFingerprint(db.Model):
    """The fingerprint of one key the instances use (``cases/keyprints.py``: a SHA-256 prefix,
    never the key), recorded by the first instance that starts with it; an instance whose key
    of that name differs refuses to start."""

    __tablename__ = "key_fingerprints"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RollupDay(db.Model):
    """A day (office time) whose dashboard figures are rolled up (``cases/rollups.py``): when they
    were computed, and the latest ``rollup run`` that found no case changed that they depend on."""

    __tablename__ = "dashboard_rollup_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RollupBlock(db.Model):
    """Sixteen days of time histograms summed into one row per bucket (``cases/rollups.py``): usable
    while built after every one of its days was last computed."""

    __tablename__ = "dashboard_rollup_blocks"
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the block's first day
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RollupCount(db.Model):
    """Counts of one day by the cases' current values: reports received that day and how they
    stand, and cases resolved that day. Per cell (scope "cell": queue, category, region, channel,
    priority), per region (scope "region") and per region and one other filter (scope named after
    it), so the dashboard without filters or with one reads a few rows a day. Columns a scope does
    not break down by hold 0, "" or -1."""

    __tablename__ = "dashboard_rollups"
    __table_args__ = (Index("ix_dashboard_rollups_day", "day"),)
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    queue_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    outcome_open: Mapped[int] = mapped_column(Integer)
    outcome_referred: Mapped[int] = mapped_column(Integer)
    outcome_resolved: Mapped[int] = mapped_column(Integer)
    outcome_closed: Mapped[int] = mapped_column(Integer)
    outcome_rejected: Mapped[int] = mapped_column(Integer)
    resolved_on_day: Mapped[int] = mapped_column(Integer)


class RollupTime(db.Model):
    """Histograms of first-response and resolution times (hours, in fixed buckets) of the reports
    received on one day (``span`` 1) or in a block of sixteen days (``span`` 16, ``RollupBlock``):
    for every cell, summed over all cells (scope "all") and per value of each filter alone (scope
    named after it). Columns a scope does not break down by hold 0, "" or -1."""

    __tablename__ = "dashboard_rollup_times"
    __table_args__ = (
        CheckConstraint("kind IN ('first', 'resolution')", name="kind_values"),
        CheckConstraint("span IN (1, 16)", name="span_values"),
        Index("ix_dashboard_rollup_times_day", "day"),
    )
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    queue_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    hours: Mapped[int] = mapped_column(Integer, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)


class OutboxMail(db.Model):
    """An e-mail to send, written in the transaction of the change it tells about and sent by the
    worker (``flask --app wsgi worker``), which deletes the row once the server took it.

    It holds only what the mail needs: its kind, language, the link, a count for escalations,
    and the recipient addresses, encrypted and bound to this row. ``claimed_until`` is a
    worker's lease (no other worker takes the row meanwhile); a failed attempt sets
    ``next_attempt_at`` later and later (backoff), and the row stays until it is sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(check_in("kind", MailKind), name="kind_values"),
        Index("ix_outbox_next_attempt_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(5), default=DEFAULT_LOCALE)
    link: Mapped[str] = mapped_column(String(500), default="")
    count: Mapped[Optional[int]] = mapped_column(Integer)
    _recipients: Mapped[Optional[bytes]] = mapped_column("recipients", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(String(100))  # the exception's type, never an address

    # Newline-separated addresses, sealed once the row has its id.
    recipients = Sealed("_recipients", "outbox.recipients")


# Every model with fields encrypted at rest (key rotation re-encrypts them; ``audit verify``
# opens each to find values moved between rows; a test scans them raw).
SEALED_MODELS = (Case, Message, Evidence, User, Referral, OutboxMail)
ENCRYPTED_COLUMNS = tuple((model, tuple(sealed_fields(model))) for model in SEALED_MODELS)

for _model in SEALED_MODELS:
    event.listen(_model, "before_insert", seal_pending)
    event.listen(_model, "before_update", seal_pending)
