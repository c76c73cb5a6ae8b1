"""The referral rules through the commands: every basis × every shared item (the command refuses
what the basis does not allow), consent, letter numbers, dates, the move to "referred", the
audit events, and the partner register's refusal to delete a body that referrals name."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import select

from cases import commands, referrals
from cases.commands.unit import CommandError
from cases.models import Case, Event, PartnerBody, Referral
from cases.refusals import Refused
from cases.vocabulary import Action, Basis, SharedField
from cases.workflow import TransitionRefused
from storage import db
from tests.helpers import chain, count, set_case

CONTACT = {"contact_email": "reporter@example.org"}
# Written out, not derived from the code under test: which items each basis may share.
ALLOWED = {
    Basis.CONSENT: set(SharedField),
    Basis.LEGAL_DUTY: set(SharedField),
    Basis.DEIDENTIFIED: {"category", "region", "dates", "circumstances", "narrative_redacted"},
}


def draft(partner_id, basis="deidentified", fields=("category",), **kw) -> commands.Draft:
    return commands.Draft(
        partner_id=partner_id,
        basis=basis,
        fields=list(fields),
        language=kw.pop("language", "ru"),
        tell_reporter=kw.pop("tell_reporter", basis == "consent"),
        legal_duty=kw.pop("legal_duty", "Art. 184 of the Criminal Procedure Code" if basis == "legal_duty" else ""),
        letter_narrative=kw.pop("letter_narrative", "A man [name removed] was beaten."),
    )


def today() -> date:
    """The office's today (the commands check dates against it)."""
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


def letter(referral, case) -> str:
    return f"<p>letter {referral.letter_number} {referral.sent_on}</p>"


@pytest.mark.parametrize("field", list(SharedField), ids=[f.value for f in SharedField])
@pytest.mark.parametrize("basis", list(Basis), ids=[b.value for b in Basis])
def test_every_basis_and_item(app, investigating, make_partner, basis, field):
    case, worker = investigating(**CONTACT)
    body = make_partner()
    before = count(Referral), len(chain(case.id))
    if field in ALLOWED[basis]:
        referral = commands.prepare_referral(case.id, worker, draft(body.id, basis.value, [field.value]))
        assert referral.shared == [field]
        event = chain(case.id)[-1]
        assert event.action == Action.REFERRAL_PREPARED
        assert json.loads(event.details)["fields"] == [field.value]
    else:
        with pytest.raises(referrals.ReferralRefused) as refused:
            commands.prepare_referral(case.id, worker, draft(body.id, basis.value, [field.value]))
        assert "de-identified" in refused.value.template
        assert (count(Referral), len(chain(case.id))) == before


def test_the_rule_is_checked_again_when_sending(app, investigating, make_partner):
    """A referral altered in the database after it was prepared still cannot go out."""
    case, worker = investigating()
    body = make_partner()
    referral = commands.prepare_referral(case.id, worker, draft(body.id))
    db.session.execute(
        db.update(Referral).where(Referral.id == referral.id).values(fields=json.dumps(["reporter_contact"]))
    )
    db.session.commit()
    with pytest.raises(referrals.ReferralRefused):
        commands.send_referral(case.id, referral.id, worker, "04-12/1", today(), letter)
    assert db.session.get(Referral, referral.id).state == "draft"


def test_consent_is_not_a_basis_for_an_anonymous_reporter(app, investigating, make_partner):
    case, worker = investigating()  # no contact given
    with pytest.raises(referrals.ReferralRefused) as refused:
        commands.prepare_referral(case.id, worker, draft(make_partner().id, "consent", ["category"]))
    assert "no way to reach them" in refused.value.template


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"basis": "legal_duty", "legal_duty": "  "}, "legal duty"),
        ({"basis": "consent", "tell_reporter": False}, "must be told"),
        ({"fields": ["narrative_redacted"], "letter_narrative": " "}, "names redacted"),
        ({"fields": []}, "at least one"),
        ({"fields": ["category", "password"]}, "from the list"),
        ({"basis": "whatever"}, "basis"),
        ({"language": "de"}, "language"),
    ],
)
def test_a_draft_is_refused_with_a_reason(app, investigating, make_partner, change, words):
    case, worker = investigating(**CONTACT)
    body = make_partner()
    values = {"basis": "deidentified", "fields": ["category"], **change}
    basis, fields = values.pop("basis"), values.pop("fields")
    with pytest.raises(Refused) as refused:
        commands.prepare_referral(case.id, worker, draft(body.id, basis, fields, **values))
    assert words in refused.value.template
    assert count(Referral) == 0


def test_a_switched_off_body_takes_no_referral(app, investigating, make_partner):
    case, worker = investigating()
    body = make_partner(active=False)
    with pytest.raises(referrals.ReferralRefused):
        commands.prepare_referral(case.id, worker, draft(body.id))


