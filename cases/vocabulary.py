"""One vocabulary: the codes stored in the database and shown on staff pages.

Roles, audit actor types and actions, priorities, intake channels, message
kinds and the yes/no/unknown answers are enums here and nowhere else. CHECK
constraints (``check_in``), form choices and templates derive from them.

A code that staff pages show as ``_(code)`` is written ``N_("code")``: the code
is its own message id, and marking it here lets Babel extract it, so Kazakh and
Russian pages never show a raw code.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from i18n import N_


class Role(StrEnum):
    CASEWORKER = N_("caseworker")
    SUPERVISOR = N_("supervisor")
    ADMIN = N_("admin")


ROLE_TITLES = {Role.CASEWORKER: N_("Case worker"), Role.SUPERVISOR: N_("Supervisor"), Role.ADMIN: N_("Administrator")}

# Roles that read and work cases (admins manage accounts and routing, never case content).
CASE_ROLES = frozenset({Role.CASEWORKER, Role.SUPERVISOR})


class ActorType(StrEnum):
    """Who an audit event is attributed to."""

    PUBLIC = N_("public")  # the anonymous web form, before a case exists
    REPORTER = N_("reporter")  # the holder of a receipt
    STAFF = N_("staff")
    SYSTEM = N_("system")  # the application itself (routing, retention, automatic transitions)


class Action(StrEnum):
    """Every audit event's action. Case actions join a case's chain; the others the system chain."""

    CREATED = N_("created")
    ROUTED = N_("routed")
    VIEWED = N_("viewed")
    ASSIGNED = N_("assigned")
    UNASSIGNED = N_("unassigned")
    STATUS = N_("status")
    PRIORITY = N_("priority")
    QUEUE = N_("queue")
    NOTE = N_("note")
    MESSAGE_SENT = N_("message_sent")
    REPORTER_MESSAGE = N_("reporter_message")
    EVIDENCE_ADDED = N_("evidence_added")
    EVIDENCE_DOWNLOADED = N_("evidence_downloaded")
    LEGAL_HOLD = N_("legal_hold")
    CONTENT_DESTROYED = N_("content_destroyed")
    ESCALATED = N_("escalated")
    TAG_ADDED = N_("tag_added")
    TAG_REMOVED = N_("tag_removed")
    CASE_LINKED = N_("case_linked")
    CASE_UNLINKED = N_("case_unlinked")
    MARKED_DUPLICATE = N_("marked_duplicate")
    INSTITUTION_LINKED = N_("institution_linked")
    INSTITUTION_UNLINKED = N_("institution_unlinked")
    REFERRAL_PREPARED = N_("referral_prepared")
    REFERRAL_CONSENT = N_("referral_consent")
    REFERRAL_SENT = N_("referral_sent")
    REFERRAL_ANSWERED = N_("referral_answered")
    REFERRAL_WITHDRAWN = N_("referral_withdrawn")
    RECEIPT_REISSUED = N_("receipt_reissued")
    USER_CREATED = N_("user_created")
    USER_DEACTIVATED = N_("user_deactivated")
    MEMBERSHIP_CHANGED = N_("membership_changed")
    QUEUE_CREATED = N_("queue_created")
    RULE_CREATED = N_("rule_created")
    RULE_TOGGLED = N_("rule_toggled")
    TWO_FACTOR_ENROLLED = N_("2fa_enrolled")
    PASSWORD_CHANGED = N_("password_changed")
    KEYS_ROTATED = N_("keys_rotated")
    AUDIT_KEY_ROTATED = N_("audit_key_rotated")
    SEARCH_REBUILT = N_("search_rebuilt")
    ACCESS_REQUESTED = N_("access_requested")
    ACCESS_APPROVED = N_("access_approved")
    ACCESS_REFUSED = N_("access_refused")
    SERVICE_LEVEL_CHANGED = N_("service_level_changed")
    VIEW_SAVED = N_("view_saved")
    VIEW_DELETED = N_("view_deleted")
    PROVISION_ADDED = N_("provision_added")
    PROVISIONS_MAPPED = N_("provisions_mapped")
    TAG_CREATED = N_("tag_created")
    TAG_CHANGED = N_("tag_changed")
    TEMPLATE_CREATED = N_("template_created")
    TEMPLATE_CHANGED = N_("template_changed")
    TEMPLATE_TOGGLED = N_("template_toggled")
    RULE_EDITED = N_("rule_edited")
    RULE_MOVED = N_("rule_moved")
    QUEUE_EDITED = N_("queue_edited")
    QUEUE_TOGGLED = N_("queue_toggled")
    ROLE_CHANGED = N_("role_changed")
    PASSWORD_RESET = N_("password_reset")
    TWO_FACTOR_RESET = N_("2fa_reset")
    USER_REACTIVATED = N_("user_reactivated")
    BACKUP_CREATED = N_("backup_created")
    RESTORED = N_("restored")
    CASES_EXPORTED = N_("cases_exported")
    INSTITUTION_CREATED = N_("institution_created")
    INSTITUTION_CHANGED = N_("institution_changed")
    INSTITUTION_DELETED = N_("institution_deleted")
    PARTNER_CREATED = N_("partner_created")
    PARTNER_EDITED = N_("partner_edited")
    PARTNER_TOGGLED = N_("partner_toggled")
    PARTNER_DELETED = N_("partner_deleted")


CASE_ACTIONS: tuple[Action, ...] = tuple(Action)[: list(Action).index(Action.RECEIPT_REISSUED) + 1]

# What each case action is called in a history people read (the stored value is a code).
ACTION_TITLES = {
    Action.CREATED: N_("report received"),
    Action.ROUTED: N_("routed to a queue"),
    Action.VIEWED: N_("opened the case"),
    Action.ASSIGNED: N_("assigned"),
    Action.UNASSIGNED: N_("unassigned"),
    Action.STATUS: N_("status changed"),
    Action.PRIORITY: N_("priority changed"),
    Action.QUEUE: N_("moved to another queue"),
    Action.NOTE: N_("internal note added"),
    Action.MESSAGE_SENT: N_("message sent to the reporter"),
    Action.REPORTER_MESSAGE: N_("message from the reporter"),
    Action.EVIDENCE_ADDED: N_("file added"),
    Action.EVIDENCE_DOWNLOADED: N_("file downloaded"),
    Action.LEGAL_HOLD: N_("legal hold changed"),
    Action.CONTENT_DESTROYED: N_("content destroyed"),
    Action.ESCALATED: N_("late: supervisors alerted"),
    Action.TAG_ADDED: N_("tag added"),
    Action.TAG_REMOVED: N_("tag removed"),
    Action.CASE_LINKED: N_("linked to another case"),
    Action.CASE_UNLINKED: N_("link to another case removed"),
    Action.MARKED_DUPLICATE: N_("closed as a duplicate of another case"),
    Action.INSTITUTION_LINKED: N_("linked to an institution"),
    Action.INSTITUTION_UNLINKED: N_("link to an institution removed"),
    Action.REFERRAL_PREPARED: N_("referral prepared"),
    Action.REFERRAL_CONSENT: N_("reporter answered the consent question"),
    Action.REFERRAL_SENT: N_("referral letter sent"),
    Action.REFERRAL_ANSWERED: N_("answer to a referral recorded"),
    Action.REFERRAL_WITHDRAWN: N_("referral withdrawn before sending"),
    Action.RECEIPT_REISSUED: N_("receipt issued again"),
}


class Priority(IntEnum):
    """Stored as the number (urgent first in every index); shown by its name."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @property
    def label(self) -> str:
        """The code shown on pages and in the audit trail: ``urgent``, ``high``, ``normal``, ``low``."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Priority | None:
        return cls.__members__.get(label.upper()) if label.isalpha() else None


# The value codes of priorities, shown through ``_()`` in the history.
PRIORITY_LABELS = (N_("urgent"), N_("high"), N_("normal"), N_("low"))
PRIORITY_TITLES = {
    Priority.URGENT: N_("Urgent"),
    Priority.HIGH: N_("High"),
    Priority.NORMAL: N_("Normal"),
    Priority.LOW: N_("Low"),
}


class Channel(StrEnum):
    """How a report reached the office. The public form files ``web``."""

    WEB = "web"
    PHONE = "phone"
    IN_PERSON = "in_person"
    LETTER = "letter"
    EMAIL = "email"


CHANNEL_TITLES = {
    Channel.WEB: N_("Web form"),
    Channel.PHONE: N_("By phone (hotline)"),
    Channel.IN_PERSON: N_("In person (walk-in)"),
    Channel.LETTER: N_("By letter (or through a partner body)"),
    Channel.EMAIL: N_("By e-mail"),
}
STAFF_CHANNELS = (Channel.PHONE, Channel.IN_PERSON, Channel.LETTER, Channel.EMAIL)


class MessageKind(StrEnum):
    NOTE = "note"  # staff only
    TO_REPORTER = "to_reporter"
    FROM_REPORTER = "from_reporter"


class AccessKind(StrEnum):
    """Access to case content that an administrator asks for and a supervisor must approve."""

    SUPERVISOR = "supervisor"  # a new supervisor account (supervisors read every case)
    QUEUES = "queues"  # queues added to a case worker
    ROLE = "role"  # an existing account raised to supervisor or administrator


class LinkKind(StrEnum):
    """How two cases are linked. ``duplicate_of`` points from the duplicate (closed) to the kept case."""

    RELATED = N_("related")
    DUPLICATE_OF = N_("duplicate_of")


LINK_TITLES = {LinkKind.RELATED: N_("Related case"), LinkKind.DUPLICATE_OF: N_("Duplicate of (closes this case)")}


class InstitutionType(StrEnum):
    """What kind of place or body an institution of the register is (``cases/institutions.py``)."""

    POLICE = "police"  # a police department or station
    IVS = "ivs"  # temporary holding facility (изолятор временного содержания)
    SIZO = "sizo"  # pre-trial detention centre (следственный изолятор)
    COLONY = "colony"  # a colony or prison
    SCHOOL = "school"
    CHILDRENS_HOME = "childrens_home"  # an orphanage or children's home
    PSYCHIATRIC = "psychiatric"
    SOCIAL_CARE = "social_care"
    OTHER = "other"


INSTITUTION_TYPE_TITLES = {
    InstitutionType.POLICE: N_("Police department"),
    InstitutionType.IVS: N_("Temporary holding facility (IVS)"),
    InstitutionType.SIZO: N_("Pre-trial detention centre (SIZO)"),
    InstitutionType.COLONY: N_("Colony or prison"),
    InstitutionType.SCHOOL: N_("School"),
    InstitutionType.CHILDRENS_HOME: N_("Orphanage or children's home"),
    InstitutionType.PSYCHIATRIC: N_("Psychiatric institution"),
    InstitutionType.SOCIAL_CARE: N_("Social-care institution"),
    InstitutionType.OTHER: N_("Other institution"),
}


class MailKind(StrEnum):
    """What an outbox row sends (``cases/notify.py`` composes each; none carries case content)."""

    REPORTER_NOTICE = "reporter_notice"  # "there is news", in the reporter's language
    ESCALATION = "escalation"  # "N cases are late", to a queue's supervisors


class Answer(StrEnum):
    """A reporter's answer to a yes/no question where "I don't know" is honest."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class PartnerKind(StrEnum):
    """What kind of body a referral goes to."""

    STATE_BODY = N_("state_body")
    NPM = N_("npm")
    COMMISSIONER = N_("commissioner")
    NGO = N_("ngo")
    OTHER = N_("other_body")


