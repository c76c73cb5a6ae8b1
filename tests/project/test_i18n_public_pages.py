"""The public pages in each language, as a reporter reads them: headings, the language
switcher, error messages, categories, statuses and the receipt, with no English left over."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import update

from cases.categories import CATEGORIES, REGIONS
from cases.models import Case
from cases.workflow import PUBLIC_EXPLANATIONS, Status
from storage import db
from tests.helpers import page as text
from tests.helpers import report_form
from tests.project.catalogs import (
    LANGUAGES,
    catalog_of,
    english_left,
    switched,
)

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
@pytest.mark.parametrize("path", ["/", "/safety", "/staff/login"])
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
    page = client.get("/safety").get_data(as_text=True)
    assert re.search(r'<span class="lang-current" lang="ru" aria-current="true">Русский</span>', page)
    assert '<a href="/language/kk?next=/safety" lang="kk" hreflang="kk">Қазақша</a>' in page
    assert '<a href="/language/en?next=/safety" lang="en" hreflang="en">English</a>' in page
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
    data = report_form(
        category="nonsense",
        narrative="short",
        region="atlantis",
        occurred_on="2999-01-01",
        contact="contact",
        email="not an address",
        phone="12",
        submission_token="x" * 20,
    )
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
    catalog = catalog_of(lang)
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
    assert catalog_of(lang).get(PUBLIC_EXPLANATIONS[status]).string in page
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
    data = report_form(
        category="women",
        narrative="Менің көршімді күйеуі ұрады, полиция ештеңе істемейді.",
        region="abai",
        submission_token=lang * 10,
    )
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