def test_consent_yes_no_and_sending(app, investigating, make_partner):
    case, worker = investigating(**CONTACT)
    body = make_partner(answer_days=10)
    referral = commands.prepare_referral(case.id, worker, draft(body.id, "consent", ["narrative_original", "place"]))
    with pytest.raises(referrals.ReferralRefused) as waiting:
        commands.send_referral(case.id, referral.id, worker, "04-12/345", today(), letter)
    assert "not answered" in waiting.value.template
    commands.answer_consent(case.id, referral.id, False)
    with pytest.raises(referrals.ReferralRefused) as said_no:
        commands.send_referral(case.id, referral.id, worker, "04-12/345", today(), letter)
    assert "said no" in said_no.value.template
    commands.answer_consent(case.id, referral.id, True)
    answers = [e for e in chain(case.id) if e.action == Action.REFERRAL_CONSENT]
    assert [(e.actor_type, e.old_value, e.new_value) for e in answers] == [
        ("reporter", None, "no"),
        ("reporter", "no", "yes"),
    ]
    assert db.session.get(Case, case.id).reporter_news is True
    set_case(case.id, created_at=datetime.now(UTC) - timedelta(days=3))
    sent_on = today() - timedelta(days=1)
    commands.send_referral(case.id, referral.id, worker, "04-12/345", sent_on, letter)
    referral = db.session.get(Referral, referral.id)
    assert referral.state == "sent" and referral.letter_number == "04-12/345"
    assert referral.answer_due == referrals.answer_due(sent_on, 10)
    assert referral.answer_due.weekday() < 5 and (referral.answer_due - sent_on).days >= 12
    digest = hashlib.sha256(letter(referral, case).encode()).hexdigest()
    assert referral.letter_sha256 == digest
    events = chain(case.id)
    status, sent = events[-2], events[-1]
    assert (status.action, status.old_value, status.new_value) == (Action.STATUS, "investigating", "referred")
    assert "04-12/345" in status.reason
    assert sent.action == Action.REFERRAL_SENT and json.loads(sent.details)["sha256"] == digest
    assert db.session.get(Case, case.id).status == "referred"
    with pytest.raises(CommandError):
        commands.answer_consent(case.id, referral.id, False)  # the letter went: the question is closed


def test_a_second_referral_leaves_the_status_and_a_case_in_triage_cannot_be_sent(
    app, investigating, make_partner, make_case, make_user
):
    case, worker = investigating()
    body = make_partner()
    first = commands.prepare_referral(case.id, worker, draft(body.id))
    second = commands.prepare_referral(case.id, worker, draft(body.id, fields=["region"]))
    commands.send_referral(case.id, first.id, worker, "1/1", today(), letter)
    statuses = count(Event)
    commands.send_referral(case.id, second.id, worker, "1/2", today(), letter)
    assert [e.action for e in chain(case.id)][-1] == Action.REFERRAL_SENT
    assert count(Event) == statuses + 1
    assert len(db.session.scalars(select(Referral).where(Referral.case_id == case.id)).all()) == 2
    early = make_case().case
    commands.change_status(early.id, worker, "triage")
    waiting = commands.prepare_referral(early.id, worker, draft(body.id))
    with pytest.raises(TransitionRefused):
        commands.send_referral(early.id, waiting.id, worker, "1/3", today(), letter)
    assert db.session.get(Referral, waiting.id).state == "draft"


@pytest.mark.parametrize("number", ["", "   ", "abc", "04 12", "04-12/345; DROP", "x" * 41, "-12", "№12"])
def test_letter_numbers_are_validated(app, investigating, make_partner, number):
    case, worker = investigating()
    referral = commands.prepare_referral(case.id, worker, draft(make_partner().id))
    with pytest.raises(referrals.ReferralRefused) as refused:
        commands.send_referral(case.id, referral.id, worker, number, today(), letter)
    assert refused.value.template == referrals.LETTER_NUMBER_HINT


@pytest.mark.parametrize("number", ["04-12/345", "ШЖ-2026/17", "7", "Қ.12"])
def test_good_letter_numbers_pass(number):
    assert referrals.normalized_number(f" {number} ") == number


def test_a_letter_number_is_used_once_and_dates_are_checked(app, investigating, make_partner):
    case, worker = investigating()
    body = make_partner()
    one = commands.prepare_referral(case.id, worker, draft(body.id))
    two = commands.prepare_referral(case.id, worker, draft(body.id))
    commands.send_referral(case.id, one.id, worker, "5/5", today(), letter)
    with pytest.raises(referrals.ReferralRefused) as again:
        commands.send_referral(case.id, two.id, worker, "5/5", today(), letter)
    assert "already has this letter number" in again.value.template
    for day, words in (
        (None, "Give the date"),
        (today() + timedelta(days=2), "future"),
        (today() - timedelta(days=30), "before"),
    ):
        with pytest.raises(referrals.ReferralRefused) as refused:
            commands.send_referral(case.id, two.id, worker, "5/6", day, letter)
        assert words in refused.value.template


