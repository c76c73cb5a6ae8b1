"""Languages of the site and the marker for translatable strings.

A shared helper with no Flask import, so the domain can mark its messages with
``N_`` (Babel extracts them; they are translated where they are shown) and the
web layer can choose a language from the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_LOCALE = "kk"
# Each language by its own name (as the language switch shows it, whatever the page's language).
LANGUAGE_NAMES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def N_(text: str) -> str:
    """Mark ``text`` for extraction; it is translated later, where it is shown."""
    return text


def choose_locale(
    cookie: str | None, best_match: Callable[[Sequence[str]], str | None], default: str = DEFAULT_LOCALE
) -> str:
    """The reader's language: the ``lang`` cookie they chose, else their browser's, else ``default``."""
    if cookie in LANGUAGES:
        return cookie
    return best_match(LANGUAGES) or default
