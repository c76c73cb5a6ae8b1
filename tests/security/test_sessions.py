"""Staff sessions as someone with a copy of the cookie would try to use them.

The cookie holds a random token; the server keeps the session (hashed id) and
ends it on sign-out, deactivation and password change, after 30 idle minutes
and after 12 hours in all. Cookies are HttpOnly and SameSite=Strict, and
Secure with the ``__Host-`` prefix under HTTPS. Account pages ask for the
password again after 10 minutes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import config
from cases import accounts, commands
from cases.models import Event, StaffSession, User
from storage import db
from tests.helpers import PASSWORD, Auth, cookie_session, sessions_of, sign_in, stolen_copy

NEW_PASSWORD = "a brand new and long passphrase"


def cookie_name(app) -> str:
    return app.config["SESSION_COOKIE_NAME"]


def is_signed_out(response) -> bool:
    return response.status_code == 302 and "/staff/login" in response.headers["Location"]


@pytest.fixture
def victim(app, login_as):
    client, user = login_as("caseworker", ["general"])
    thief = stolen_copy(app, client)
    assert thief.get("/staff/").status_code == 200  # the copy works while the session lives
    return client, thief, user


def test_copied_cookie_stops_working_after_sign_out(victim):
    client, thief, user = victim
    assert client.post("/staff/logout").status_code == 302
    assert is_signed_out(thief.get("/staff/"))
    assert is_signed_out(thief.post("/staff/cases/1/claim"))
    assert sessions_of(user) == 0


def test_copied_cookie_stops_working_after_deactivation_by_cli(app, victim, runner):
    client, thief, user = victim
    result = runner.invoke(args=["users", "deactivate", user.email])
    assert result.exit_code == 0, result.output
    assert is_signed_out(thief.get("/staff/"))
    assert is_signed_out(client.get("/staff/"))
    assert sessions_of(user) == 0
    # And the password no longer opens a new one.
    assert Auth(app.test_client()).login(user).status_code == 401


def test_copied_cookie_stops_working_after_deactivation_by_an_admin(app, victim, login_as):
    client, thief, user = victim
    admin, _ = login_as("admin")
    assert admin.post(f"/staff/admin/users/{user.id}/deactivate").status_code == 302
    assert is_signed_out(thief.get("/staff/"))
    assert db.session.scalar(select(Event).where(Event.action == "user_deactivated")).new_value == user.email


def test_copied_cookie_stops_working_after_password_change(app, victim):
    client, thief, user = victim
    other_device = app.test_client()
    Auth(other_device).login(user)
    response = client.post("/staff/password", data={"current": PASSWORD, "new": NEW_PASSWORD})
    assert response.status_code == 302
    for c in (thief, other_device, client):  # every session of the account ends, the changer's too
        assert is_signed_out(c.get("/staff/"))
    assert sessions_of(user) == 0
    assert Auth(app.test_client()).login(user, NEW_PASSWORD).status_code == 302


def _age_session(user: User, **ago: timedelta) -> None:
    now = datetime.now(UTC)
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id)
        .values({name: now - delta for name, delta in ago.items()})
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("ago", "still_valid"),
    [
        ({"last_seen_at": timedelta(minutes=29)}, True),
        ({"last_seen_at": timedelta(minutes=31)}, False),
        ({"created_at": timedelta(hours=11, minutes=59)}, True),
        ({"created_at": timedelta(hours=12, minutes=1)}, False),
    ],
    ids=["idle 29 min", "idle 31 min", "11h59 old", "12h01 old"],
)
def test_idle_and_absolute_timeouts(victim, ago, still_valid):
    client, thief, user = victim
    _age_session(user, **ago)
    for c in (client, thief):
        response = c.get("/staff/")
        assert (response.status_code == 200) is still_valid
        assert is_signed_out(response) is not still_valid
    assert sessions_of(user) == (1 if still_valid else 0)  # an expired session is deleted, not just refused


def test_activity_keeps_a_session_alive_but_not_beyond_12_hours(victim):
    client, _thief, user = victim
    _age_session(user, last_seen_at=timedelta(minutes=20), created_at=timedelta(hours=6))
    assert client.get("/staff/").status_code == 200
    db.session.expire_all()
    row = db.session.scalar(select(StaffSession).where(StaffSession.user_id == user.id))
    assert datetime.now(UTC) - row.last_seen_at < timedelta(minutes=1)  # the idle clock was refreshed
    _age_session(user, last_seen_at=timedelta(seconds=0), created_at=timedelta(hours=12, seconds=5))
    assert is_signed_out(client.get("/staff/"))


def test_the_database_holds_only_a_hash_of_the_cookie_token(app, victim):
    client, _thief, user = victim
    data = app.session_interface.get_signing_serializer(app).loads(client.get_cookie(cookie_name(app)).value)
    token = data["_user_id"]
    row = db.session.scalar(select(StaffSession).where(StaffSession.user_id == user.id))
    assert row.id == accounts.session_key(token) and row.id != token
    assert db.session.get(StaffSession, token) is None


def test_session_token_is_new_at_every_sign_in(app, login_as):
    client, user = login_as("caseworker", ["general"])
    first = client.get_cookie(cookie_name(app)).value
    client.post("/staff/logout")
    Auth(client).login(user)
    assert client.get_cookie(cookie_name(app)).value != first
    assert sessions_of(user) == 1


# --- cookie attributes -------------------------------------------------------------------------


def _session_cookie_header(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def _attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


def test_cookie_is_httponly_and_samesite_strict_over_http(app, make_user):
    user = make_user("caseworker", ["general"])
    client = app.test_client()
    response = sign_in(client, user)
    attrs = _attributes(_session_cookie_header(response, "shagym"))
    assert "httponly" in attrs and attrs["samesite"] == "Strict"
    assert "secure" not in attrs  # plain-HTTP demo: a Secure cookie would never come back
    assert not any(h.startswith("__Host-") for h in response.headers.getlist("Set-Cookie"))


def test_cookie_is_secure_with_host_prefix_under_https(make_app, monkeypatch):
    monkeypatch.setenv("SHAGYM_HTTPS", "1")
    app = make_app()
    with app.app_context():
        user = commands.create_user("https@example.org", "Over Https", "caseworker", PASSWORD, ["general"])
        client = app.test_client()
        response = client.post(
            "/staff/login", data={"email": user.email, "password": PASSWORD}, base_url="https://localhost"
        )
        header = _session_cookie_header(response, "__Host-shagym")
        attrs = _attributes(header)
        assert {"secure", "httponly"} <= attrs.keys() and attrs["samesite"] == "Strict"
        # __Host- cookies must have Path=/ and no Domain, or browsers drop them.
        assert attrs["path"] == "/" and "domain" not in attrs
        assert client.get("/staff/", base_url="https://localhost").status_code == 200
        assert "Strict-Transport-Security" in client.get("/", base_url="https://localhost").headers


def test_language_cookie_has_the_same_protections(make_app, monkeypatch):
    monkeypatch.setenv("SHAGYM_HTTPS", "1")
    app = make_app()
    with app.app_context():
        response = app.test_client().get("/language/en", base_url="https://localhost")
        attrs = _attributes(_session_cookie_header(response, "lang"))
        assert {"secure", "httponly"} <= attrs.keys() and attrs["samesite"] == "Strict"


# --- re-authentication ---------------------------------------------------------------------------


@pytest.fixture
def admin(login_as, make_user):
    client, user = login_as("admin")
    target = make_user("caseworker", ["general"])
    return client, user, target


def _admin_pages(target: User) -> list[tuple[str, str]]:
    return [
        ("GET", "/staff/admin/users"),
        ("GET", f"/staff/admin/users/{target.id}"),
        ("POST", f"/staff/admin/users/{target.id}/deactivate"),
    ]


def test_account_pages_open_right_after_sign_in(admin):
    client, _user, target = admin
    assert client.get("/staff/admin/users").status_code == 200
    assert client.get(f"/staff/admin/users/{target.id}").status_code == 200


@pytest.mark.parametrize("index", [0, 1, 2], ids=["user list", "user page", "deactivate"])
def test_account_pages_ask_for_the_password_after_10_minutes(admin, index):
    client, user, target = admin
    method, path = _admin_pages(target)[index]
    _age_session(user, created_at=timedelta(minutes=config.default("REAUTH_MINUTES")) + timedelta(minutes=1))
    response = client.open(path, method=method)
    assert response.status_code == 302 and "/staff/admin/reauth" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True  # the deactivation did not happen

    assert client.post(response.headers["Location"], data={"password": "not the password"}).status_code == 401
    assert "/staff/admin/reauth" in client.open(path, method=method).headers.get("Location", "")

    back = client.post(response.headers["Location"], data={"password": PASSWORD})
    # Back to the page (a POST-only address comes back to the account list, to make the change again).
    assert back.status_code == 302 and back.headers["Location"].endswith(
        path if method == "GET" else "/staff/admin/users"
    )
    response = client.open(path, method=method)
    assert response.status_code in (200, 302) and "reauth" not in response.headers.get("Location", "")
    if method == "POST":
        db.session.expire_all()
        assert db.session.get(User, target.id).active is False


def test_reauth_only_returns_to_staff_pages(admin):
    client, user, _target = admin
    _age_session(user, created_at=timedelta(minutes=config.default("REAUTH_MINUTES")) + timedelta(minutes=1))
    for target in ("https://evil.example/", "//evil.example/", "/static/../../evil"):
        response = client.post("/staff/admin/reauth", query_string={"next": target}, data={"password": PASSWORD})
        assert response.status_code == 302
        assert response.headers["Location"] in ("/staff/", "http://localhost/staff/")


def test_the_staff_cookie_carries_nothing_about_the_client(app, make_user):
    """No ``_id`` (Flask-Login's hash of address and user agent), no address, only the opaque session."""
    client = app.test_client()
    user = make_user("caseworker", ["general"])
    assert sign_in(client, user).status_code == 302
    assert client.get("/staff/").status_code == 200
    shown = cookie_session(client)
    assert "_id" not in shown
    assert set(shown) <= {"_user_id", "_fresh", "_flashes", "csrf_token", "_permanent"}
    assert "127.0.0.1" not in json.dumps(shown)
