"""Kazakh, Russian and English catalogs: every string translated, with the same placeholders.

The catalogs are checked against a fresh extraction of the source (the same
``babel.cfg`` and keywords as ``pybabel extract``), so a string added to a
template, a form or a domain module without a translation fails here, not in
front of a frightened reporter.
"""

from __future__ import annotations

import re

import pytest

from tests.project.catalogs import (
    LANGUAGES,
    PLACEHOLDER,
    catalog_of,
    extracted,
    placeholders,
)

# --- the catalogs ---------------------------------------------------------------------------------------------------


def test_extraction_finds_the_strings_of_every_kind_of_source():
    """Guards the guard: if babel.cfg or the keywords stopped matching, the completeness test would pass on nothing."""
    found = extracted()
    expected = {
        "Report a human-rights violation": "templates/",  # template _()
        "Tell us what happened.": "intake/forms.py",  # form _l()
        "Torture and ill-treatment": "cases/categories.py",  # domain N_()
        "We need more information from you. Please read the messages below and reply.": "cases/workflow.py",
        "Keep this code secret and safe. With it you can check your case, read our messages and reply at:": "templates/intake/receipt.txt",  # the receipt file
        "Only supervisors can assign cases.": "cases/commands/casework.py",  # command refusals
        "Use at least %(n)s characters.": "cases/accounts.py",  # password refusals
    }
    for msgid, where in expected.items():
        assert msgid in found, msgid
        assert any(place.startswith(where) for place in found[msgid]), (msgid, found[msgid])
    assert len(found) > 400


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_source_string_has_a_translation_with_the_same_placeholders(lang):
    catalog = catalog_of(lang)
    problems = []
    for msgid, places in sorted(extracted().items()):
        message = catalog.get(msgid)
        strings = message.string if message is not None else None
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {msgid!r} ({places[0]})")
            continue
        for text in strings:
            if placeholders(text) != placeholders(msgid):
                problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
            rest = PLACEHOLDER.sub("", text)
            if "%" in rest and "%" not in PLACEHOLDER.sub("", msgid):
                problems.append(f"stray % (breaks formatting): {text!r}")
        if lang == "en" and message.string != msgid:
            problems.append(f"English must equal the source text: {msgid!r} -> {message.string!r}")
    assert not problems, f"{lang}: {len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_are_not_fuzzy_and_carry_their_language(lang):
    catalog = catalog_of(lang)
    assert not catalog.fuzzy, "a fuzzy catalog is silently skipped by pybabel compile"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in {lang}: {fuzzy}"
    assert str(catalog.locale) == lang


@pytest.mark.parametrize("lang", ("kk", "ru"))
def test_kazakh_and_russian_are_written_in_cyrillic(lang):
    """A msgstr pasted in English (or left as the English source) would pass the completeness check."""
    copied = [
        m.id
        for m in catalog_of(lang)
        if m.id
        and m.string
        and not re.search("[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]", m.string)
        and re.search("[A-Za-z]{3}", m.id)
        and m.id not in {"Shagym"}
    ]
    assert not copied, copied


@pytest.mark.parametrize(
    ("english", "kazakh", "russian"),
    [
        ("Abai Region", "Абай облысы", "Абайская область"),
        ("Akmola Region", "Ақмола облысы", "Акмолинская область"),
        ("Almaty (city)", "Алматы қаласы", "город Алматы"),
        ("Astana (city)", "Астана қаласы", "город Астана"),
        ("Shymkent (city)", "Шымкент қаласы", "город Шымкент"),
        ("Jetisu Region", "Жетісу облысы", "область Жетісу"),
        ("Ulytau Region", "Ұлытау облысы", "область Ұлытау"),
    ],
)
def test_regions_use_their_official_names(english, kazakh, russian):
    assert catalog_of("kk").get(english).string == kazakh
    assert catalog_of("ru").get(english).string == russian
