"""The staff pages in each language: sign-in, case actions and refusals, every main page with
no English left over, and data that passes through the catalog without being unescaped."""

from __future__ import annotations

import pytest

from storage import db
from tests.helpers import PASSWORD
from tests.helpers import page as text
from tests.project.catalogs import (
    LANGUAGES,
    english_left,
    switched,
)

# --- staff side -----------------------------------------------------------------------------------------------------


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
    assert "Новое → Первичный разбор" in page  # the history names statuses in words, not their codes
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
    "supervisor": [
        "/staff/",
        "/staff/cases/{case}",
        "/staff/supervise/activity",
        "/staff/supervise/audit",
        "/staff/supervise/institutions",
    ],
    "admin": ["/staff/admin/users", "/staff/admin/queues", "/staff/admin/institutions"],
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
