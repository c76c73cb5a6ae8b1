"""Reply templates, written and kept by supervisors; each change an event in the system chain.

Case workers only read them (the message form's chooser); the text they insert is theirs to
edit, and what is sent goes through ``send_message`` like any message.
"""

from __future__ import annotations

from sqlalchemy import select

from cases import access, replies
from cases.commands import unit
from cases.commands.unit import CommandError, Forbidden, NotFound, command, record
from cases.models import ReplyTemplate, User
from cases.vocabulary import Action, ActorType
from i18n import LANGUAGES, N_
from storage import db


class TemplateProblem(CommandError):
    """A template refused for what one of its fields holds (``field``: name, language or body)."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        super().__init__(template, **params)
        self.field = field


def _supervisor(by: User) -> None:
    if not access.is_supervisor(by):
        raise Forbidden(N_("Only supervisors can manage reply templates."))


def _checked(name: str, language: str, body: str, template_id: int | None) -> tuple[str, str]:
    """The name and text to store, or the first thing wrong with them."""
    name, body = name.strip(), body.strip()
    if not name:
        raise TemplateProblem("name", N_("Give the template a name."))
    if len(name) > replies.NAME_MAX:
        raise TemplateProblem("name", N_("Write a name of at most %(max)d characters."), max=replies.NAME_MAX)
    if language not in LANGUAGES:
        raise TemplateProblem("language", N_("Choose the template's language."))
    if not body:
        raise TemplateProblem("body", N_("Write the text of the template."))
    if len(body) > replies.BODY_MAX:
        raise TemplateProblem(
            "body",
            N_("The text is %(length)d characters long; write at most %(max)d."),
            length=len(body),
            max=replies.BODY_MAX,
        )
    unknown = replies.unknown_placeholders(body)
    if unknown:
        raise TemplateProblem(
            "body",
            N_("Unknown placeholders: %(names)s. Use only %(known)s."),
            names=", ".join(f"{{{n}}}" for n in unknown),
            known=", ".join(f"{{{n}}}" for n in replies.PLACEHOLDERS),
        )
    clash = select(ReplyTemplate.id).where(ReplyTemplate.language == language, ReplyTemplate.name == name)
    if template_id is not None:
        clash = clash.where(ReplyTemplate.id != template_id)
    if db.session.scalar(clash) is not None:
        raise TemplateProblem("name", N_("Another template in this language has this name."))
    return name, body


@command
def create_template(name: str, language: str, body: str, by: User) -> ReplyTemplate:
    """A new, active reply template and a ``template_created`` event. Supervisors only (``Forbidden``);
    refused (``CommandError``, naming the problem) for an empty or too long name or text, an unknown
    language, an unknown placeholder, or a name already used in that language."""
    _supervisor(by)
    name, body = _checked(name, language, body, None)
    now = unit.utcnow()
    template = ReplyTemplate(name=name, language=language, body=body, active=True)
    template.created_at, template.created_by, template.updated_at, template.updated_by = now, by.id, now, by.id
    db.session.add(template)
    db.session.flush()
    record(
        None,
        ActorType.STAFF,
        Action.TEMPLATE_CREATED,
        by,
        new=name,
        at=now,
        details={"id": template.id, "language": language},
    )
    return template


@command
def edit_template(template_id: int, name: str, language: str, body: str, by: User) -> ReplyTemplate:
    """Change a template's name, language or text (``template_changed``, naming what changed); the same
    checks as a new one. Unchanged, nothing is recorded. Raises ``NotFound`` for an unknown id."""
    _supervisor(by)
    template = _locked(template_id)
    name, body = _checked(name, language, body, template.id)
    changed = [
        field
        for field, value in (("name", name), ("language", language), ("body", body))
        if getattr(template, field) != value
    ]
    if not changed:
        return template
    now = unit.utcnow()
    old_name = template.name
    template.name, template.language, template.body = name, language, body
    template.updated_at, template.updated_by = now, by.id
    record(
        None,
        ActorType.STAFF,
        Action.TEMPLATE_CHANGED,
        by,
        old=old_name,
        new=name,
        at=now,
        details={"id": template.id, "language": language, "changed": changed},
    )
    return template


@command
def toggle_template(template_id: int, by: User) -> bool:
    """Take a template out of the chooser, or offer it again (``template_toggled``). Returns the new state."""
    _supervisor(by)
    template = _locked(template_id)
    now = unit.utcnow()
    template.active = not template.active
    template.updated_at, template.updated_by = now, by.id
    record(
        None,
        ActorType.STAFF,
        Action.TEMPLATE_TOGGLED,
        by,
        new=template.name,
        at=now,
        details={"id": template.id, "active": template.active},
    )
    return template.active


def _locked(template_id: int) -> ReplyTemplate:
    template = db.session.scalars(
        select(ReplyTemplate)
        .where(ReplyTemplate.id == template_id)
        .with_for_update(of=ReplyTemplate)
        .execution_options(populate_existing=True)
    ).first()
    if template is None:
        raise NotFound(N_("Template not found."))
    return template
