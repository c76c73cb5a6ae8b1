"""The read side of referrals: a case's referrals, late answers, what the reporter may see, and
the figures per partner body for the supervisors' dashboard.

Late answers are one range of ``ix_referrals_waiting`` (state "sent", due before today), joined
to the case by its key; the figures are GROUP BYs over ``ix_referrals_sent`` for the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import Integer, and_, cast, func, select, text
from sqlalchemy import case as when

from cases.dashboard import Filters, percentile
from cases.models import Case, PartnerBody, Referral, User
from cases.vocabulary import Basis, ReferralState
from storage import db


def of_case(case_id: int) -> list[Referral]:
    return list(db.session.scalars(select(Referral).where(Referral.case_id == case_id).order_by(Referral.id)))


def active_partners(category: str | None = None) -> list[PartnerBody]:
    """Active bodies by English name; those handling ``category`` (or every category) first."""
    bodies = list(
        db.session.scalars(select(PartnerBody).where(PartnerBody.active.is_(True)).order_by(PartnerBody.name_en))
    )
    if category:
        bodies.sort(key=lambda b: 0 if not b.category_slugs or category in b.category_slugs else 1)
    return bodies


@dataclass(frozen=True)
class LateAnswer:
    referral_id: int
    case_id: int
    reference: str
    partner: PartnerBody
    letter_number: str
    answer_due: date


def late_statement(user_id: int, today: date, limit: int = 50):
    """Referrals of the cases ``user_id`` holds whose answer is overdue, the most overdue first:
    a range of ``ix_referrals_waiting``, each joined to its case by the key."""
    return (
        select(Referral, Case.reference)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.state == ReferralState.SENT.value, Referral.answer_due < today, Case.assignee_id == user_id)
        .order_by(Referral.answer_due, Referral.id)
        .limit(limit)
    )


def late_for(user: User, today: date) -> list[LateAnswer]:
    rows = db.session.execute(late_statement(user.id, today)).all()
    return [LateAnswer(r.id, r.case_id, ref or "", r.partner, r.letter_number or "", r.answer_due) for r, ref in rows]


@dataclass(frozen=True)
class ReporterReferral:
    """What the reporter reads about one referral the case worker chose to tell them about."""

    id: int
    partner_names: dict[str, str]
    state: str
    sent_on: Optional[date]
    answered_on: Optional[date]
    question: bool  # a consent question waits for (or has) their answer
    consent: Optional[str]
    fields: list

    def partner(self, locale: str) -> str:
        return self.partner_names.get(locale) or self.partner_names["en"]


def for_reporter(case_id: int) -> list[ReporterReferral]:
    """Only referrals with ``tell_reporter``: nothing about any other, not even that it exists.
    A withdrawn referral is not shown; a draft only as its consent question."""
    out = []
    for r in of_case(case_id):
        if not r.tell_reporter or r.state == ReferralState.WITHDRAWN:
            continue
        question = r.state == ReferralState.DRAFT and r.basis == Basis.CONSENT
        if r.state == ReferralState.DRAFT and not question:
            continue
        names = {"kk": r.partner.name_kk, "ru": r.partner.name_ru, "en": r.partner.name_en}
        out.append(ReporterReferral(r.id, names, r.state, r.sent_on, r.answered_on, question, r.consent, r.shared))
    return out


@dataclass(frozen=True)
class BodyFigures:
    partner: PartnerBody
    sent: int
    answered: int
    median_days: Optional[int]  # calendar days from the letter to the answer
    overdue: int  # still unanswered past the due day


def _days(later, earlier):
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier  # date - date is a number of days in PostgreSQL


def per_body(f: Filters, today: date) -> list[BodyFigures]:
    """Referrals sent in the period (on the office's calendar), per body, for cases matching the
    dashboard's filters: how many, how many answered, the median answer time, how many overdue."""
    sent_in = and_(f.where(), Referral.sent_on >= f.since, Referral.sent_on <= f.until)
    counts = db.session.execute(
        select(
            Referral.partner_id,
            func.count(Referral.id),
            func.coalesce(func.sum(when((Referral.answered_on.is_not(None), 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    when((and_(Referral.state == ReferralState.SENT.value, Referral.answer_due < today), 1), else_=0)
                ),
                0,
            ),
        )
        .join(Case, Case.id == Referral.case_id)
        .where(sent_in)
        .group_by(Referral.partner_id)
    ).all()
    histograms: dict[int, list[tuple[int, int]]] = {}
    for partner_id, days, n in db.session.execute(
        select(Referral.partner_id, _days(Referral.answered_on, Referral.sent_on), func.count())
        .join(Case, Case.id == Referral.case_id)
        .where(sent_in, Referral.answered_on.is_not(None))
        .group_by(text("1"), text("2"))
    ).all():
        histograms.setdefault(partner_id, []).append((int(days), n))
    bodies = {b.id: b for b in db.session.scalars(select(PartnerBody))}
    rows = [
        BodyFigures(bodies[p], n, int(a), percentile(histograms.get(p, []), 0.5), int(late))
        for p, n, a, late in counts
        if p in bodies
    ]
    return sorted(rows, key=lambda r: (-r.sent, r.partner.name_en))
