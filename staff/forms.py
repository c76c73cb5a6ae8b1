"""Staff forms."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from cases.vocabulary import CHANNEL_TITLES, PRIORITY_TITLES, ROLE_TITLES, STAFF_CHANNELS, MessageKind, Priority, Role
from intake.forms import ReportForm
from web.forms import Form

PRIORITY_CHOICES = [(p.label, _l(PRIORITY_TITLES[p])) for p in Priority]

# Our own words for WTForms' built-in checks, so every message is in our catalogs.
REQUIRED = _l("Fill in this field.")
TOO_LONG = _l("Write at most %(max)d characters.")
OUT_OF_RANGE = _l("Use a whole number from %(min)s to %(max)s.")


class LoginForm(Form):
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email."))], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(Form):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[DataRequired(_l("Enter the code."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class RecoveryForm(Form):
    recovery = StringField(
        _l("Recovery code"), validators=[DataRequired(_l("Enter a recovery code."))], render_kw={"autocomplete": "off"}
    )


class PasswordChangeForm(Form):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(REQUIRED)], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), Length(max=128, message=TOO_LONG)],
        render_kw={"autocomplete": "new-password"},
    )


class ReauthForm(Form):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(REQUIRED)], render_kw={"autocomplete": "current-password"}
    )


class VersionedForm(Form):
    version = HiddenField()


class StatusForm(VersionedForm):
    target = SelectField(_l("New status"), validators=[InputRequired(REQUIRED)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000, message=TOO_LONG)])
    message = TextAreaField(
        _l("Message to the reporter (optional)"), validators=[Optional(), Length(max=10000, message=TOO_LONG)]
    )


class PriorityForm(VersionedForm):
    priority = SelectField(
        _l("Priority"),
        choices=PRIORITY_CHOICES,
    )
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500, message=TOO_LONG)])


class AssignForm(VersionedForm):
    assignee = SelectField(_l("Assign to"), coerce=str)
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500, message=TOO_LONG)])


class HandOverForm(VersionedForm):
    colleague = SelectField(_l("Hand to"), coerce=str)
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500, message=TOO_LONG)])


class MoveForm(VersionedForm):
    queue = SelectField(_l("Move to queue"))
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("A reason is required.")), Length(max=500, message=TOO_LONG)]
    )


class NoteForm(Form):
    kind = SelectField(
        _l("Kind"),
        choices=[
            (MessageKind.NOTE.value, _l("Internal note (staff only)")),
            (MessageKind.TO_REPORTER.value, _l("Message to the reporter")),
        ],
    )
    body = TextAreaField(
        _l("Text"), validators=[DataRequired(_l("Write something first.")), Length(max=10000, message=TOO_LONG)]
    )


class HoldForm(VersionedForm):
    hold = BooleanField(_l("Legal hold"))
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("A reason is required.")), Length(max=500, message=TOO_LONG)]
    )


class UserForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254, message=TOO_LONG)])
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200, message=TOO_LONG)])
    role = SelectField(
        _l("Role"),
        choices=[(r.value, _l(ROLE_TITLES[r])) for r in Role],
    )
    queues = SelectMultipleField(_l("Queues (case workers)"))
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(REQUIRED), Length(max=128, message=TOO_LONG)],
        render_kw={"autocomplete": "new-password"},
    )


class MembershipForm(Form):
    queues = SelectMultipleField(_l("Queues"))


class QueueForm(Form):
    slug = StringField(
        _l("Short name (letters, digits, dashes)"),
        validators=[DataRequired(REQUIRED), Length(max=64, message=TOO_LONG)],
    )
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200, message=TOO_LONG)])
    description = TextAreaField(
        _l("Description shown to reporters"), validators=[Optional(), Length(max=1000, message=TOO_LONG)]
    )


ANY = ("", _l("any"))


class RuleForm(Form):
    name = StringField(_l("Rule name"), validators=[DataRequired(REQUIRED), Length(max=200, message=TOO_LONG)])
    position = IntegerField(
        _l("Position (lower runs first)"),
        validators=[InputRequired(REQUIRED), NumberRange(1, 99999, OUT_OF_RANGE)],
    )
    category = SelectField(_l("Category"))
    immediate_danger = SelectField(_l("Immediate danger"), choices=[ANY, ("yes", _l("yes")), ("no", _l("no"))])
    child_affected = SelectField(
        _l("Child affected"), choices=[ANY, ("yes", _l("yes")), ("no", _l("no")), ("unknown", _l("don't know"))]
    )
    in_custody = SelectField(
        _l("In custody"), choices=[ANY, ("yes", _l("yes")), ("no", _l("no")), ("unknown", _l("don't know"))]
    )
    region = SelectField(_l("Region"))
    queue = SelectField(_l("Target queue"), validators=[DataRequired(_l("Choose a queue."))])
    priority = SelectField(
        _l("Priority"),
        choices=[("", _l("Choose a priority")), *PRIORITY_CHOICES],
        validators=[DataRequired(_l("Choose a priority."))],
    )


class BulkForm(Form):
    """One action for the cases ticked on a queue page (the ids come as repeated ``case`` fields)."""

    action = SelectField(_l("With the selected cases"), validators=[InputRequired(REQUIRED)])
    # The commands check these per case (a status the workflow refuses, a queue one may not use).
    target = SelectField(_l("New status"), validators=[Optional()], validate_choice=False)
    assignee = SelectField(_l("Assign to"), coerce=str, validators=[Optional()], validate_choice=False)
    queue = SelectField(_l("Move to queue"), validators=[Optional()], validate_choice=False)
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500, message=TOO_LONG)])


class SavedViewForm(Form):
    """A name for the queue page's current filter (the filter itself comes as hidden fields)."""

    name = StringField(_l("Name of this view"), validators=[Optional(), Length(max=80, message=TOO_LONG)])


