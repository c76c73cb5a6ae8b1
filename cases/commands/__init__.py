"""The command layer: the only code that writes to the database.

Every change — a report, a staff action, a reporter's reply, retention, key
rotation, read-access events, accounts, sessions, second factor, queues,
routing rules, reply templates — is a function here decorated with ``@command`` (``unit.py``):
it checks its rule, applies the change, appends its audit event(s) and
commits once, or rolls everything back. Views and CLI commands call these
functions; they never commit.
"""

from cases.commands.accounts import (
    SecondFactorLocked,
    change_password,
    create_user,
    deactivate_user,
    decide_access,
    end_session_row,
    enrol_second_factor,
    pass_second_factor,
    reauthenticate,
    record_second_factor_failure,
    refresh_session,
    set_memberships,
    sign_in,
    sign_out,
)
from cases.commands.admin import (
    ResetCodeRefused,
    change_role,
    reactivate_user,
    redeem_reset_code,
    reset_password,
    reset_two_factor,
    set_new_password,
)
from cases.commands.bulk import BULK_ACTIONS, MAX_BULK, apply_to_each
from cases.commands.casework import (
    add_note,
    assign,
    change_priority,
    change_status,
    claim,
    hand_over,
    move_queue,
    record_download,
    record_view,
    send_message,
    set_legal_hold,
)
from cases.commands.exports import record_export
from cases.commands.intake import DuplicateSubmission, Filed, NewReport, file_report, reissue_receipt
from cases.commands.links import (
    add_tag,
    create_tag,
    link_cases,
    remove_tag,
    rename_tag,
    set_tag_active,
    unlink_cases,
)
from cases.commands.maintenance import (
    destroy_content,
    due_for_destruction,
    reencrypt_all,
    rotate_audit_key,
    rotate_keys,
)
from cases.commands.office import (
    add_rule,
    create_queue,
    edit_queue,
    edit_rule,
    move_rule,
    set_queue_active,
    toggle_rule,
)
from cases.commands.operations import record_backup, record_restore
from cases.commands.reference import TREATIES, add_provision, map_provisions
from cases.commands.reporter import (
    REPLY_MAX,
    end_tracking,
    reporter_reply,
    start_tracking,
)
from cases.commands.rollups import mark_current, run_rollups, store_day
from cases.commands.searchindex import rebuild_index
from cases.commands.servicelevels import (
    Escalated,
    delete_view,
    due_for_escalation,
    escalate,
    save_view,
    set_service_levels,
)
from cases.commands.templates import TemplateProblem, create_template, edit_template, toggle_template
from cases.commands.unit import CommandError, Conflict, Forbidden, NotFound, command, quietly, write_checkpoint

__all__ = [
    "mark_current",
    "run_rollups",
    "store_day",
    "REPLY_MAX",
    "CommandError",
    "Conflict",
    "DuplicateSubmission",
    "Filed",
    "Forbidden",
    "NewReport",
    "NotFound",
    "TemplateProblem",
    "add_note",
    "add_rule",
    "add_tag",
    "create_tag",
    "link_cases",
    "remove_tag",
    "rename_tag",
    "set_tag_active",
    "unlink_cases",
    "assign",
    "change_password",
    "change_priority",
    "change_status",
    "claim",
    "hand_over",
    "command",
    "create_queue",
    "create_template",
    "edit_template",
    "toggle_template",
    "create_user",
    "deactivate_user",
    "decide_access",
    "destroy_content",
    "due_for_destruction",
    "end_session_row",
    "enrol_second_factor",
    "file_report",
    "move_queue",
    "pass_second_factor",
    "reauthenticate",
    "record_second_factor_failure",
    "SecondFactorLocked",
    "record_download",
    "record_view",
    "reencrypt_all",
    "reissue_receipt",
    "record_backup",
    "record_restore",
    "record_export",
    "refresh_session",
    "reporter_reply",
    "start_tracking",
    "end_tracking",
    "quietly",
    "BULK_ACTIONS",
    "MAX_BULK",
    "apply_to_each",
    "rebuild_index",
    "rotate_audit_key",
    "rotate_keys",
    "send_message",
    "set_legal_hold",
    "set_memberships",
    "sign_in",
    "sign_out",
    "toggle_rule",
    "write_checkpoint",
    "Escalated",
    "delete_view",
    "due_for_escalation",
    "escalate",
    "save_view",
    "set_service_levels",
    "TREATIES",
    "add_provision",
    "map_provisions",
    "ResetCodeRefused",
    "change_role",
    "reactivate_user",
    "redeem_reset_code",
    "reset_password",
    "reset_two_factor",
    "set_new_password",
    "edit_queue",
    "edit_rule",
    "move_rule",
    "set_queue_active",
]
