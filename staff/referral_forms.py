"""Forms of the partner-body register and of referrals. The rules (which items a basis allows,
the letter number, the dates) are the commands'; these forms only carry what was typed, so a
refusal brings the page back with everything still in it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from cases.referrals import MAX_ANSWER_DAYS
from cases.vocabulary import (
    BASIS_TITLES,
    OUTCOME_TITLES,
    PARTNER_KIND_TITLES,
    SHARED_FIELD_TITLES,
)
from i18n import LANGUAGE_NAMES, LANGUAGES
from staff.forms import OUT_OF_RANGE, REQUIRED, TOO_LONG
from web.forms import Form

DATE = {"type": "date", "autocomplete": "off"}


def _one_line(value: str | None) -> str | None:
    """A name typed in a text area stays one line: line breaks and runs of spaces become one space."""
    return " ".join(value.split()) if value else value


class PartnerForm(Form):
    # Text areas: long official names ("Уполномоченный по правам ребёнка в …") stay readable on a phone.
    name_kk = TextAreaField(_l("Name in Kazakh"), filters=[_one_line], validators=[Length(max=200, message=TOO_LONG)])
    name_ru = TextAreaField(_l("Name in Russian"), filters=[_one_line], validators=[Length(max=200, message=TOO_LONG)])
    name_en = TextAreaField(_l("Name in English"), filters=[_one_line], validators=[Length(max=200, message=TOO_LONG)])
    kind = SelectField(
        _l("Kind of body"),
        choices=[("", _l("Choose a kind")), *((k.value, _l(t)) for k, t in PARTNER_KIND_TITLES.items())],
        validate_choice=False,
    )
    region = SelectField(_l("Region it covers"), validate_choice=False)
    contact = TextAreaField(
        _l("How to reach it (the office's address, e-mail, telephone)"),
        validators=[Length(max=2000, message=TOO_LONG)],
    )
    categories = SelectMultipleField(_l("Categories it handles (none ticked: all)"), validate_choice=False)
    answer_days = IntegerField(
        _l("Expected answer time, in working days"),
        validators=[InputRequired(REQUIRED), NumberRange(1, MAX_ANSWER_DAYS, message=OUT_OF_RANGE)],
    )


class ReferralForm(Form):
    partner = SelectField(_l("Partner body"), validate_choice=False)
    basis = RadioField(
        _l("Basis for sharing"), choices=[(b.value, _l(t)) for b, t in BASIS_TITLES.items()], validate_choice=False
    )
    legal_duty = TextAreaField(
        _l("The legal duty (law and article), for a referral on a legal duty"),
        validators=[Length(max=2000, message=TOO_LONG)],
    )
    fields = SelectMultipleField(
        _l("What the letter shares"),
        choices=[(f.value, _l(t)) for f, t in SHARED_FIELD_TITLES.items()],
        validate_choice=False,
    )
    letter_narrative = TextAreaField(
        _l("The narrative for the letter: redact names and other details that identify people"),
        validators=[Length(max=20_000, message=TOO_LONG)],
    )
    language = SelectField(
        _l("Language of the letter"), choices=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES], validate_choice=False
    )
    tell_reporter = BooleanField(_l("Tell the reporter on the tracking page which body this goes to"))


class SendForm(Form):
    letter_number = StringField(_l("Outgoing letter number"), validators=[Length(max=40, message=TOO_LONG)])
    sent_on = StringField(_l("Day the letter was sent"), render_kw=DATE)


class AnswerForm(Form):
    answered_on = StringField(_l("Day the answer came"), render_kw=DATE)
    number = StringField(_l("The answer's letter number (optional)"), validators=[Length(max=40, message=TOO_LONG)])
    summary = TextAreaField(_l("What the body answered (summary)"), validators=[Length(max=5000, message=TOO_LONG)])
    outcome = SelectField(
        _l("Outcome"),
        choices=[("", _l("Choose an outcome")), *((o.value, _l(t)) for o, t in OUTCOME_TITLES.items())],
        validate_choice=False,
    )


class WithdrawForm(Form):
    reason = StringField(_l("Why it is withdrawn"), validators=[Length(max=500, message=TOO_LONG), Optional()])
