"""Reply templates: the placeholders a supervisor may write and how they are filled in.

A placeholder is a word in braces, ``{reference}``. Any other brace is text (``{ }``,
``{see above}``, a lone ``}``), so a template may quote braces freely; a braced word that
is not one of ``PLACEHOLDERS`` (a typo such as ``{Reference}``) is refused when the template
is saved, by name. Substitution is one pass: a value that itself holds ``{due_date}`` (a
name typed that way) is never expanded again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from i18n import N_

PLACEHOLDERS: dict[str, str] = {
    "reference": N_("the case's reference, e.g. SHG-2025-000123"),
    "case_worker": N_("your first name (the first word of your name)"),
    "due_date": N_("the case's first-response due date, in the template's language"),
}
NAME_MAX, BODY_MAX = 100, 4000

# A word in braces: letters of any script, digits, underscores (so ``{имя}`` is an unknown placeholder).
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def unknown_placeholders(body: str) -> list[str]:
    """The braced words of ``body`` that are not placeholders, each once, in order of appearance."""
    found = [m.group(1) for m in _PLACEHOLDER.finditer(body)]
    return list(dict.fromkeys(name for name in found if name not in PLACEHOLDERS))


def substitute(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each known placeholder replaced by its value, in one pass; other text as written."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in PLACEHOLDERS and name in values else match.group(0)

    return _PLACEHOLDER.sub(fill, body)


def first_name(full_name: str) -> str:
    """The first word of a staff member's name (the name as written when there is only one)."""
    words = full_name.split()
    return words[0] if words else ""


def values_for(reference: str, staff_name: str, due_at: datetime, language: str, timezone: str) -> dict[str, str]:
    """What the placeholders stand for in a template of ``language``: the due date is the day in the
    office's time zone, written the way that language writes dates."""
    day = due_at.astimezone(ZoneInfo(timezone)).date()
    return {
        "reference": reference,
        "case_worker": first_name(staff_name),
        "due_date": format_date(day, format="long", locale=language),
    }
