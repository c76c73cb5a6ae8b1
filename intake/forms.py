"""The report form. Every value typed comes back on error; nothing is stored until valid."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import unquote_to_bytes

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from cases.categories import CATEGORIES, REGIONS, REPORTER_ROLES, YES_NO, YES_NO_UNKNOWN
from cases.commands import NewReport
from cases.vocabulary import Channel
from i18n import N_
from web.forms import Form

NARRATIVE_MIN, NARRATIVE_MAX = 20, 20_000

# Werkzeug re-quotes bytes of a urlencoded body that are not UTF-8 (``%FF``) instead of
# replacing them, so such a value arrives as text holding ``%XX`` runs that do not decode.
_QUOTED_RUN = re.compile(r"(?:%[0-9A-F]{2})+")


def _unreadable(value: str, urlencoded: bool) -> bool:
    """True for text holding bytes that were not UTF-8 or control characters such as NUL."""
    if "\ufffd" in value or any(ord(ch) < 32 and ch not in "\r\n\t" or ord(ch) == 127 for ch in value):
        return True
    if urlencoded:  # browsers send this form as multipart; only hand-made requests get here
        for run in _QUOTED_RUN.findall(value):
            try:
                unquote_to_bytes(run).decode("utf-8")
            except UnicodeDecodeError:
                return True
    return False


class StrictForm(Form):
    """Refuses a field posted twice and text that is not valid UTF-8 or holds control characters."""

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        posted = request.form if request else {}
        urlencoded = bool(request) and request.mimetype == "application/x-www-form-urlencoded"
        for field in self:
            if field.type in ("CSRFTokenField",):
                continue
            if hasattr(posted, "getlist") and len(posted.getlist(field.name)) > 1:
                field.errors = [*field.errors, _l("This answer was sent more than once. Please choose one answer.")]
                ok = False
            value = field.data if isinstance(field.data, str) else None
            if value and _unreadable(value, urlencoded):
                field.errors = [*field.errors, _l("This text contains characters we cannot read. Please retype it.")]
                ok = False
        return ok


class _ChoiceMessage:
    """A choice field that says, in words the reporter understands, that a value is not on the list."""

    def __init__(self, *args, invalid_message=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form) -> None:
        try:
            super().pre_validate(form)  # type: ignore[misc]
        except ValidationError:
            raise ValidationError(self.invalid_message or _l("Choose one of the answers in the list.")) from None


class ChoiceRadioField(_ChoiceMessage, RadioField):
    pass


class ChoiceSelectField(_ChoiceMessage, SelectField):
    pass


class AsTypedStringField(StringField):
    """Validation stores a normalised value (E.164 phone, normalised email); the form shows what was typed."""

    def _value(self) -> str:
        return self.raw_data[0] if self.raw_data else super()._value()


def local_today() -> date:
    """Today where the reporter most likely is: Kazakhstan's date, never earlier than UTC's.

    A server clock in UTC would otherwise call "today" in Almaty (UTC+5) a future
    date between midnight and five in the morning.
    """
    utc_today = datetime.now(UTC).date()
    try:
        tz = get_timezone()
    except (RuntimeError, KeyError):  # outside a request or app: no Babel settings
        tz = None
    return max(utc_today, datetime.now(tz).date()) if tz else utc_today


def _not_future(form, field) -> None:
    if field.data and field.data > local_today():
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


_REGION_CHOICES: dict[str, list[tuple[str, str]]] = {}


def region_choices(locale: str) -> list[tuple[str, str]]:
    """The region select's options in the current language (``locale`` names it, as the cache key)."""
    if locale not in _REGION_CHOICES:
        _REGION_CHOICES[locale] = [("", _("Choose a region or city")), *((slug, _(label)) for slug, label in REGIONS)]
    return _REGION_CHOICES[locale]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ReportForm(StrictForm):
    category = ChoiceRadioField(
        _l("What is your report about?"),
        choices=[(c.slug, c.name) for c in CATEGORIES],
        validators=[InputRequired(_l("Choose what your report is about."))],
        invalid_message=_l("Choose one of the listed topics for your report."),
    )
    narrative = TextAreaField(
        _l("What happened?"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Tell us what happened.")),
            Length(
                NARRATIVE_MIN,
                NARRATIVE_MAX,
                _l("Write between %(min)d and %(max)d characters.", min=NARRATIVE_MIN, max=NARRATIVE_MAX),
            ),
        ],
    )
    occurred_on = DateField(
        _l("When did it happen?"), validators=[Optional(), _not_future], render_kw={"autocomplete": "off"}
    )
    ongoing = BooleanField(_l("It is still happening"))
    region = ChoiceSelectField(
        _l("Where did it happen?"),
        choices=[("", _l("Choose a region or city")), *REGIONS],
        validators=[InputRequired(_l("Choose a region, or “Outside Kazakhstan / prefer not to say”."))],
        invalid_message=_l("Choose a region or city from the list, or “Outside Kazakhstan / prefer not to say”."),
    )
    place_description = StringField(
        _l("Place (optional)"),
        filters=[_strip],
        validators=[Optional(), Length(max=500, message=_l("Write at most 500 characters."))],
    )
    immediate_danger = ChoiceRadioField(
        _l("Is someone in immediate danger?"),
        choices=YES_NO,
        validators=[InputRequired(_l("Tell us whether someone is in immediate danger."))],
    )
    child_affected = ChoiceRadioField(
        _l("Is a child (under 18) affected?"),
        choices=YES_NO_UNKNOWN,
        validators=[InputRequired(_l("Tell us whether a child is affected."))],
    )
    in_custody = ChoiceRadioField(
        _l("Is the affected person in custody or an institution?"),
        choices=YES_NO_UNKNOWN,
        validators=[InputRequired(_l("Tell us whether the person is in custody or an institution."))],
    )
    reporter_role = ChoiceRadioField(
        _l("Who are you?"),
        choices=REPORTER_ROLES,
        validators=[InputRequired(_l("Tell us who you are in this report."))],
    )
    contact = ChoiceRadioField(
        _l("How may we contact you?"),
        default="anonymous",
        choices=[("anonymous", N_("Stay anonymous")), ("contact", N_("You may contact me"))],
        validators=[InputRequired(_l("Choose whether you want to stay anonymous."))],
    )
    email = AsTypedStringField(
        _l("Email (optional)"),
        filters=[_strip],
        validators=[Optional(), Length(max=254, message=_l("Write at most %(max)d characters.")), _valid_email],
        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"},
    )
    phone = AsTypedStringField(
        _l("Phone (optional)"),
        filters=[_strip],
        validators=[Optional(), Length(max=32, message=_l("Enter a phone number like +7 701 234 5678.")), _valid_phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    consent = BooleanField(
        _l(
            "I agree that Shagym stores this report and shares it only with the staff who handle it, to help protect the rights of the people involved."
        ),
        validators=[DataRequired(_l("Tick the box to agree, or we cannot accept the report."))],
    )
    submission_token = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Select options are rendered as given, so they are translated into the page's language
        # (once per process and language: the catalogs do not change while it runs).
        self.region.choices = region_choices(str(get_locale()))

    def new_report(self, channel: Channel = Channel.WEB, language: str | None = None) -> NewReport:
        """What was answered, as the command takes it (contact details only when contact was chosen).
        The reporter's language is the one this page is read in, unless staff say which it is."""
        contact = self.contact.data == "contact"
        return NewReport(
            category=self.category.data,
            narrative=self.narrative.data,
            occurred_on=self.occurred_on.data,
            ongoing=bool(self.ongoing.data),
            region=self.region.data,
            place_description=self.place_description.data or "",
            immediate_danger=self.immediate_danger.data == "yes",
            child_affected=self.child_affected.data,
            in_custody=self.in_custody.data,
            reporter_role=self.reporter_role.data,
            contact_email=(self.email.data or "") if contact else "",
            contact_phone=(self.phone.data or "") if contact else "",
            channel=channel,
            language=language or str(get_locale()),
        )

    def validate_contact(self, field) -> None:
        if field.data == "contact" and not (self.email.data or self.phone.data):
            raise ValidationError(_l("Give an email or a phone number, or choose to stay anonymous."))
        if field.data == "anonymous" and (self.email.data or self.phone.data):
            # Never drop what was typed without a word: ask which they meant.
            raise ValidationError(
                _l(
                    "You chose to stay anonymous but also gave contact details. Choose “You may contact me” to keep them, or delete them to stay anonymous."
                )
            )

    def validate_occurred_on(self, field) -> None:
        # A value that is not a date (the raw text is kept and shown again): replace
        # WTForms' generic "Not a valid date value." with what to type instead.
        if field.raw_data and field.raw_data[0] and field.data is None:
            field.errors.clear()
            raise ValidationError(_l("Enter a real date, for example 2026-03-27."))
