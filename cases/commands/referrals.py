"""Referrals of a case to partner bodies: prepare, ask the reporter, send, record the answer.

Each step locks the case, checks its rule, changes the referral and appends an event to the
case's chain. The basis rule (``cases/referrals.py``) is checked when the referral is prepared
and again when it is sent, so no path sends an item the basis does not allow. Sending the first
referral of a case moves it to "referred" through the workflow table (as the status menu would,
with the body and letter number as the reason); later referrals leave the status alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from cases import workflow
from cases.commands import unit
from cases.commands.casework import apply_transition
from cases.commands.unit import CommandError, NotFound, command, lock_case, record, touch
from cases.models import Case, PartnerBody, Referral, User
from cases.notify import REPORTER_ACTION
from cases.referrals import ReferralRefused, answer_due, check_date, check_fields, fields_from, normalized_number
from cases.vocabulary import Action, ActorType, Answer, Basis, ReferralOutcome, ReferralState, SharedField
from cases.workflow import Status
from i18n import LANGUAGES, N_
from storage import db

SUMMARY_MAX = 5000


def _today() -> date:
    return unit.utcnow().astimezone(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


def _referral(case: Case, referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.case_id != case.id:
        raise NotFound(N_("Case not found."))
    return referral


def _anonymous(case: Case) -> bool:
    return not case.contact_email and not case.contact_phone


@dataclass(frozen=True)
class Draft:
    """What the case worker chose for a referral."""

    partner_id: int | None
    basis: str
    fields: Sequence[str]
    language: str
    tell_reporter: bool
    legal_duty: str = ""
    letter_narrative: str = ""  # the narrative with names redacted, for the letter


@command
def prepare_referral(case_id: int, actor: User, draft: Draft) -> Referral:
    """A referral in draft. Refused: a finished case, an unknown or switched-off body, an item
    the basis does not allow, consent for an anonymous reporter or without telling them which
    body asks, a legal duty not put in words, a redacted narrative chosen but left empty."""
    case = lock_case(case_id, actor)
    if not case.is_open:
        raise CommandError(N_("Only open cases can be referred."))
    if case.content_destroyed_at is not None:
        raise CommandError(N_("This case's personal content was destroyed; it cannot be referred."))
    body = db.session.get(PartnerBody, draft.partner_id) if draft.partner_id else None
    if body is None or not body.active:
        raise ReferralRefused(N_("Choose a body from the list of active partner bodies."))
    if draft.basis not in {b.value for b in Basis}:
        raise ReferralRefused(N_("Choose the basis for sharing."))
    if draft.language not in LANGUAGES:
        raise ReferralRefused(N_("Choose the letter's language."))
    basis = Basis(draft.basis)
    fields = fields_from(draft.fields)
    check_fields(basis, fields, anonymous=_anonymous(case))
    duty = " ".join((draft.legal_duty or "").split())
    if basis == Basis.LEGAL_DUTY and not duty:
        raise ReferralRefused(N_("Write which legal duty requires this referral (the law and article)."))
    if basis == Basis.CONSENT and not draft.tell_reporter:
        raise ReferralRefused(
            N_("To ask for the reporter's consent, they must be told which body would receive their case.")
        )
    redacted = (draft.letter_narrative or "").strip()
    if SharedField.NARRATIVE_REDACTED in fields and not redacted:
        raise ReferralRefused(N_("Write the narrative for the letter, with the names redacted."))
    now = unit.utcnow()
    referral = Referral(
        case_id=case.id,
        partner_id=body.id,
        state=ReferralState.DRAFT.value,
        basis=basis.value,
        legal_duty=duty[:2000] if basis == Basis.LEGAL_DUTY else None,
        fields=json.dumps([f.value for f in fields]),
        language=draft.language,
        tell_reporter=bool(draft.tell_reporter),
        created_at=now,
        created_by=actor.id,
    )
    if SharedField.NARRATIVE_REDACTED in fields:
        referral.letter_narrative = redacted[:20_000]
    db.session.add(referral)
    db.session.flush()
    if basis == Basis.CONSENT:
        case.public_updated_at = now  # a question waits for the reporter on the tracking page
    touch(case, now)
    record(
        case,
        ActorType.STAFF,
        Action.REFERRAL_PREPARED,
        actor,
        new=str(referral.id),
        at=now,
        details={
            "partner": body.id,
            "basis": basis.value,
            "fields": [f.value for f in fields],
            "tell_reporter": referral.tell_reporter,
            "language": referral.language,
        },
    )
    return referral


@command
def answer_consent(case_id: int, referral_id: int, agree: bool) -> Referral:
    """The reporter's yes or no to a referral on their consent (identified by the receipt, checked
    by the caller). They may change their mind until the letter is sent; each answer is an event."""
    case = lock_case(case_id)
    referral = _referral(case, referral_id)
    if referral.basis != Basis.CONSENT or not referral.tell_reporter or referral.state != ReferralState.DRAFT:
        raise CommandError(N_("This question is no longer open."))
    now = unit.utcnow()
    answer = Answer.YES if agree else Answer.NO
    old = referral.consent
    referral.consent, referral.consent_at = answer.value, now
    case.reporter_news = True
    case.public_updated_at = now
    touch(case, now)
    db.session.info[REPORTER_ACTION] = True  # no e-mail to the reporter about their own answer
    record(
        case,
        ActorType.REPORTER,
        Action.REFERRAL_CONSENT,
        old=old,
        new=answer.value,
        at=now,
        details={"referral": referral.id},
    )
    return referral


LetterRenderer = Callable[[Referral, Case], str]


@command
def send_referral(
    case_id: int, referral_id: int, actor: User, letter_number: str, sent_on: date | None, letter: LetterRenderer
) -> Referral:
    """Record the letter as sent: its number (unique, in the letter-number format), the day it
    went (not in the future, not before the report), the answer due from the body's expected
    time, and the SHA-256 of the letter exactly as ``letter`` renders it with that number and day.

    Refused: a referral not in draft, a body switched off since, the basis rule (again), consent
    not given. The case's first referral moves it to "referred" (``TransitionRefused`` if the
    workflow has no such step from its status, e.g. a case still in triage).
    """
    case = lock_case(case_id, actor)
    referral = _referral(case, referral_id)
    if referral.state != ReferralState.DRAFT:
        raise CommandError(N_("This referral was already sent or withdrawn."))
    if not case.is_open:
        raise CommandError(N_("Only open cases can be referred."))
    if not referral.partner.active:
        raise ReferralRefused(N_("This body is switched off; prepare a referral to an active one."))
    check_fields(referral.basis, referral.shared, anonymous=_anonymous(case))
    if referral.basis == Basis.CONSENT and referral.consent != Answer.YES:
        if referral.consent == Answer.NO:
            raise ReferralRefused(N_("The reporter said no: this referral cannot be sent. Withdraw it."))
        raise ReferralRefused(N_("The reporter has not answered yet: the letter waits for their consent."))
    number = normalized_number(letter_number)
    if db.session.scalar(select(Referral.id).where(Referral.letter_number == number)) is not None:
        raise ReferralRefused(N_("Another referral already has this letter number."))
    today = _today()
    created = case.created_at.astimezone(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()
    day = check_date(sent_on, not_before=created, today=today, what=N_("the day the letter was sent"))
    now = unit.utcnow()
    referral.letter_number, referral.sent_on, referral.sent_by = number, day, actor.id
    referral.answer_due = answer_due(day, referral.partner.answer_days)
    referral.state = ReferralState.SENT.value
    digest = hashlib.sha256(letter(referral, case).encode("utf-8")).hexdigest()
    referral.letter_sha256 = digest
    body = referral.partner
    if case.status != Status.REFERRED:
        reason = f"{body.name_en}, letter {number}"
        transition = workflow.check(case.status, Status.REFERRED, actor.role, reason)
        apply_transition(case, transition, now)
        record(
            case,
            ActorType.STAFF,
            Action.STATUS,
            actor,
            old=transition.source.value,
            new=transition.target.value,
            reason=reason,
            at=now,
        )
    else:
        touch(case, now)
    if referral.tell_reporter:
        case.public_updated_at = now
    record(
        case,
        ActorType.STAFF,
        Action.REFERRAL_SENT,
        actor,
        new=str(referral.id),
        at=now,
        details={
            "partner": body.id,
            "letter_number": number,
            "sent_on": day.isoformat(),
            "answer_due": referral.answer_due.isoformat(),
            "basis": referral.basis,
            "fields": [f.value for f in referral.shared],
            "sha256": digest,
        },
    )
    return referral


@dataclass(frozen=True)
class Answered:
    """The body's answer as the case worker records it."""

    answered_on: date | None
    number: str
    summary: str
    outcome: str