def test_the_answer(app, investigating, make_partner):
    case, worker = investigating()
    referral = commands.prepare_referral(case.id, worker, draft(make_partner().id))
    with pytest.raises(CommandError):
        commands.record_referral_answer(case.id, referral.id, worker, commands.Answered(today(), "", "x", "other"))
    commands.send_referral(case.id, referral.id, worker, "9/9", today(), letter)
    bad = [
        (commands.Answered(None, "", "Opened", "investigation"), "Give the date"),
        (commands.Answered(today(), "no digits", "Opened", "investigation"), "letter number"),
        (commands.Answered(today(), "", "  ", "investigation"), "Summarise"),
        (commands.Answered(today(), "", "Opened", "maybe"), "outcome"),
        (commands.Answered(today() - timedelta(days=1), "", "Opened", "investigation"), "before"),
    ]
    for answer, words in bad:
        with pytest.raises(referrals.ReferralRefused) as refused:
            commands.record_referral_answer(case.id, referral.id, worker, answer)
        assert words in refused.value.template
    commands.record_referral_answer(
        case.id, referral.id, worker, commands.Answered(today(), "П-77", "Inspection opened", "investigation")
    )
    referral = db.session.get(Referral, referral.id)
    assert (referral.state, referral.answer_number, referral.outcome) == ("answered", "П-77", "investigation")
    assert referral.answer_summary == "Inspection opened"
    assert b"Inspection opened" not in referral._answer_summary  # encrypted at rest
    event = chain(case.id)[-1]
    assert event.action == Action.REFERRAL_ANSWERED and json.loads(event.details)["late"] is False


def test_the_redacted_copy_is_encrypted_and_the_original_untouched(app, investigating, make_partner):
    case, worker = investigating(narrative="Officer Zhumabekov beat my brother Arman in the cell.")
    referral = commands.prepare_referral(
        case.id,
        worker,
        draft(make_partner().id, fields=["narrative_redacted"], letter_narrative="Officer [N] beat my brother [N]."),
    )
    stored = db.session.get(Referral, referral.id)
    assert stored.letter_narrative == "Officer [N] beat my brother [N]."
    assert b"beat my brother" not in stored._letter_narrative
    assert db.session.get(Case, case.id).narrative == "Officer Zhumabekov beat my brother Arman in the cell."


def test_withdraw(app, investigating, make_partner):
    case, worker = investigating()
    referral = commands.prepare_referral(case.id, worker, draft(make_partner().id, fields=["narrative_redacted"]))
    with pytest.raises(CommandError):
        commands.withdraw_referral(case.id, referral.id, worker, " ")
    commands.withdraw_referral(case.id, referral.id, worker, "Wrong body")
    referral = db.session.get(Referral, referral.id)
    assert referral.state == "withdrawn" and referral.letter_narrative is None
    assert chain(case.id)[-1].reason == "Wrong body"
    with pytest.raises(CommandError):
        commands.send_referral(case.id, referral.id, worker, "1/9", today(), letter)


def test_another_queue_cannot_touch_a_referral(app, investigating, make_partner, make_user):
    case, worker = investigating()
    referral = commands.prepare_referral(case.id, worker, draft(make_partner().id))
    outsider = make_user("caseworker", ["women"])
    with pytest.raises(commands.NotFound):
        commands.prepare_referral(case.id, outsider, draft(referral.partner_id))
    with pytest.raises(commands.NotFound):
        commands.send_referral(case.id, referral.id, outsider, "1/1", today(), letter)
    other, _worker = investigating()
    with pytest.raises(commands.NotFound):  # a referral of another case, through this one
        commands.send_referral(other.id, referral.id, worker, "1/1", today(), letter)


def test_a_body_named_by_referrals_cannot_be_deleted(app, investigating, make_partner, make_user):
    admin = make_user("admin")
    case, worker = investigating()
    used, unused = make_partner("Used body"), make_partner("Unused body")
    commands.prepare_referral(case.id, worker, draft(used.id))
    with pytest.raises(CommandError) as refused:
        commands.delete_partner(db.session.get(PartnerBody, used.id), by=admin)
    assert "switch it off instead" in refused.value.template and refused.value.params == {"n": 1}
    assert db.session.get(PartnerBody, used.id) is not None
    commands.set_partner_active(db.session.get(PartnerBody, used.id), False, by=admin)
    assert db.session.get(PartnerBody, used.id).active is False
    commands.delete_partner(db.session.get(PartnerBody, unused.id), by=admin)
    assert db.session.get(PartnerBody, unused.id) is None
    actions = [e.action for e in db.session.scalars(select(Event).where(Event.chain_id == 0).order_by(Event.id))]
    assert actions[-2:] == [Action.PARTNER_TOGGLED, Action.PARTNER_DELETED]


def test_destroying_content_destroys_the_letter_copy_and_the_answer(app, investigating, make_partner):
    case, worker = investigating()
    referral = commands.prepare_referral(case.id, worker, draft(make_partner().id, fields=["narrative_redacted"]))
    commands.send_referral(case.id, referral.id, worker, "3/3", today(), letter)
    commands.record_referral_answer(
        case.id, referral.id, worker, commands.Answered(today(), "", "Secret summary", "declined")
    )
    commands.change_status(case.id, worker, "resolved", "done")
    commands.change_status(case.id, worker, "closed")
    assert commands.destroy_content(case.id, datetime.now(UTC))
    stored = db.session.get(Referral, referral.id)
    db.session.refresh(stored)
    assert stored._letter_narrative is None and stored._answer_summary is None
