"""The words a search matches: normalising, stemming and keying (``cases/search.py``), no database."""

from __future__ import annotations

import pytest

from cases import search


def matches(text: str, query: str) -> bool:
    """What the index decides: every query word has a stem among the text's terms."""
    terms = search.text_terms(text)
    return all(any(t in terms for t in group) for group in search.query_terms(query))


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Его избил полицейский", "избили"),  # the example, both ways
        ("Его избили в участке", "избил"),
        ("ИЗБИЛИ", "избили"),  # case
        ("Ёлка во дворе", "елка"),  # ё as е
        ("пoлиция", "полиция"),  # a Latin o typed inside a Cyrillic word
        ("Полициядағы қызметкерлер ұрды", "полиция"),  # Kazakh endings
        ("Мені полицияда ұстады", "полициядағы"),  # a Kazakh word without Kazakh letters
        ("Балаларды мектепте қорлады", "балалар мектеп"),
        ("Әкімдікке шағым жаздым", "әкімдік"),
        ("Бала мектепте", "мектепке"),  # another case ending, the same stem
        ("They were beating him at the station", "beat station"),
        ("Tortured in custody", "torture"),
    ],
)
def test_a_word_finds_its_other_forms(text, query):
    assert matches(text, query)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Его избил полицейский", "избили прокурор"),  # every word must match
        ("Бала мектепте", "ауруханада"),
        ("They beat him", "police"),
        ("", "anything"),
    ],
)
def test_unrelated_words_do_not_match(text, query):
    assert not matches(text, query)


def test_contact_details_are_exact_terms():
    assert search.query_terms("Someone@Example.ORG") == [["e:someone@example.org"]]
    assert search.query_terms("+7 701 123-45-67") == [["p:+77011234567"]]
    assert search.contact_terms("Someone@Example.org", "+77011234567") == {
        "e:someone@example.org",
        "p:+77011234567",
    }


def test_queries_are_bounded_and_one_letter_words_ignored():
    assert search.query_terms("a " + " ".join(f"word{i}" for i in range(20))) == search.query_terms(
        " ".join(f"word{i}" for i in range(search.MAX_QUERY_WORDS))
    )
    assert search.query_terms("  ,, . ") == []


def test_stored_terms_are_keyed_and_reveal_no_word():
    key, other = b"\x01" * 32, b"\x02" * 32
    stored = search.blind(key, "w:изб")
    assert len(stored) == search.TERM_BYTES and "изб".encode() not in stored
    assert stored == search.blind(key, "w:изб") != search.blind(other, "w:изб")
