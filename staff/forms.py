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

from cases.categories import REGIONS
from cases.commands.reference import TREATIES
from cases.replies import BODY_MAX, NAME_MAX
from cases.vocabulary import (
    CHANNEL_TITLES,
    INSTITUTION_TYPE_TITLES,
    LINK_TITLES,
    PRIORITY_TITLES,
    ROLE_TITLES,
    STAFF_CHANNELS,
    InstitutionType,
    LinkKind,
    MessageKind,
    Priority,
    Role,
)
from i18n import LANGUAGE_NAMES, LANGUAGES
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


class NewPasswordForm(Form):
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
    # The chooser of reply templates (choices: the active ones, the reporter's language first).
    template = SelectField(_l("Start from a reply template"), coerce=str, validate_choice=False)
    template_id = HiddenField()  # the template inserted, recorded with the message sent


class TemplateForm(Form):
    """A reply template as a supervisor writes it; the command checks placeholders and clashes."""

    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX, message=TOO_LONG)])
    language = SelectField(_l("Language"), validators=[InputRequired(_l("Choose the template's language."))])
    body = TextAreaField(
        _l("Text"),
        validators=[DataRequired(_l("Write the text of the template.")), Length(max=BODY_MAX, message=TOO_LONG)],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [("", _("Choose the language"))] + [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


class HoldForm(VersionedForm):
    hold = BooleanField(_l("Legal hold"))
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("A reason is required.")), Length(max=500, message=TOO_LONG)]
    )


class TagNamesForm(Form):
    """A tag's name in each language of the site."""

    name_kk = StringField(_l("Name in Kazakh"), validators=[DataRequired(REQUIRED), Length(max=80, message=TOO_LONG)])
    name_ru = StringField(_l("Name in Russian"), validators=[DataRequired(REQUIRED), Length(max=80, message=TOO_LONG)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(REQUIRED), Length(max=80, message=TOO_LONG)])

    def names(self) -> dict[str, str]:
        return {"kk": self.name_kk.data or "", "ru": self.name_ru.data or "", "en": self.name_en.data or ""}


class TagForm(TagNamesForm):
    slug = StringField(
        _l("Short name (letters, digits, dashes)"),
        validators=[DataRequired(REQUIRED), Length(max=32, message=TOO_LONG)],
    )


class CaseTagForm(Form):
    tag = SelectField(_l("Tag"), coerce=str)


class LinkForm(Form):
    reference = StringField(
        _l("Reference of the other case"),
        validators=[DataRequired(_l("Enter the other case's reference.")), Length(max=32, message=TOO_LONG)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    kind = SelectField(_l("How they are linked"), choices=[(k.value, _l(LINK_TITLES[k])) for k in LinkKind])
    reason = StringField(
        _l("Reason (required to close as a duplicate)"), validators=[Optional(), Length(max=500, message=TOO_LONG)]
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


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=[(r.value, _l(ROLE_TITLES[r])) for r in Role])


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


class QueueEditForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200, message=TOO_LONG)])
    description = TextAreaField(
        _l("Description shown to reporters"), validators=[Optional(), Length(max=1000, message=TOO_LONG)]
    )


ANY = ("", _l("any"))
YES_NO = [("yes", _l("yes")), ("no", _l("no"))]
YES_NO_UNKNOWN = [*YES_NO, ("unknown", _l("don't know"))]


class RuleForm(Form):
    # A text area: long rule names ("Torture of someone in custody → …") stay readable on a phone.
    name = TextAreaField(_l("Rule name"), validators=[DataRequired(REQUIRED), Length(max=200, message=TOO_LONG)])
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


class FactsForm(Form):
    """The facts the public form collects that routing reads: which rule would win for them."""

    category = SelectField(_l("Category"), validators=[InputRequired(REQUIRED)])
    region = SelectField(_l("Region"), validators=[InputRequired(REQUIRED)])
    immediate_danger = SelectField(_l("Immediate danger"), choices=YES_NO, validators=[InputRequired(REQUIRED)])
    child_affected = SelectField(_l("Child affected"), choices=YES_NO_UNKNOWN, validators=[InputRequired(REQUIRED)])
    in_custody = SelectField(_l("In custody"), choices=YES_NO_UNKNOWN, validators=[InputRequired(REQUIRED)])


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


class ProvisionForm(Form):
    """A treaty provision for statistics (administrators)."""

    treaty = SelectField(_l("Treaty"), choices=[(t, t) for t in TREATIES], validators=[InputRequired(REQUIRED)])
    article = StringField(_l("Article"), validators=[InputRequired(REQUIRED), Length(max=16, message=TOO_LONG)])
    title = StringField(_l("What it protects"), validators=[InputRequired(REQUIRED), Length(max=200, message=TOO_LONG)])


class InstitutionForm(Form):
    """An institution of the register (administrators): its own name, optional translations."""

    name = StringField(
        _l("Name, as the institution writes it"),
        validators=[DataRequired(REQUIRED), Length(max=200, message=TOO_LONG)],
    )
    name_kk = StringField(
        _l("Name in Kazakh (if different)"), validators=[Optional(), Length(max=200, message=TOO_LONG)]
    )
    name_ru = StringField(
        _l("Name in Russian (if different)"), validators=[Optional(), Length(max=200, message=TOO_LONG)]
    )
    name_en = StringField(
        _l("Name in English (if different)"), validators=[Optional(), Length(max=200, message=TOO_LONG)]
    )
    kind = SelectField(
        _l("Type"),
        choices=[("", _l("Choose the type"))] + [(k.value, _l(INSTITUTION_TYPE_TITLES[k])) for k in InstitutionType],
        validators=[DataRequired(_l("Choose the type of institution."))],
    )
    region = SelectField(
        _l("Region"),
        choices=[("", _l("Choose the region"))] + [(slug, _l(label)) for slug, label in REGIONS],
        validators=[DataRequired(_l("Choose the region."))],
    )

    def translations(self) -> dict[str, str]:
        return {"kk": self.name_kk.data or "", "ru": self.name_ru.data or "", "en": self.name_en.data or ""}


class StaffReportForm(ReportForm):
    """A report a staff member takes down for someone (hotline, walk-in, letter, e-mail): the same
    questions and checks as the public form, plus how it came in and the person's consent."""

    channel = SelectField(_l("How the report reached us"), validators=[InputRequired(REQUIRED)])
    # Not ``language``: that name is the public pages' language switch.
    reporter_language = SelectField(
        _l("The reporter's language"),
        validators=[InputRequired(_l("Choose the reporter's language."))],
    )
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
        self.reporter_language.choices = [("", _("Choose the language"))] + [
            (code, LANGUAGE_NAMES[code]) for code in LANGUAGES
        ]