PARTNER_KIND_TITLES = {
    PartnerKind.STATE_BODY: N_("State body"),
    PartnerKind.NPM: N_("National Preventive Mechanism"),
    PartnerKind.COMMISSIONER: N_("Commissioner (ombudsperson)"),
    PartnerKind.NGO: N_("Non-governmental organisation"),
    PartnerKind.OTHER: N_("Other body"),
}


class SharedField(StrEnum):
    """What a referral letter may carry about a case, one item each (``cases/referrals.py`` says
    which items each basis allows)."""

    CATEGORY = "category"
    REGION = "region"
    DATES = "dates"
    CIRCUMSTANCES = "circumstances"
    NARRATIVE_REDACTED = "narrative_redacted"
    NARRATIVE_ORIGINAL = "narrative_original"
    PLACE = "place"
    REPORTER_CONTACT = "reporter_contact"
    FILES = "files"


SHARED_FIELD_TITLES = {
    SharedField.CATEGORY: N_("Category of the violation"),
    SharedField.REGION: N_("Region"),
    SharedField.DATES: N_("When it happened"),
    SharedField.CIRCUMSTANCES: N_("Danger, child, custody"),
    SharedField.NARRATIVE_REDACTED: N_("What happened (names redacted)"),
    SharedField.NARRATIVE_ORIGINAL: N_("What happened (as the reporter wrote it)"),
    SharedField.PLACE: N_("Where it happened"),
    SharedField.REPORTER_CONTACT: N_("How to reach the reporter"),
    SharedField.FILES: N_("List of the files (sent separately)"),
}


