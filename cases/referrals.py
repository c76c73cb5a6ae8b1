"""Referrals to partner bodies: what each basis allows a letter to carry, and the letter number.

The rule is a table, like the workflow's: a referral on the reporter's consent or on a legal duty
may carry every item; a de-identified one only the items that cannot identify the reporter or
anyone else — the category, region, dates, the danger/child/custody answers and the narrative
with names redacted by the case worker. The place (an address, a cell, a school), the original
narrative, the reporter's contact and the files stay in the office. A reporter who left no way
to reach them (anonymous) cannot be asked, so consent is not a basis for their case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from cases import deadlines
from cases.refusals import Refused
from cases.vocabulary import SHARED_FIELD_TITLES, Basis, SharedField
from i18n import N_

F = SharedField
ALLOWED: dict[Basis, frozenset[SharedField]] = {
    Basis.CONSENT: frozenset(SharedField),
    Basis.LEGAL_DUTY: frozenset(SharedField),
    Basis.DEIDENTIFIED: frozenset({F.CATEGORY, F.REGION, F.DATES, F.CIRCUMSTANCES, F.NARRATIVE_REDACTED}),
}
# Letters, digits, dashes, slashes and dots, with at least one digit: "04-12/345", "ШЖ-2026/17".
LETTER_NUMBER = re.compile(
    r"^(?=.*\d)[0-9A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі][0-9A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі./-]{0,39}$"
)
LETTER_NUMBER_HINT = N_(
    "A letter number is 1 to 40 letters, digits, dashes, slashes or dots, with at least one digit "
    "(for example 04-12/345)."
)
MAX_ANSWER_DAYS = 120


class ReferralRefused(Refused):
    """A referral the rules do not allow; the message says what to change."""


def fields_from(values: Iterable[str]) -> list[SharedField]:
    """Known items in the enum's order; an unknown one is refused (a forged form)."""
    wanted = set(values)
    known = {f.value for f in SharedField}
    if wanted - known:
        raise ReferralRefused(N_("Choose what to share from the list."))
    return [f for f in SharedField if f.value in wanted]


def check_fields(basis: Basis | str, fields: Iterable[SharedField], *, anonymous: bool) -> None:
    """Refuse an item the basis does not allow, an empty letter, and consent for an anonymous case."""
    basis = Basis(basis)
    fields = list(fields)
    if not fields:
        raise ReferralRefused(N_("Choose at least one item to share."))
    if basis == Basis.CONSENT and anonymous:
        raise ReferralRefused(
            N_(
                "The reporter left no way to reach them, so they cannot be asked: share only de-identified "
                "content, or record the legal duty that requires more."
            )
        )
    refused = [f for f in fields if f not in ALLOWED[basis]]
    if refused:
        raise ReferralRefused(
            N_("A de-identified referral cannot share “%(field)s”: untick it, or choose another basis."),
            field=SHARED_FIELD_TITLES[refused[0]],
        )


def normalized_number(raw: str) -> str:
    """The letter number as stored, or a refusal saying what a number looks like."""
    number = (raw or "").strip()
    if not LETTER_NUMBER.match(number):
        raise ReferralRefused(LETTER_NUMBER_HINT)
    return number


def check_date(day: date | None, *, not_before: date, today: date, what: str) -> date:
    """A date that is given, not in the future and not before ``not_before``."""
    if day is None:
        raise ReferralRefused(N_("Give the date: %(what)s."), what=what)
    if day > today:
        raise ReferralRefused(N_("The date cannot be in the future: %(what)s."), what=what)
    if day < not_before:
        raise ReferralRefused(N_("The date cannot be before %(day)s: %(what)s."), day=not_before.isoformat(), what=what)
    return day


def answer_due(sent_on: date, working_days: int) -> date:
    """The day the body's answer is due: ``working_days`` Monday-to-Friday days after sending."""
    start = datetime.combine(sent_on, datetime.min.time())
    return deadlines.add_working_days(start, working_days).date()
