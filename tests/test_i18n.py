"""Kazakh, Russian and English: every string translated, every page in the reader's language.

The catalogs are checked against a fresh extraction of the source (the same
``babel.cfg`` and keywords as ``pybabel extract``), so a string added to a
template, a form or a domain module without a translation fails here, not in
front of a frightened reporter. The pages are then read in each language as a
reporter and as staff would read them.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import flask_babel
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import update

from cases import accounts
from cases.categories import CATEGORIES, REGIONS
from cases.models import Case
from cases.workflow import PUBLIC_EXPLANATIONS, Status
from storage import db

ROOT = Path(__file__).resolve().parent.parent
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
def _catalog(lang: str):
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


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    compile_catalogs()


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
    catalog = _catalog(lang)
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
    catalog = _catalog(lang)
    assert not catalog.fuzzy, "a fuzzy catalog is silently skipped by pybabel compile"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in {lang}: {fuzzy}"
    assert str(catalog.locale) == lang


@pytest.mark.parametrize("lang", ("kk", "ru"))
def test_kazakh_and_russian_are_written_in_cyrillic(lang):
    """A msgstr pasted in English (or left as the English source) would pass the completeness check."""
    copied = [
        m.id
        for m in _catalog(lang)
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
    assert _catalog("kk").get(english).string == kazakh
    assert _catalog("ru").get(english).string == russian


# --- pages in each language -----------------------------------------------------------------------------------------

HEADINGS = {
    "/": {
        "kk": "Адам құқығының бұзылғаны туралы хабарлау",
        "ru": "Сообщить о нарушении прав человека",
        "en": "Report a human-rights violation",
    },
    "/report": {"kk": "Не болғанын айтып беріңіз", "ru": "Расскажите, что произошло", "en": "Tell us what happened"},
    "/track": {"kk": "Ісімді тексеру", "ru": "Проверить моё дело", "en": "Check my case"},
    "/safety": {"kk": "Қауіпсіздік", "ru": "Безопасность", "en": "Staying safe"},
}
# Names that stay as they are in every language (the site, browsers, authenticator apps).
PROPER_NAMES = re.compile(r"Shagym|Samsung Internet|Google Authenticator|FreeOTP|Aegis|Chrome|Safari|Firefox|iPhone")
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ ,'’-]+[A-Za-z][a-z]+){2,}")


class Visible(HTMLParser):
    """The text a person sees or hears: text nodes outside scripts, plus labels in attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self.lang: str | None = None
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in ("script", "style", "code", "pre"):  # program text and commands are not prose
            self._skip += 1
        self.nodes += [a[k].strip() for k in ("alt", "title", "aria-label", "placeholder") if a.get(k)]

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.nodes.append(" ".join(data.split()))


def english_left(html: str, lang: str) -> list[str]:
    """Untranslated text on a Kazakh or Russian page: whole msgids, or any run of three English words."""
    page = Visible(html)
    catalog = _catalog(lang)
    leaks = [
        node
        for node in page.nodes
        if (m := catalog.get(node)) is not None and m.string != node and re.search("[a-z]", node)
    ]
    for node in page.nodes:
        leaks += ENGLISH_RUN.findall(PROPER_NAMES.sub(" ", node))
    return leaks


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", list(HEADINGS))
def test_public_pages_speak_the_chosen_language(client, lang, path):
    client.set_cookie("lang", lang)
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body
    assert f"<h1>{HEADINGS[path][lang]}" in unescape(body)
    others = {code for code in LANGUAGES if code != lang}
    for other in others:
        assert HEADINGS[path][other] not in unescape(body)
    if lang != "en":
        assert english_left(body, lang) == []


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("ru", "ru"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("kk-KZ,kk;q=0.9,ru;q=0.8", "kk"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,fr;q=0.8", "kk"),  # a language we do not have: Kazakh
        ("", "kk"),
    ],
)
def test_browser_language_is_used_when_nothing_was_chosen(make_app, accept, expected):
    app = make_app(BABEL_DEFAULT_LOCALE="kk")  # the shipped default (tests otherwise read English)
    with app.app_context():
        response = app.test_client().get("/", headers={"Accept-Language": accept} if accept else {})
        assert f'<html lang="{expected}">' in response.get_data(as_text=True)
        assert HEADINGS["/"][expected] in text(response)