class ExportForm(Form):
    """What goes into a case-list export; the queue and filter come in the URL. The rules (at
    least one field, a reason for sensitive ones) are ``cases.exports.Choice``'s, so the choices
    are not checked here: the domain's messages are the ones shown."""

    fields = SelectMultipleField(_l("Fields"), validate_choice=False)
    sensitive = SelectMultipleField(_l("What reporters wrote or left to be reached by"), validate_choice=False)
    reason = TextAreaField(_l("Why this export needs them"), render_kw={"rows": 3, "maxlength": 500})
    format = RadioField(_l("Format"), validate_choice=False, default="csv")


class ServiceLevelForm(Form):
    """A category's service-level targets (administrators)."""

    first_response_hours = IntegerField(
        _l("First response within (hours)"), validators=[Optional(), NumberRange(min=1, max=720, message=OUT_OF_RANGE)]
    )
    first_response_working_days = IntegerField(
        _l("First response within (working days)"),
        validators=[InputRequired(REQUIRED), NumberRange(min=1, max=260, message=OUT_OF_RANGE)],
    )
    resolution_working_days = IntegerField(
        _l("Resolution within (working days)"),
        validators=[Optional(), NumberRange(min=1, max=260, message=OUT_OF_RANGE)],
    )


class StaffReportForm(ReportForm):
    """A report a staff member takes down for someone (hotline, walk-in, letter, e-mail): the same
    questions and checks as the public form, plus how it came in and the person's consent."""

    channel = SelectField(_l("How the report reached us"), validators=[InputRequired(REQUIRED)])
    consent = BooleanField(
        _l(
            "The person agreed that we store this report and share it only with the staff who handle it, and that we contact them only as they chose above."
        ),
        validators=[
            DataRequired(_l("Ask the person, and tick the box when they agree; without it we cannot take the report."))
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel.choices = [("", _("Choose how"))] + [(c.value, _(CHANNEL_TITLES[c])) for c in STAFF_CHANNELS]
