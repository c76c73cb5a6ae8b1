"""What the report-form tests share: the answers a reporter typed, and the check that a
refused form gives all of them back."""

from __future__ import annotations

import secrets

from tests.helpers import HtmlPage, report_form

# Contact details are typed in a shape the server normalises: they must still come back as typed.
TYPED = report_form(
    category="women",
    narrative="My neighbour is beaten by her husband and the police do nothing.",
    occurred_on="2025-11-03",
    region="karaganda",
    place_description="A private flat in Temirtau",
    child_affected="unknown",
    reporter_role="relative",
    contact="contact",
    email="Reporter@Example.org",
    phone="+7 701 234 5678",
)


def form(**overrides) -> dict:
    """The typed answers with a fresh submission token; an override of ``None`` leaves a field out."""
    data = {**TYPED, "submission_token": secrets.token_urlsafe(12)}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def assert_typed_values_back(page: HtmlPage, typed: dict, skip: tuple[str, ...] = ()) -> None:
    for name, value in typed.items():
        if name in skip or name == "submission_token":
            continue
        first = value[0] if isinstance(value, list) else value
        assert page.values.get(name) == [first], f"{name}: typed {first!r}, form shows {page.values.get(name)!r}"
