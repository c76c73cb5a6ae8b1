"""Regenerate the README sections that come from code (settings, workflow, categories, routing).

`make readme` rewrites them; tests/test_readme.py fails when the README has drifted.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
from cases import workflow  # noqa: E402
from cases.categories import CATEGORIES  # noqa: E402
from cases.models import Priority  # noqa: E402
from cases.seed import FIRST_RESPONSE_HOURS, QUEUES, RULES, demo_accounts  # noqa: E402


def sections() -> dict[str, str]:
    queue_names = {slug: name for slug, name, _ in QUEUES}
    cats = ["| slug | name | plain-language explanation | first response |", "| --- | --- | --- | --- |"]
    for c in CATEGORIES:
        due = f"{FIRST_RESPONSE_HOURS[c.slug]} hours" if c.slug in FIRST_RESPONSE_HOURS else "3 working days"
        cats.append(f"| `{c.slug}` | {c.name} | {c.explanation} | {due} |")
    rules = ["| # | when | queue | priority |", "| --- | --- | --- | --- |"]
    for i, r in enumerate(RULES, start=1):
        cond = [
            f"{k}={getattr(r, k)}"
            for k in ("category", "immediate_danger", "child_affected", "in_custody")
            if getattr(r, k) is not None
        ]
        rules.append(
            f"| {i * 10} | {' and '.join(cond) or 'any report (catch-all)'} | {queue_names[r.queue]} "
            f"(`{r.queue}`) | {Priority(r.priority).label} |"
        )
    logins = ["| demo login | role | works |", "| --- | --- | --- |"]
    for email, _name, role, queues in demo_accounts():
        works = {
            "supervisor": "every queue: reassigns, moves, reopens, approves access",
            "admin": "accounts, queues and routing rules; never case content",
        }.get(role) or ", ".join(f"{queue_names[q]} (`{q}`)" for q in queues)
        logins.append(f"| `{email}` | {role} | {works} |")
    return {
        "demo-logins": "\n".join(logins),
        "settings": config.settings_table(),
        "workflow": "```mermaid\n" + workflow.mermaid() + "\n```",
        "categories": "\n".join(cats),
        "routing": "\n".join(rules),
    }


def render(text: str) -> str:
    for name, body in sections().items():
        pattern = re.compile(rf"(<!-- BEGIN:{name} -->\n)(?:.*?\n)?(<!-- END:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README lacks the {name} markers")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    path = ROOT / "README.md"
    path.write_text(render(path.read_text()))