class Basis(StrEnum):
    """Why the office may share what a referral carries."""

    CONSENT = "consent"  # the reporter said yes on the tracking page
    DEIDENTIFIED = "deidentified"  # nothing that can identify anyone
    LEGAL_DUTY = "legal_duty"  # a law obliges the office; the duty is recorded in words


BASIS_TITLES = {
    Basis.CONSENT: N_("The reporter's consent (asked on the tracking page)"),
    Basis.DEIDENTIFIED: N_("De-identified content only"),
    Basis.LEGAL_DUTY: N_("A legal duty to report"),
}


class ReferralState(StrEnum):
    DRAFT = N_("draft")
    SENT = N_("sent")
    ANSWERED = N_("answered")
    WITHDRAWN = N_("withdrawn")


class ReferralOutcome(StrEnum):
    """What the body's answer says it did."""

    INVESTIGATION = "investigation"
    ACTION_TAKEN = "action_taken"
    NO_VIOLATION = "no_violation"
    DECLINED = "declined"
    FORWARDED = "forwarded"
    OTHER = "other"


OUTCOME_TITLES = {
    ReferralOutcome.INVESTIGATION: N_("An investigation or inspection was opened"),
    ReferralOutcome.ACTION_TAKEN: N_("Measures were taken"),
    ReferralOutcome.NO_VIOLATION: N_("No violation was found"),
    ReferralOutcome.DECLINED: N_("The body declined to act"),
    ReferralOutcome.FORWARDED: N_("Passed on to another body"),
    ReferralOutcome.OTHER: N_("Other answer"),
}


# Boolean values as the history shows them (legal hold on/off).
BOOLEAN_LABELS = (N_("true"), N_("false"))


def check_in(column: str, values) -> str:
    """SQL for a CHECK constraint that ``column`` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(str(v.value if hasattr(v, 'value') else v)) for v in values)})"
