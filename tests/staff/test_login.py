"""Staff sign-in as a user and as an attacker: generic failures, password rules, argon2id,
fresh sessions, sign-out, server-side session ending, and the second factor."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import Type
from sqlalchemy import select, update

from cases import accounts, commands, twofactor
from cases.models import RecoveryCode, StaffSession, User
from storage import db
from tests.helpers import PASSWORD, page, sessions_of, sign_in, stolen_copy

REAL_HASHER = accounts._hasher  # read at import, before the tests' cheap hasher is patched in
COOKIE = "shagym"


def code_for(user: User, offset_steps: int = 0) -> str:
    return pyotp.TOTP(user.totp_secret).at(time.time() + 30 * offset_steps)


# --- failures say nothing specific ------------------------------------------------------


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "deactivated", "empty password"])
def test_failed_sign_in_is_generic(app, en, make_user, case):
    user = make_user("caseworker", ["general"])
    email, password = user.email, PASSWORD
    if case == "wrong password":
        password = "not the right password at all"
    elif case == "unknown email":
        email = "nobody@example.org"
    elif case == "deactivated":
        commands.deactivate_user(user)
        db.session.commit()
    elif case == "empty password":
        password = ""
    response = sign_in(en, email, password)
    body = page(response)
    assert sessions_of(user) == 0
    assert en.get("/staff/").status_code == 302
    if case == "empty password":
        assert response.status_code == 200 and "Enter your password." in body
        return
    assert response.status_code == 401
    assert "Wrong email or password." in body
    # Neither the email's existence nor the account state shows through.
    assert "deactivated" not in body.lower() and "no account" not in body.lower()


def test_email_is_matched_case_insensitively(app, en, make_user):
    user = make_user("caseworker", ["general"], email="Aigerim.K@Example.org")
    assert user.email == "aigerim.k@example.org"
    assert sign_in(en, "  AIGERIM.K@example.ORG ").status_code == 302


def test_sign_in_is_rate_limited_per_account(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        user = commands.create_user("limited@example.org", "Limited", "caseworker", PASSWORD, ["general"])
        client = app.test_client()
        codes = [sign_in(client, user.email, "wrong password, try again").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        # Even the right password waits for the one-minute window: guessing gains nothing meanwhile.
        assert sign_in(client, user.email).status_code == 429


# --- password rules and storage -----------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Tr0ub4dor&3", "at least 12"),  # 11 characters
        ("Tr0ub4dor&3x", None),  # 12
        ("x7!" * 42 + "ab", None),  # 128
        ("x7!" * 43, "at most 128"),  # 129
        ("password1234", "too common"),
        ("PASSWORD1234", "too common"),
        ("qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),  # fewer than 4 different characters
        ("correct horse battery staple", None),
    ],
)
def test_password_rules(password, problem):
    found = password_problem(password)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_password_rules_lengths_exactly():
    assert len("Tr0ub4dor&3") == 11 and len("x7!" * 42 + "ab") == 128 and len("x7!" * 43) == 129


def test_password_may_not_contain_the_email_name():
    assert "email address" in password_problem("aigerim-secure-2031", "aigerim@example.org")


def test_create_user_refuses_a_weak_password(app):
    with pytest.raises(accounts.AccountError, match="at least 12"):
        commands.create_user("short@example.org", "Short", "caseworker", "too-short", ["general"])
    assert db.session.scalar(select(User).where(User.email == "short@example.org")) is None


def test_password_is_stored_as_argon2id(app, make_user):
    assert REAL_HASHER.type == Type.ID
    stored = REAL_HASHER.hash(PASSWORD)
    assert stored.startswith("$argon2id$")
    user = make_user("caseworker", ["general"])
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_cli_create_user_reads_the_password_from_the_environment(app, runner, monkeypatch):
    monkeypatch.setenv("SHAGYM_PASSWORD", "short")
    result = runner.invoke(args=["create-user", "cli@example.org", "--name", "Cli", "--role", "caseworker"])
    assert result.exit_code != 0 and "at least 12" in result.output
    monkeypatch.setenv("SHAGYM_PASSWORD", PASSWORD)
    result = runner.invoke(
        args=["create-user", "cli@example.org", "--name", "Cli", "--role", "caseworker", "--queue", "general"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "cli@example.org"))
    assert user.password_hash.startswith("$argon2id$") and [q.slug for q in user.queues] == ["general"]
    listed = runner.invoke(args=["users", "list"]).output
    assert "cli@example.org" in listed and "caseworker" in listed
    assert runner.invoke(args=["users", "deactivate", "cli@example.org"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, user.id).active is False


# --- sessions --------------------------------------------------------------------------------


def test_sign_in_starts_a_new_session(app, en, make_user):
    user = make_user("caseworker", ["general"])
    sign_in(en, user.email)
    first = en.get_cookie(COOKIE).value
    first_rows = set(db.session.scalars(select(StaffSession.id)))
    sign_in(en, user.email)
    second = en.get_cookie(COOKIE).value
    second_rows = set(db.session.scalars(select(StaffSession.id)))
    assert first != second
    assert len(second_rows - first_rows) == 1
    assert len(first_rows - second_rows) == 1  # the session this browser had before is ended
    # The cookie holds a random token, never the user id; the database holds only its hash.
    token = en.application.session_interface.get_signing_serializer(en.application).loads(second)["_user_id"]
    assert token != str(user.id) and len(token) >= 40
    assert accounts.session_key(token) in second_rows and token not in second_rows


def test_sign_in_drops_whatever_the_session_held(app, en, make_user):
    user = make_user("caseworker", ["general"])
    with en.session_transaction() as s:
        s["planted"] = "by an attacker"
    sign_in(en, user.email)
    with en.session_transaction() as s:
        assert "planted" not in s


def test_sign_out_is_post_only(app, en, make_user):
    user = make_user("caseworker", ["general"])
    sign_in(en, user.email)
    assert en.get("/staff/logout").status_code == 405
    assert en.get("/staff/").status_code == 200  # still signed in
    response = en.post("/staff/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/login")
    assert en.get("/staff/").status_code == 302


@pytest.mark.parametrize("ending", ["sign out", "deactivation", "password change", "idle", "too old"])
def test_copied_cookie_stops_working(app, en, make_user, ending):
    user = make_user("caseworker", ["general"])
    sign_in(en, user.email)
    thief = stolen_copy(app, en)
    assert thief.get("/staff/").status_code == 200  # a copy works while the session lives
    if ending == "sign out":
        en.post("/staff/logout")
    elif ending == "deactivation":
        commands.deactivate_user(db.session.get(User, user.id))
        db.session.commit()
    elif ending == "password change":
        response = en.post("/staff/password", data={"current": PASSWORD, "new": "a new and long passphrase"})
        assert response.status_code == 302
        assert en.get("/staff/").status_code == 302  # the changer signs in again too
        assert sign_in(app.test_client(), user.email, "a new and long passphrase").status_code == 302
    elif ending == "idle":
        db.session.execute(update(StaffSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
        db.session.commit()
    elif ending == "too old":
        db.session.execute(update(StaffSession).values(created_at=datetime.now(UTC) - timedelta(hours=13)))
        db.session.commit()
    response = thief.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    if ending != "password change":  # (there, the test signed in again with the new password)
        assert sessions_of(user) == 0


def test_password_change_checks_the_current_password_and_the_rules(app, en, make_user):
    user = make_user("caseworker", ["general"])
    sign_in(en, user.email)
    wrong = en.post("/staff/password", data={"current": "not my password!", "new": "a new and long passphrase"})
    assert "Your current password is not correct." in page(wrong)
    weak = en.post("/staff/password", data={"current": PASSWORD, "new": "password1234"})
    assert "too common" in page(weak)
    assert en.get("/staff/").status_code == 200
    assert accounts.authenticate(user.email, PASSWORD) is not None


def test_session_cookie_flags(app, en, make_user):
    user = make_user("caseworker", ["general"])
    response = sign_in(en, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


# --- second factor -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_second_factor_is_required_after_the_password(app, en, make_user, role):
    user = make_user(role)
    response = sign_in(en, user.email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/2fa")
    for path in ("/staff/", "/staff/supervise/activity", "/staff/admin/users", "/staff/password"):
        r = en.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/staff/2fa"), path
    assert en.post("/staff/2fa", data={"totp-code": "000000"}).status_code == 401
    ok = en.post("/staff/2fa", data={"totp-code": code_for(user)})
    assert ok.status_code == 302
    assert en.get("/staff/").status_code in (200, 302)
    assert en.get("/staff/password").status_code == 200


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_without_a_factor_must_enrol(app, en, make_user, role):
    user = make_user(role, totp=False)
    response = sign_in(en, user.email)
    assert response.headers["Location"].endswith("/staff/2fa/setup")
    assert en.get("/staff/").headers["Location"].endswith("/staff/2fa/setup")
    assert en.get("/staff/2fa").headers["Location"].endswith("/staff/2fa/setup")
    setup = page(en.get("/staff/2fa/setup"))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', setup).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in setup  # the QR code is rendered here, not by a third party
    assert "That code does not match" in page(en.post("/staff/2fa/setup", data={"code": "123456"}))
    done = en.post("/staff/2fa/setup", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9A-F]{5}-[0-9A-F]{5})</code>", page(done))
    assert len(codes) == 10
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is True
    assert en.get("/staff/password").status_code == 200


def test_caseworker_without_a_factor_signs_in_with_the_password(app, en, make_user):
    user = make_user("caseworker", ["general"])
    assert sign_in(en, user.email).headers["Location"].endswith("/staff/")


def test_require_2fa_for_all_applies_to_caseworkers(make_app):
    app = make_app(REQUIRE_2FA_FOR_ALL=True)
    with app.app_context():
        user = commands.create_user("cw@example.org", "Cw", "caseworker", PASSWORD, ["general"])
        client = app.test_client()
        assert sign_in(client, user.email).headers["Location"].endswith("/staff/2fa/setup")
        assert client.get("/staff/").headers["Location"].endswith("/staff/2fa/setup")


def test_totp_code_is_accepted_only_once(app, en, make_user):
    user = make_user("supervisor")
    code = code_for(user)
    sign_in(en, user.email)
    assert en.post("/staff/2fa", data={"totp-code": code}).status_code == 302
    en.post("/staff/logout")
    # Someone who watched the code being typed replays it in the same 30 seconds.
    attacker = app.test_client()
    attacker.set_cookie("lang", "en")
    sign_in(attacker, user.email)
    replay = attacker.post("/staff/2fa", data={"totp-code": code})
    assert replay.status_code == 401 and "Codes can be used only once." in page(replay)
    assert attacker.get("/staff/").headers["Location"].endswith("/staff/2fa")
    # An older code (the previous step) is refused as well, once a newer one was used.
    assert attacker.post("/staff/2fa", data={"totp-code": code_for(user, -1)}).status_code == 401


def test_verify_code_unit(app, make_user):
    user = make_user("supervisor")
    now = time.time()
    code = pyotp.TOTP(user.totp_secret).at(now)
    assert twofactor.verify_code(user, code, now) is True
    assert twofactor.verify_code(user, code, now) is False
    assert twofactor.verify_code(user, pyotp.TOTP(user.totp_secret).at(now + 30), now + 30) is True
    assert twofactor.verify_code(user, "12345", now) is False
    assert twofactor.verify_code(user, pyotp.TOTP(user.totp_secret).at(now + 600), now) is False


def test_recovery_code_works_once(app, en, make_user):
    user = make_user("supervisor")
    codes = store_recovery_codes(user)
    sign_in(en, user.email)
    assert en.post("/staff/2fa", data={"rec-recovery": codes[0].lower()}).status_code == 302
    en.post("/staff/logout")
    sign_in(en, user.email)
    assert en.post("/staff/2fa", data={"rec-recovery": codes[0]}).status_code == 401
    assert en.post("/staff/2fa", data={"rec-recovery": codes[1]}).status_code == 302


def test_failed_sign_in_is_logged_without_the_email_or_address(client, make_user, caplog):
    import logging

    user = make_user("caseworker")
    logging.getLogger("shagym.security").disabled = False
    with caplog.at_level(logging.WARNING, logger="shagym.security"):
        client.post(
            "/staff/login",
            data={"email": user.email, "password": "wrong password, sorry"},
            environ_base={"REMOTE_ADDR": "203.0.113.77"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "shagym.security"]
    assert len(lines) == 1 and lines[0].startswith("signin_failed account=")
    assert user.email not in lines[0] and "203.0.113.77" not in lines[0]


def store_recovery_codes(user):
    """Issue recovery codes for ``user`` directly (test set-up); returns the codes as shown once."""
    pairs = twofactor.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=stored) for _shown, stored in pairs)
    db.session.commit()
    return [shown for shown, _stored in pairs]


def password_problem(password, email=""):
    """Why the password policy refuses ``password`` (English), or None."""
    refusal = accounts.password_refusal(password, email)
    return str(refusal) if refusal else None
