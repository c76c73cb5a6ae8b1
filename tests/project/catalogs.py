"""What the language tests share: the catalogs, a fresh extraction of the source strings,
and the check for English left on a Kazakh or Russian page."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import flask_babel
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.helpers import ROOT, HtmlPage

TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("kk", "ru", "en")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "N_": None, "lazy_gettext": None}
SOURCE_DIRS = {"cases", "intake", "templates"}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _po(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def _read(lang: str):
    with _po(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


@cache
def catalog_of(lang: str):
    return _read(lang)


def compile_catalogs() -> None:
    """What ``make translations`` does, so ``pytest`` alone works on a fresh checkout (.mo files are not in git)."""
    from extensions import babel

    for lang in LANGUAGES:
        po, mo = _po(lang), _po(lang).with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            catalog = _read(lang)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)
            # Flask-Babel keeps loaded catalogs for the whole process: drop any read by earlier tests.
            domain = vars(babel).get("domain_instance")  # created on first use; nothing cached before that
            if domain is not None:
                domain.cache.clear()


def extracted() -> dict[str, list[str]]:
    """Every message id in the source, with where it is used, as ``pybabel extract -F babel.cfg`` finds it."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, list[str]] = {}

    def only_source(path: str) -> bool:
        return Path(path).relative_to(ROOT).parts[0] in SOURCE_DIRS

    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=only_source
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def switched() -> None:
    """Forget the language Flask-Babel cached for the previous request.

    The test client's requests share the test's app context, and so its ``g``, where
    Flask-Babel keeps the locale; a real server starts each request with a fresh one.
    """
    flask_babel.refresh()


def placeholders(text: str) -> Counter:
    return Counter(m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(0) != "%%")


# Names that stay as they are in every language (the site, browsers, authenticator apps).
PROPER_NAMES = re.compile(r"Shagym|Samsung Internet|Google Authenticator|FreeOTP|Aegis|Chrome|Safari|Firefox|iPhone")
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ ,'’-]+[A-Za-z][a-z]+){2,}")


def english_left(html: str, lang: str) -> list[str]:
    """Untranslated text on a Kazakh or Russian page: whole msgids, or any run of three English words."""
    page = HtmlPage(html)
    catalog = catalog_of(lang)
    leaks = [
        node
        for node in page.texts
        if (m := catalog.get(node)) is not None and m.string != node and re.search("[a-z]", node)
    ]
    for node in page.texts:
        leaks += ENGLISH_RUN.findall(PROPER_NAMES.sub(" ", node))
    return leaks