@command
def record_referral_answer(case_id: int, referral_id: int, actor: User, answer: Answered) -> Referral:
    """The body answered: the day (not before the letter, not in the future), its number (optional,
    the letter-number format), a summary (required, encrypted) and the outcome."""
    case = lock_case(case_id, actor)
    referral = _referral(case, referral_id)
    if referral.state != ReferralState.SENT:
        raise CommandError(N_("Only a sent referral can get an answer (and only one)."))
    day = check_date(
        answer.answered_on, not_before=referral.sent_on, today=_today(), what=N_("the day the answer came")
    )
    number = normalized_number(answer.number) if (answer.number or "").strip() else None
    summary = (answer.summary or "").strip()
    if not summary:
        raise ReferralRefused(N_("Summarise what the body answered."))
    if len(summary) > SUMMARY_MAX:
        raise ReferralRefused(N_("The summary is too long: write at most %(n)s characters."), n=SUMMARY_MAX)
    if answer.outcome not in {o.value for o in ReferralOutcome}:
        raise ReferralRefused(N_("Choose the outcome of the answer."))
    now = unit.utcnow()
    referral.answered_on, referral.answer_number, referral.answer_summary = day, number, summary
    referral.outcome, referral.answered_at = answer.outcome, now
    referral.state = ReferralState.ANSWERED.value
    if referral.tell_reporter:
        case.public_updated_at = now
    touch(case, now)
    record(
        case,
        ActorType.STAFF,
        Action.REFERRAL_ANSWERED,
        actor,
        new=str(referral.id),
        at=now,
        details={
            "answered_on": day.isoformat(),
            "number": number,
            "outcome": answer.outcome,
            "late": day > referral.answer_due,
        },
    )
    return referral


@command
def withdraw_referral(case_id: int, referral_id: int, actor: User, reason: str) -> Referral:
    """Drop a draft that will not be sent (the reporter said no, the wrong body); a reason is required."""
    case = lock_case(case_id, actor)
    referral = _referral(case, referral_id)
    if referral.state != ReferralState.DRAFT:
        raise CommandError(N_("Only a referral not yet sent can be withdrawn."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise CommandError(N_("Say why the referral is withdrawn."))
    now = unit.utcnow()
    referral.state = ReferralState.WITHDRAWN.value
    referral.letter_narrative = None  # the redacted copy is not kept for a letter that never goes
    touch(case, now)
    record(case, ActorType.STAFF, Action.REFERRAL_WITHDRAWN, actor, new=str(referral.id), reason=reason[:500], at=now)
    return referral
