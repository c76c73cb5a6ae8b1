"""The report form. Every value typed comes back on error; nothing is stored until valid."""

from __future__ import annotations

from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from cases.categories import CATEGORIES, N_, REGIONS, REPORTER_ROLES, YES_NO, YES_NO_UNKNOWN

NARRATIVE_MIN, NARRATIVE_MAX = 20, 20_000


class StrictForm(FlaskForm):
    """Refuses a field posted twice and text that is not valid UTF-8 or holds control characters."""

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        posted = request.form if request else {}
        for field in self:
            if field.type in ("CSRFTokenField",):
                continue
            if hasattr(posted, "getlist") and len(posted.getlist(field.name)) > 1:
                field.errors = [*field.errors, _l("This answer was sent more than once. Please choose one answer.")]
                ok = False
            value = field.data if isinstance(field.data, str) else None
            if value and ("\ufffd" in value or any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value)):
                field.errors = [*field.errors, _l("This text contains characters we cannot read. Please retype it.")]
                ok = False
        return ok


def _not_future(form, field) -> None:
    if field.data and field.data > date.today():
        raise ValidationError(_l("The date cannot be in the future."))


def _valid_email(form, field) -> None:
    if field.data:
        try:
            field.data = validate_email(field.data.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValidationError(_l("Enter an email address like name@example.com.")) from None


def _valid_phone(form, field) -> None:
    if field.data:
        try:
            number = phonenumbers.parse(field.data.strip(), "KZ")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValidationError(_l("Enter a phone number like +7 701 234 5678."))
        field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ReportForm(StrictForm):
    category = RadioField(_l("What is your report about?"), choices=[(c.slug, c.name) for c in CATEGORIES],
                          validators=[InputRequired(_l("Choose what your report is about."))])
    narrative = TextAreaField(
        _l("What happened?"),
        filters=[_strip],
        validators=[DataRequired(_l("Tell us what happened.")),
                    Length(NARRATIVE_MIN, NARRATIVE_MAX,
                           _l("Write between %(min)d and %(max)d characters.", min=NARRATIVE_MIN, max=NARRATIVE_MAX))],
    )
    occurred_on = DateField(_l("When did it happen?"), validators=[Optional(), _not_future],
                            render_kw={"autocomplete": "off"})
    ongoing = BooleanField(_l("It is still happening"))
    region = SelectField(_l("Where did it happen?"), choices=[("", _l("Choose a region or city")), *REGIONS],
                         validators=[InputRequired(_l("Choose a region, or “Outside Kazakhstan / prefer not to say”."))])
    place_description = StringField(_l("Place (optional)"), filters=[_strip],
                                    validators=[Optional(), Length(max=500, message=_l("Write at most 500 characters."))])
    immediate_danger = RadioField(_l("Is someone in immediate danger?"), choices=YES_NO,
                                  validators=[InputRequired(_l("Tell us whether someone is in immediate danger."))])
    child_affected = RadioField(_l("Is a child (under 18) affected?"), choices=YES_NO_UNKNOWN,
                                validators=[InputRequired(_l("Tell us whether a child is affected."))])
    in_custody = RadioField(
        _l("Is the affected person in custody or an institution?"), choices=YES_NO_UNKNOWN,
        validators=[InputRequired(_l("Tell us whether the person is in custody or an institution."))])
    reporter_role = RadioField(_l("Who are you?"), choices=REPORTER_ROLES,
                               validators=[InputRequired(_l("Tell us who you are in this report."))])
    contact = RadioField(_l("How may we contact you?"), default="anonymous",
                         choices=[("anonymous", N_("Stay anonymous")), ("contact", N_("You may contact me"))],
                         validators=[InputRequired(_l("Choose whether you want to stay anonymous."))])
    email = StringField(_l("Email (optional)"), filters=[_strip],
                        validators=[Optional(), Length(max=254), _valid_email],
                        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"})
    phone = StringField(_l("Phone (optional)"), filters=[_strip],
                        validators=[Optional(), Length(max=32), _valid_phone],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    consent = BooleanField(
        _l("I agree that Shagym stores this report and shares it only with the staff who handle it, to help protect the rights of the people involved."),
        validators=[DataRequired(_l("Tick the box to agree, or we cannot accept the report."))])
    submission_token = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Select options are rendered as given, so translate them per request.
        self.region.choices = [("", _("Choose a region or city")), *((slug, _(label)) for slug, label in REGIONS)]

    def validate_contact(self, field) -> None:
        if field.data == "contact" and not (self.email.data or self.phone.data):
            raise ValidationError(_l("Give an email or a phone number, or choose to stay anonymous."))

    def validate_occurred_on(self, field) -> None:
        # A value the browser could not parse: keep it, say what is wrong.
        if field.raw_data and field.raw_data[0] and field.data is None and not field.errors:
            raise ValidationError(_l("Enter a real date, for example 2026-03-27."))
