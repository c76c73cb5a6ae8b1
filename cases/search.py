"""Finding words inside encrypted text: a blind index of keyed word stems.

Narratives, places, contacts and messages are encrypted at rest, so the
database cannot search them. Instead each case gets a set of *terms*: every
word of its texts is normalised and stemmed, and the stem is replaced by
``HMAC-SHA256(search key, "w:" + stem)`` cut to 16 bytes; contact details
become ``"e:" + e-mail`` and ``"p:" + E.164 phone`` the same way. The key lives
outside the database (``instance/keys/search-*.key`` or ``SHAGYM_SEARCH_KEYS``),
so a copy of the database shows only which cases share a term — never the term.

Words are read as a person would type them in Kazakh, Russian or English:

- Unicode NFC, case folded, ``ё`` read as ``е``, Latin letters that look like
  Cyrillic ones (``o``, ``a``, ``c``…) inside a Cyrillic word read as Cyrillic;
- a word with a Kazakh letter (ә ғ қ ң ө ұ ү һ і) loses its Kazakh endings
  (``полициядағы`` → ``полиция``); any other Cyrillic word could be Kazakh or
  Russian, so it gives two stems, its Kazakh one (``полицияда`` → ``полиция``)
  and the Snowball Russian one (``избили`` and ``избил`` → ``изб``); Latin words
  go through the Snowball English stemmer (``beating`` → ``beat``);
- words of one letter, and numbers longer than 12 digits, are left out.

The same functions read the query: a query word finds a case when one of its
stems is among the case's terms, and every word of the query must. Nothing here
touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

TERM_BYTES = 16
MAX_QUERY_WORDS = 8

KAZAKH_LETTERS = frozenset("әғқңөұүһі")
# Hyphens separate (ИВС-та, ұрып-соқты are two words each); apostrophes join (o'clock, don't).
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Latin letters that are drawn like Cyrillic ones, as typed into Cyrillic words by mixed keyboards.
_LOOKALIKES = str.maketrans("aceopxykmhtbiі", "асеорхукмнтвіі")
_russian = snowballstemmer.stemmer("russian")
_english = snowballstemmer.stemmer("english")

# Kazakh endings, longest first: plural, possessive, case, and common verb forms. Stripped
# repeatedly (a word can carry several: полиция-лар-ы-нда) while three letters of stem remain.
KAZAKH_ENDINGS = sorted(
    {
        *("лар", "лер", "дар", "дер", "тар", "тер"),
        *("ымыз", "іміз", "мыз", "міз", "ыңыз", "іңіз", "ңыз", "ңіз", "ым", "ім", "ың", "ің", "сы", "сі"),
        *("ның", "нің", "дың", "дің", "тың", "тің"),
        *("ға", "ге", "қа", "ке", "на", "не"),
        *("ны", "ні", "ды", "ді", "ты", "ті"),
        *("нда", "нде", "да", "де", "та", "те", "дағы", "дегі", "тағы", "тегі", "ндағы", "ндегі"),
        *("нан", "нен", "дан", "ден", "тан", "тен"),
        *("мен", "бен", "пен"),
        *("ған", "ген", "қан", "кен", "ып", "іп"),
        *("ы", "і", "а", "е", "у"),
    },
    key=len,
    reverse=True,
)


def words(text: str) -> list[str]:
    """The words of ``text`` as they are compared: normalised and folded, before stemming."""
    folded = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    out = []
    for word in _WORD.findall(folded):
        word = word.replace("’", "'")
        if _CYRILLIC.search(word):
            word = word.translate(_LOOKALIKES)
        if len(word) < 2 or (word.isdigit() and len(word) > 12):
            continue
        out.append(word)
    return out


def stems(word: str) -> set[str]:
    """The stems a word may have: one for Kazakh-lettered and Latin words, two for other Cyrillic ones."""
    return set(_stems(word))


@lru_cache(maxsize=100_000)
def _stems(word: str) -> frozenset[str]:
    # Stemming is pure and words repeat across reports: remembered per process.
    return frozenset(_stems_of(word))


def _stems_of(word: str) -> set[str]:
    if KAZAKH_LETTERS.intersection(word):
        return {_kazakh_stem(word)}
    if _CYRILLIC.search(word):
        return {_kazakh_stem(word), _russian.stemWord(word)}
    return {_english.stemWord(word)}


def _kazakh_stem(word: str) -> str:
    for _ in range(4):
        for ending in KAZAKH_ENDINGS:
            # One-letter endings only from longer words: бала (child) stays, not бал (honey).
            keep = 4 if len(ending) == 1 else 3
            if word.endswith(ending) and len(word) - len(ending) >= keep:
                word = word[: -len(ending)]
                break
        else:
            break
    return word


def text_terms(*texts: str | None) -> set[str]:
    """Every term of these texts (before keying): ``w:`` + each stem of each word."""
    return {f"w:{s}" for text in texts if text for w in words(text) for s in stems(w)}


def contact_terms(email: str | None, phone: str | None) -> set[str]:
    """Exact contact details: the e-mail case-folded, the phone as stored (E.164)."""
    terms = set()
    if email:
        terms.add(f"e:{email.strip().casefold()}")
    if phone:
        terms.add(f"p:{re.sub(r'[^0-9+]', '', phone)}")
    return terms


def query_terms(query: str) -> list[list[str]]:
    """What a search box holds, as groups of terms: a case matches when it has at least one term of
    every group. An e-mail or phone number is one exact term; otherwise each word is a group of its
    stems (at most MAX_QUERY_WORDS words, repeated ones once)."""
    query = query.strip()
    if "@" in query and " " not in query:
        return [sorted(contact_terms(query, None))]
    digits = re.sub(r"[\s()\-.]", "", query)
    if re.fullmatch(r"\+?\d{7,15}", digits):
        return [sorted(contact_terms(None, digits if digits.startswith("+") else "+" + digits))]
    groups: list[list[str]] = []
    for w in words(query):
        group = sorted(f"w:{s}" for s in stems(w))
        if group not in groups:
            groups.append(group)
    return groups[:MAX_QUERY_WORDS]


def blind(key: bytes, term: str) -> bytes:
    """A term as stored: keyed, so the database holds no word, only equality between cases."""
    return hmac.new(key, term.encode("utf-8"), hashlib.sha256).digest()[:TERM_BYTES]


def blind_all(key: bytes, terms: Iterable[str]) -> set[bytes]:
    return {blind(key, t) for t in terms}