def test_the_shipped_default_language_is_kazakh(tmp_path):
    from wsgi import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        }
    )
    assert app.config["BABEL_DEFAULT_LOCALE"] == "kk"
    with app.app_context():
        body = app.test_client().get("/safety").get_data(as_text=True)
        db.engine.dispose()
    assert '<html lang="kk">' in body and HEADINGS["/safety"]["kk"] in unescape(body)


def test_a_chosen_language_beats_the_browser_language(client):
    client.set_cookie("lang", "kk")
    response = client.get("/", headers={"Accept-Language": "ru"})
    assert '<html lang="kk">' in response.get_data(as_text=True)


# --- the switcher ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", ["/report", "/track", "/safety", "/staff/login"])
def test_switcher_keeps_the_page_and_remembers_only_the_language(client, lang, path):
    page = client.get(path).get_data(as_text=True)
    if lang != "en":  # English is the language these tests start in: it is the current one, not a link
        assert f'href="/language/{lang}?next={path}"' in page
    response = client.get(f"/language/{lang}", query_string={"next": path})
    assert response.status_code == 302
    assert response.headers["Location"] == path
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1, "the switch sets the language cookie and nothing else (no tracking, no session)"
    assert cookies[0].startswith(f"lang={lang};")
    for attribute in ("HttpOnly", "SameSite=Strict", "Max-Age="):
        assert attribute in cookies[0]
    switched()
    follow = client.get(path)
    assert f'<html lang="{lang}">' in follow.get_data(as_text=True)


def test_switcher_marks_the_current_language_and_links_the_others(client):
    client.set_cookie("lang", "ru")
    page = client.get("/report").get_data(as_text=True)
    assert re.search(r'<span class="lang-current" lang="ru" aria-current="true">Русский</span>', page)
    assert '<a href="/language/kk?next=/report" lang="kk" hreflang="kk">Қазақша</a>' in page
    assert '<a href="/language/en?next=/report" lang="en" hreflang="en">English</a>' in page
    assert "/language/ru?" not in page


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil.example", ""]
)
def test_switcher_never_redirects_off_the_site(client, target):
    response = client.get("/language/ru", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith(("//", "/\\")))


@pytest.mark.parametrize("code", ["fr", "KK", "kk-KZ", "..", "en;"])
def test_unknown_language_is_not_found_and_sets_nothing(client, code):
    response = client.get(f"/language/{code}")
    assert response.status_code == 404
    assert not response.headers.getlist("Set-Cookie")


# --- error messages -------------------------------------------------------------------------------------------------


def test_empty_report_shows_russian_errors_and_summary(client):
    client.set_cookie("lang", "ru")
    response = client.post("/report", data={"submission_token": "t" * 20})
    assert response.status_code == 422
    page = text(response)
    assert "<title>Ошибка: Расскажите, что произошло — Shagym</title>" in page
    assert "Есть проблема" in page
    for message in (
        "Выберите, о чём ваше обращение.",
        "Расскажите, что произошло.",
        "Выберите область или «За пределами Казахстана / не хочу говорить».",
        "Укажите, угрожает ли кому-то опасность прямо сейчас.",
        "Укажите, пострадал ли ребёнок.",
        "Поставьте отметку, чтобы согласиться, иначе мы не сможем принять обращение.",
    ):
        assert page.count(message) == 2, message  # in the summary and next to the field
    assert english_left(response.get_data(as_text=True), "ru") == []


@pytest.mark.parametrize("lang", ("kk", "ru"))
def test_bad_values_are_refused_in_the_readers_language(client, lang):
    client.set_cookie("lang", lang)
    data = {
        "category": "nonsense",
        "narrative": "short",
        "region": "atlantis",
        "occurred_on": "2999-01-01",
        "immediate_danger": "no",
        "child_affected": "no",
        "in_custody": "no",
        "reporter_role": "witness",
        "contact": "contact",
        "email": "not an address",
        "phone": "12",
        "consent": "y",
        "submission_token": "x" * 20,
    }
    response = client.post("/report", data=data)
    assert response.status_code == 422
    expected = {
        "kk": [
            "Өтінішіңізге тізімдегі тақырыптардың бірін таңдаңыз.",
            "20 мен 20000 таңба аралығында жазыңыз.",
            "Күн болашақта болмауы керек.",
            "Электрондық пошта мекенжайын name@example.com сияқты жазыңыз.",
            "Телефон нөмірін +7 701 234 5678 сияқты жазыңыз.",
        ],
        "ru": [
            "Выберите для обращения одну из тем в списке.",
            "Напишите от 20 до 20000 символов.",
            "Дата не может быть в будущем.",
            "Введите адрес электронной почты, например name@example.com.",
            "Введите номер телефона, например +7 701 234 5678.",
        ],
    }[lang]
    page = text(response)
    for message in expected:
        assert message in page
    assert english_left(response.get_data(as_text=True), lang) == []


