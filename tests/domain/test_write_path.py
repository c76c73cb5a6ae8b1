"""One write path: only the command layer commits, adds rows or appends audit events.

The test reads the source with ``ast`` (nothing is imported or run), so a stray
``db.session.commit()`` in a view, a CLI command or a domain module fails here
before it can write a change without its audit event.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_SOURCES = (
    "cases",
    "intake",
    "staff",
    "web",
    "storage",
    "wsgi.py",
    "cli.py",
    "config.py",
    "extensions.py",
    "i18n.py",
)
COMMAND_LAYER = "cases/commands/"
# Allowed outside the command layer, each for a stated reason.
EXCEPTIONS = {
    "cases/audit.py": "the event store: ``append`` and ``write_checkpoint`` add rows, called only by commands",
    "cases/seed.py": "seed data for a new database (reference data and demo set-up)",
}
SESSION_WRITES = {"commit", "add", "add_all", "delete", "merge", "flush", "bulk_save_objects", "bulk_insert_mappings"}
WRITE_STATEMENTS = {"insert", "update", "delete"}
AUDIT_WRITES = {"append", "write_checkpoint"}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _ends_in_session(node: ast.expr) -> bool:
    """``db.session``, ``session`` or ``self.session``: the receiver of a write."""
    if isinstance(node, ast.Attribute):
        return node.attr == "session"
    return isinstance(node, ast.Name) and node.id == "session"


def violations(source: str, path: str) -> list[Violation]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, receiver = node.func.attr, node.func.value
        if name in SESSION_WRITES and _ends_in_session(receiver):
            found.append(Violation(path, node.lineno, f"session.{name}() outside the command layer"))
        elif name == "execute" and _ends_in_session(receiver) and node.args:
            statement = node.args[0]
            while isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute):
                statement = statement.func.value  # update(Model).where(...).values(...)
            if isinstance(statement, ast.Call) and getattr(statement.func, "id", "") in WRITE_STATEMENTS:
                found.append(Violation(path, node.lineno, f"{statement.func.id}() statement outside the command layer"))
        elif name in AUDIT_WRITES and isinstance(receiver, ast.Name) and receiver.id == "audit":
            found.append(Violation(path, node.lineno, f"audit.{name}() outside the command layer"))
    return found


def app_files() -> list[Path]:
    files: list[Path] = []
    for entry in APP_SOURCES:
        path = ROOT / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def test_nothing_outside_the_command_layer_commits_adds_rows_or_appends_events():
    found = []
    for path in app_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(COMMAND_LAYER) or rel in EXCEPTIONS:
            continue
        found.extend(violations(path.read_text(encoding="utf-8"), rel))
    assert not found, "writes outside cases/commands/:\n" + "\n".join(map(str, found))


def test_the_exceptions_still_exist_and_the_walk_reads_the_whole_app():
    rels = {p.relative_to(ROOT).as_posix() for p in app_files()}
    assert set(EXCEPTIONS) <= rels
    assert {"staff/views.py", "intake/views.py", "cli.py", "cases/commands/unit.py"} <= rels


@pytest.mark.parametrize(
    "snippet",
    [
        "db.session.commit()",
        "db.session.add(Case())",
        "session.delete(row)",
        "db.session.execute(update(Case).where(Case.id == 1).values(status='closed'))",
        "db.session.execute(delete(Event))",
        "audit.append(db.session, case=None, actor_type='staff', action='viewed')",
    ],
)
def test_a_stray_write_in_a_view_is_caught(snippet):
    """Guards the guard: each kind of write, pasted into a view, is reported."""
    source = f"def view():\n    {snippet}\n"
    assert [v.line for v in violations(source, "staff/views.py")] == [2]


def test_reads_are_not_writes():
    source = "db.session.execute(select(Case))\ndb.session.scalars(select(Case))\ndb.session.get(Case, 1)\n"
    assert violations(source, "staff/views.py") == []


def test_every_public_function_of_the_command_modules_is_a_command_or_a_helper_they_share():
    """A public function in cases/commands that writes must be decorated with ``@command``
    (the unit of work that commits once); the shared building blocks are named here."""
    helpers = {
        "casework.py": {"apply_transition", "add_message", "first_response_due", "resolution_due", "reference_data"},
        "servicelevels.py": {"due_for_escalation"},
        "intake.py": {"add_evidence", "take_evidence_quota"},
        "maintenance.py": {"due_for_destruction", "reencrypt_all", "rotate_audit_key", "rotate_keys"},
        "bulk.py": {"apply_to_each"},
        "rollups.py": {"run_rollups"},
        "outbox.py": {"retry_delay"},
        "accounts.py": {"keep_an_admin", "apply_role"},
        "admin.py": {"new_reset_code", "normalized_code"},
        "searchindex.py": {"search_key", "index_terms", "index_case", "forget_case", "rebuild_index"},
        "unit.py": {
            "command",
            "lock_case",
            "quietly",
            "record",
            "touch",
            "utcnow",
            "sign_checkpoint",
            "write_checkpoint",
            "checkpoint_due",
            "checkpoint_if_due",
            "queue_mail",
        },
    }
    undecorated = []
    for path in sorted((ROOT / COMMAND_LAYER).glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            decorated = any(getattr(d, "id", "") == "command" for d in node.decorator_list)
            if not decorated and node.name not in helpers.get(path.name, set()):
                undecorated.append(f"{path.name}:{node.name}")
    assert not undecorated, undecorated
