"""Reply-template placeholders: which are known, how they are filled in, and what stays text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cases import replies

VALUES = {"reference": "SHG-2025-000042", "case_worker": "Aigerim", "due_date": "7 March 2025"}


def test_each_placeholder_is_filled_in():
    body = "Case {reference}: {case_worker} will answer by {due_date}."
    assert replies.substitute(body, VALUES) == "Case SHG-2025-000042: Aigerim will answer by 7 March 2025."


def test_a_placeholder_used_twice_is_filled_in_twice():
    assert replies.substitute("{reference} / {reference}", VALUES) == "SHG-2025-000042 / SHG-2025-000042"


@pytest.mark.parametrize(
    "text",
    ["{ }", "{}", "{see above}", "a } alone and a { alone", 'JSON: {"a": 1}', "{reference is here}"],
)
def test_other_braces_are_text(text):
    assert replies.unknown_placeholders(text) == []
    assert replies.substitute(text, VALUES) == text


@pytest.mark.parametrize(
    ("body", "unknown"),
    [
        ("Dear {name}", ["name"]),
        ("{Reference}", ["Reference"]),  # placeholders are written in lower case
        ("{имя} and {due_date} and {имя} and {x1}", ["имя", "x1"]),  # each once, in order
        ("{reference}", []),
    ],
)
def test_unknown_placeholders_are_named(body, unknown):
    assert replies.unknown_placeholders(body) == unknown


def test_a_value_holding_a_placeholder_is_not_expanded_again():
    values = {**VALUES, "case_worker": "{due_date}"}
    assert replies.substitute("{case_worker}", values) == "{due_date}"


def test_unknown_placeholders_are_left_as_written_when_filling_in():
    assert replies.substitute("{name} {reference}", VALUES) == "{name} SHG-2025-000042"


@pytest.mark.parametrize(("full", "first"), [("Aigerim Nurlanovna", "Aigerim"), ("Aigerim", "Aigerim"), ("  ", "")])
def test_the_case_worker_is_the_first_word_of_the_name(full, first):
    assert replies.first_name(full) == first


# 18:30 UTC on 6 March is already 7 March in Almaty (UTC+5): the office's day counts.
DUE = datetime(2025, 3, 6, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "written"),
    # CLDR writes a narrow no-break space before the year's abbreviation.
    [("en", "March 7, 2025"), ("ru", "7 марта 2025\u202fг."), ("kk", "2025\u202fж. 7 наурыз")],
)
def test_the_due_date_is_the_office_day_written_in_the_templates_language(language, written):
    values = replies.values_for("SHG-2025-000042", "Aigerim Nurlanovna", DUE, language, "Asia/Almaty")
    assert values == {"reference": "SHG-2025-000042", "case_worker": "Aigerim", "due_date": written}