def test_file_refusals_are_translated(client):
    import io

    client.set_cookie("lang", "kk")
    data = {"submission_token": "y" * 20, "evidence": (io.BytesIO(b"MZ\x90\x00 not a document"), "tool.exe")}
    page = text(client.post("/report", data=data, content_type="multipart/form-data"))
    assert "«tool.exe» файлы фото, PDF, аудио, бейне немесе кеңсе құжаты емес, сондықтан оны қабылдай алмаймыз." in page


# --- categories, statuses, the receipt ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_category_region_and_answer_is_offered_translated(client, lang):
    client.set_cookie("lang", lang)
    page = text(client.get("/report"))
    catalog = _catalog(lang)
    for category in CATEGORIES:
        assert catalog.get(category.name).string in page
        assert catalog.get(category.explanation).string in page
    for _slug, label in REGIONS:
        assert f">{catalog.get(label).string}</option>" in page


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("status", list(Status))
def test_tracking_page_explains_every_status_in_the_readers_language(client, make_case, lang, status):
    filed = make_case()
    db.session.execute(update(Case).where(Case.id == filed.case.id).values(status=status.value))
    db.session.commit()
    client.set_cookie("lang", lang)
    assert client.post("/track", data={"receipt": filed.receipt}).status_code == 303
    response = client.get("/track/case")
    page = text(response)
    assert _catalog(lang).get(PUBLIC_EXPLANATIONS[status]).string in page
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)
    if lang != "en":
        assert english_left(response.get_data(as_text=True), lang) == []


