"""Partner bodies and the referrals sent to them (kept apart from ``models.py``, which is long).

A partner body is never deleted while a referral names it: it is switched off. A referral's
narrative copy for the letter (names redacted by the case worker) and the body's answer are
encrypted at rest and sealed to the case, like the case's own narrative.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.vocabulary import Answer, Basis, PartnerKind, ReferralOutcome, ReferralState, SharedField, check_in
from i18n import LANGUAGES
from storage import db
from storage.types import Sealed, UTCDateTime, utcnow


class PartnerBody(db.Model):
    """A body the office refers cases to: a prosecutor's office, the NPM, a commissioner, an NGO."""

    __tablename__ = "partner_bodies"
    __table_args__ = (
        CheckConstraint(check_in("kind", PartnerKind), name="kind_values"),
        CheckConstraint("answer_days BETWEEN 1 AND 120", name="answer_days_range"),
        Index("ix_partner_bodies_list", "active", "name_en"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[Optional[str]] = mapped_column(String(32))  # None: the whole country
    contact: Mapped[str] = mapped_column(Text, default="")  # the body's public address, not a person's
    categories: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of category slugs; [] all
    answer_days: Mapped[int] = mapped_column(Integer)  # expected answer time in working days
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def name(self, locale: str) -> str:
        return getattr(self, f"name_{locale}", None) or self.name_en

    @property
    def category_slugs(self) -> list[str]:
        return json.loads(self.categories or "[]")


class Referral(db.Model):
    """One referral of a case to a partner body: prepared, (the reporter asked,) sent, answered."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(check_in("state", ReferralState), name="state_values"),
        CheckConstraint(check_in("basis", Basis), name="basis_values"),
        CheckConstraint(check_in("language", LANGUAGES), name="language_values"),
        CheckConstraint(check_in("consent", (Answer.YES, Answer.NO)), name="consent_values"),
        CheckConstraint(check_in("outcome", ReferralOutcome), name="outcome_values"),
        # The case page's referrals, in order.
        Index("ix_referrals_case", "case_id", "id"),
        # Late answers (the case workers' start page): sent and past the due day, one index range.
        Index("ix_referrals_waiting", "state", "answer_due"),
        # The dashboard's figures per body: referrals sent in a period.
        Index("ix_referrals_sent", "sent_on", "partner_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_bodies.id"))
    state: Mapped[str] = mapped_column(String(16), default=ReferralState.DRAFT.value)
    basis: Mapped[str] = mapped_column(String(16))
    legal_duty: Mapped[Optional[str]] = mapped_column(Text)  # the law or duty, in words (legal_duty)
    fields: Mapped[str] = mapped_column(Text)  # JSON list of SharedField values
    language: Mapped[str] = mapped_column(String(8))  # the letter's language
    tell_reporter: Mapped[bool] = mapped_column(Boolean, default=False)
    _letter_narrative: Mapped[Optional[bytes]] = mapped_column("letter_narrative", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    consent: Mapped[Optional[str]] = mapped_column(String(8))  # the reporter's yes or no
    consent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    letter_number: Mapped[Optional[str]] = mapped_column(String(40), unique=True)
    sent_on: Mapped[Optional[date]] = mapped_column(Date)
    sent_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    letter_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    answer_due: Mapped[Optional[date]] = mapped_column(Date)
    answered_on: Mapped[Optional[date]] = mapped_column(Date)
    answer_number: Mapped[Optional[str]] = mapped_column(String(40))
    _answer_summary: Mapped[Optional[bytes]] = mapped_column("answer_summary", LargeBinary)
    outcome: Mapped[Optional[str]] = mapped_column(String(16))
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # when it was recorded

    partner: Mapped[PartnerBody] = relationship(lazy="joined")

    letter_narrative = Sealed("_letter_narrative", "referrals.letter_narrative", owner="case_id")
    answer_summary = Sealed("_answer_summary", "referrals.answer_summary", owner="case_id")

    @property
    def shared(self) -> list[SharedField]:
        stored = set(json.loads(self.fields or "[]"))
        return [f for f in SharedField if f.value in stored]

    @property
    def state_enum(self) -> ReferralState:
        return ReferralState(self.state)

    def is_late(self, today: date) -> bool:
        return self.state == ReferralState.SENT and self.answer_due is not None and self.answer_due < today