@pytest.mark.parametrize(
    ("lang", "received", "queue"),
    [
        ("kk", "Өтінішіңіз қабылданды", "Әйелдер құқықтары бөлімі"),
        ("ru", "Ваше обращение получено", "Отдел по правам женщин"),
        ("en", "Your report was received", "Women's rights unit"),
    ],
)
def test_receipt_page_names_the_team_in_the_readers_language(client, lang, received, queue):
    client.set_cookie("lang", lang)
    data = {
        "category": "women",
        "narrative": "Менің көршімді күйеуі ұрады, полиция ештеңе істемейді.",
        "region": "abai",
        "immediate_danger": "no",
        "child_affected": "no",
        "in_custody": "no",
        "reporter_role": "witness",
        "contact": "anonymous",
        "consent": "y",
        "submission_token": lang * 10,
    }
    response = client.post("/report", data=data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert received in unescape(body) and queue in unescape(body)
    if lang != "en":
        assert english_left(body, lang) == []


@pytest.mark.parametrize(
    ("lang", "lines"),
    [
        ("kk", ["Shagym — түбіртегіңіз", "Іс нөмірі: ", "Түбіртек коды: ", "Бұл кодты қайта көрсете алмаймыз"]),
        ("ru", ["Shagym — ваша квитанция", "Номер дела: ", "Код квитанции: ", "Мы не сможем показать этот код снова"]),
        ("en", ["Shagym — your receipt", "Case reference: ", "Receipt code: ", "We cannot show this code again"]),
    ],
)
def test_receipt_file_is_written_in_the_readers_language(client, make_case, lang, lines):
    filed = make_case()
    client.set_cookie("lang", lang)
    response = client.post("/report/receipt.txt", data={"reference": filed.case.reference, "receipt": filed.receipt})
    assert response.status_code == 200
    content = response.get_data(as_text=True)
    for line in lines:
        assert line in content
    assert filed.receipt in content and filed.case.reference in content


# --- staff side -----------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_sign_in_prompt_and_errors_are_translated(client):
    client.set_cookie("lang", "ru")
    page = text(client.get("/staff/", follow_redirects=True))
    assert "Войдите, чтобы увидеть эту страницу." in page
    assert "Please log in" not in page
    response = client.post("/staff/login", data={})
    assert "Введите адрес электронной почты." in text(response)
    assert "Введите пароль." in text(response)
    response = client.post("/staff/login", data={"email": "nobody@example.org", "password": "wrong password here"})
    assert "Неверный адрес почты или пароль." in text(response)


def test_case_actions_and_refusals_are_translated(app, make_case, login_as):
    client, _user = login_as("caseworker", ["general"])
    client.set_cookie("lang", "ru")
    case = make_case(narrative="Ауылдық әкімдік азшылыққа жататын отбасына құжат бермей отыр.").case
    url = f"/staff/cases/{case.id}"
    assert "Теперь это дело у вас." in text(client.post(f"{url}/claim", follow_redirects=True))
    assert "Это дело уже у вас." in text(client.post(f"{url}/claim", follow_redirects=True))
    page = text(client.post(f"{url}/status", data={"target": "resolved", "reason": "x"}, follow_redirects=True))
    assert "Дело не может перейти из статуса «Новое» в статус «Решено»: такого шага в порядке работы нет." in page
    page = text(client.post(f"{url}/status", data={"target": "rejected"}, follow_redirects=True))
    assert "Чтобы перевести дело в статус «Отклонено», нужно заполнить: Причина." in page
    page = text(client.post(f"{url}/status", data={"target": "triage"}, follow_redirects=True))
    assert "Статус изменён на «Первичный разбор»." in page
    assert "новое → первичный разбор" in page  # the history names statuses too, not their codes
    response = client.get(url)
    assert english_left(response.get_data(as_text=True), "ru") == []


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("kk", "Кемінде 12 таңба жазыңыз."),
        ("ru", "Используйте не менее 12 символов."),
    ],
)
def test_password_refusals_are_translated(login_as, lang, message):
    client, _user = login_as("caseworker", ["general"])
    client.set_cookie("lang", lang)
    from tests.conftest import PASSWORD

    response = client.post("/staff/password", data={"current": PASSWORD, "new": "short"})
    assert message in text(response)
    admin, _ = login_as("admin")
    admin.set_cookie("lang", lang)
    response = admin.post(
        "/staff/admin/users",
        data={"email": "new@example.org", "name": "Айгүл", "role": "caseworker", "password": "short"},
    )
    assert message in text(response)


# Not the routing rules page: rule names are data typed by administrators, shown as typed.
STAFF_PAGES = {
    "caseworker": ["/staff/", "/staff/queues/general", "/staff/cases/{case}", "/staff/password", "/staff/2fa/setup"],
    "supervisor": ["/staff/", "/staff/cases/{case}", "/staff/supervise/activity", "/staff/supervise/audit"],
    "admin": ["/staff/admin/users", "/staff/admin/queues"],
}


@pytest.mark.parametrize("lang", ("kk", "ru"))
@pytest.mark.parametrize(("role", "path"), [(role, path) for role, paths in STAFF_PAGES.items() for path in paths])
def test_staff_pages_have_no_english_left(make_case, login_as, lang, role, path):
    case = make_case(narrative="Мектеп баламды пандус жоқ деп қабылдамады, ол арбамен жүреді.").case
    client, _user = login_as(role, ["general"] if role == "caseworker" else None)
    client.set_cookie("lang", lang)
    response = client.get(path.format(case=case.id))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body
    assert english_left(body, lang) == []


def test_translating_data_never_unescapes_it(make_case, login_as):
    """Queue names and history values pass through the catalog (seeded ones have translations),
    but a name an administrator typed is shown as text, in every language."""
    from cases import audit
    from cases.models import Queue

    markup = "<script>alert(1)</script><b>bold</b>"
    db.session.add(Queue(slug="typed", name=markup, description=markup))
    audit.append(db.session, case=None, actor_type="staff", action="queue_created", new=markup)
    db.session.commit()
    client, _user = login_as("supervisor")
    for lang in LANGUAGES:
        client.set_cookie("lang", lang)
        switched()
        for path in ("/staff/", "/staff/supervise/activity"):
            body = client.get(path).get_data(as_text=True)
            assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in body, (lang, path)
            assert "<script>alert" not in body and "<b>bold" not in body
