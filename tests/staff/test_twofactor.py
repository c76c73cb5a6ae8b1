"""Staff two-factor sign-in (TOTP) as an attacker who has the password tries to get past it.

Required for supervisors and admins (and everyone with REQUIRE_2FA_FOR_ALL);
enrolment shows a QR code rendered on the server; a code works once; recovery
codes work once and are stored hashed; guessing codes is throttled per account.
"""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from itsdangerous import base64_decode
from sqlalchemy import func, select, text

from cases import commands, twofactor
from cases.models import Event, RecoveryCode, StaffSession, User
from storage import db
from tests.helpers import PASSWORD, from_address, page, sign_in

STAFF_PAGES = (
    "/staff/",
    "/staff/queues/general",
    "/staff/supervise/activity",
    "/staff/admin/users",
    "/staff/password",
    "/staff/cases/1",
)
SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7]{4}(?: [A-Z2-7]{1,4})*)</code>')


def secret_on(body: str) -> str:
    """The key the enrolment page shows (in groups of four, for typing), as the app takes it."""
    return SECRET_RE.search(body).group(1).replace(" ", "")


RECOVERY_RE = re.compile(r"<code>([0-9A-F]{5}-[0-9A-F]{5})</code>")


def second_factor_done(user: User) -> list[bool]:
    db.session.expire_all()
    return list(db.session.scalars(select(StaffSession.second_factor_done).where(StaffSession.user_id == user.id)))


def assert_held_at(client, target: str) -> None:
    for path in STAFF_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith(target), path
    # Actions are held back too, not only pages.
    response = client.post("/staff/cases/1/claim")
    assert response.status_code == 302 and response.headers["Location"].endswith(target)


# --- who must use it ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisor_or_admin_with_only_a_password_is_held_at_enrolment(client, make_user, make_case, role):
    make_case()
    user = make_user(role, totp=False)
    response = sign_in(client, user)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/2fa/setup")
    assert_held_at(client, "/staff/2fa/setup")
    assert second_factor_done(user) == [False]
    assert db.session.scalar(select(func.count(Event.id)).where(Event.action == "viewed")) == 0


@pytest.mark.parametrize(("require_all", "target"), [(True, "/staff/2fa/setup"), (False, "/staff/")])
def test_require_2fa_for_all_holds_caseworkers_too(make_app, require_all, target):
    app = make_app(REQUIRE_2FA_FOR_ALL=require_all)
    with app.app_context():
        user = commands.create_user("worker@example.org", "Worker", "caseworker", PASSWORD, ["general"])
        client = app.test_client()
        response = sign_in(client, user)
        assert response.status_code == 302 and response.headers["Location"].endswith(target)
        if require_all:
            assert_held_at(client, "/staff/2fa/setup")
        else:
            assert client.get("/staff/").status_code == 200


def test_caseworker_who_enrolled_must_use_it(client, make_user):
    user = make_user("caseworker", ["general"], totp=True)
    assert sign_in(client, user).headers["Location"].endswith("/staff/2fa")
    assert_held_at(client, "/staff/2fa")


# --- enrolment ----------------------------------------------------------------------------------


def test_enrolment_qr_code_is_drawn_by_the_server_inline(client, make_user):
    user = make_user("supervisor", totp=False)
    sign_in(client, user)
    body = page(client.get("/staff/2fa/setup"))
    secret = secret_on(body)
    srcs = re.findall(r'<img[^>]* src="([^"]+)"', body)
    assert len(srcs) == 1 and srcs[0].startswith("data:image/svg+xml")
    # It encodes this user's otpauth URI with this secret (and nothing is fetched from elsewhere).
    assert srcs[0] == twofactor.qr_data_uri(twofactor.provisioning_uri(user, secret))
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', body)
    # Reloading the page keeps the same secret until enrolment finishes.
    assert secret_on(page(client.get("/staff/2fa/setup"))) == secret


def test_the_secret_being_enrolled_is_not_readable_from_the_cookie(client, make_user):
    """Flask's cookie session is signed, not encrypted: the seed is sealed before it goes there."""
    user = make_user("supervisor", totp=False)
    sign_in(client, user)
    secret = secret_on(page(client.get("/staff/2fa/setup")))
    cookie = client.get_cookie("shagym").value
    payload = cookie.split(".")[1] if cookie.startswith(".") else cookie.split(".")[0]
    raw = base64_decode(payload)
    decoded = zlib.decompress(raw) if cookie.startswith(".") else raw
    data = json.loads(decoded)
    assert twofactor.PENDING_KEY in data  # the check below looks at the right place
    assert secret not in decoded.decode()
    assert secret.encode() not in base64.b64decode(data[twofactor.PENDING_KEY])
    # A sealed secret copied into another session does not open there.
    thief = client.application.test_client()
    sign_in(thief, user)
    with thief.session_transaction() as stolen:
        stolen[twofactor.PENDING_KEY] = data[twofactor.PENDING_KEY]
    assert secret_on(page(thief.get("/staff/2fa/setup"))) != secret


def test_enrolment_with_a_wrong_code_leaves_the_factor_off(client, make_user):
    user = make_user("admin", totp=False)
    sign_in(client, user)
    secret = secret_on(page(client.get("/staff/2fa/setup")))
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    response = client.post("/staff/2fa/setup", data={"code": wrong})
    assert "That code does not match" in page(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is False
    assert second_factor_done(user) == [False]
    assert_held_at(client, "/staff/2fa/setup")


def test_enrolment_with_the_right_code_turns_it_on_once_and_is_audited(client, make_user):
    user = make_user("supervisor", totp=False)
    sign_in(client, user)
    secret = secret_on(page(client.get("/staff/2fa/setup")))
    done = client.post("/staff/2fa/setup", data={"code": pyotp.TOTP(secret).now()})
    codes = RECOVERY_RE.findall(page(done))
    assert len(codes) == twofactor.RECOVERY_CODES == len(set(codes))
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.totp_enabled and stored.totp_secret == secret
    assert client.get("/staff/").status_code == 200
    assert db.session.scalar(select(Event).where(Event.action == "2fa_enrolled")).actor_id == user.id
    # Recovery codes (40 random bits each) are stored only as salted argon2id hashes: a stolen
    # database does not give them back by brute force.
    hashes = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(hashes) == len(codes)
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len({h.split("$")[-2] for h in hashes}) == len(hashes)  # a salt of its own each
    assert not any(c.replace("-", "") in h.upper() or c in h.upper() for c in codes for h in hashes)


# --- signing in with the factor -------------------------------------------------------------------


def test_wrong_code_is_refused(client, make_user):
    user = make_user("supervisor")
    sign_in(client, user)
    now = pyotp.TOTP(user.totp_secret).now()
    for wrong in (f"{(int(now) + 1) % 1_000_000:06d}", "", "12345", "abcdef", now + "0"):
        response = client.post("/staff/2fa", data={"totp-code": wrong})
        assert response.status_code in (200, 401) and "/staff/" not in response.headers.get("Location", "")
    assert second_factor_done(user) == [False]
    assert_held_at(client, "/staff/2fa")


def _fresh_step(user: User) -> None:
    db.session.execute(text("UPDATE users SET totp_last_step = NULL WHERE id = :id"), {"id": user.id})
    db.session.commit()


@pytest.mark.parametrize("replayed", ["same code", "earlier code"])
def test_a_used_code_cannot_be_replayed(app, client, make_user, replayed):
    user = make_user("supervisor")
    totp = pyotp.TOTP(user.totp_secret)
    now = time.time()
    used, earlier = totp.at(now), totp.at(now - 30)
    _fresh_step(user)
    sign_in(client, user)
    assert client.post("/staff/2fa", data={"totp-code": used}).status_code == 302
    assert client.get("/staff/").status_code == 200
    # Someone who watched the code being typed signs in with the password and replays it.
    attacker = app.test_client()
    sign_in(attacker, user)
    code = used if replayed == "same code" else earlier
    response = attacker.post("/staff/2fa", data={"totp-code": code})
    assert response.status_code == 401
    assert attacker.get("/staff/").headers["Location"].endswith("/staff/2fa")


def test_codes_outside_one_step_of_clock_drift_are_refused(app, make_user):
    user = make_user("supervisor")
    totp, now = pyotp.TOTP(user.totp_secret), time.time()
    assert twofactor.verify_code(user, totp.at(now - 90), now) is False
    assert twofactor.verify_code(user, totp.at(now + 90), now) is False
    assert twofactor.verify_code(user, totp.at(now + 30), now) is True


def test_a_recovery_code_works_exactly_once(app, client, make_user):
    user = make_user("supervisor")
    codes = store_recovery_codes(user)
    sign_in(client, user)
    assert client.post("/staff/2fa", data={"rec-recovery": codes[3]}).status_code == 302
    assert client.get("/staff/").status_code == 200
    other = app.test_client()
    sign_in(other, user)
    assert other.post("/staff/2fa", data={"rec-recovery": codes[3]}).status_code == 401
    assert other.get("/staff/").headers["Location"].endswith("/staff/2fa")
    used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all()
    assert len(used) == 1


def test_another_users_recovery_code_does_not_work(app, client, make_user):
    victim, owner = make_user("supervisor"), make_user("supervisor")
    codes = store_recovery_codes(owner)
    sign_in(client, victim)
    assert client.post("/staff/2fa", data={"rec-recovery": codes[0]}).status_code == 401


def test_guessing_codes_is_throttled_per_account(make_app):
    """Several sources sharing one stolen password still get a handful of guesses a minute in total."""
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        user = commands.create_user("boss@example.org", "Boss", "supervisor", PASSWORD)
        user.totp_secret, user.totp_enabled = pyotp.random_base32(), True
        db.session.commit()
        statuses = []
        for n in range(7):
            attacker = from_address(app, f"198.51.100.{n + 1}")
            sign_in(attacker, user)
            statuses.append(attacker.post("/staff/2fa", data={"totp-code": "000000"}).status_code)
        assert statuses == [401] * 5 + [429] * 2
        # The owner, from yet another place, is not locked out for good: the right code works after the window.
        from extensions import limiter

        limiter.reset()
        _fresh_step(user)
        owner = from_address(app, "192.0.2.200")
        sign_in(owner, user)
        assert owner.post("/staff/2fa", data={"totp-code": pyotp.TOTP(user.totp_secret).now()}).status_code == 302


def test_wrong_codes_are_capped_per_account_and_hour_whatever_the_limiter(make_app, make_user, caplog):
    """ASVS 2.2.1: with the limiter off (or per-worker memory), the database still counts wrong codes."""
    app = make_app(RATELIMIT_ENABLED=False, TWO_FACTOR_HOURLY_LIMIT=3)
    with app.app_context():
        user = make_user("supervisor")
        statuses = []
        for n in range(3):
            attacker = from_address(app, f"198.51.100.{n + 1}")
            sign_in(attacker, user)
            statuses.append(attacker.post("/staff/2fa", data={"totp-code": "000000"}).status_code)
        assert statuses == [401, 401, 401]
        db.session.refresh(user)
        assert user.second_factor_failures == 3
        assert f"second_factor_limit_reached user={user.id}" in caplog.text
        # Now even the right code is refused for the rest of the hour, with a clear message.
        _fresh_step(user)
        owner = from_address(app, "192.0.2.200")
        sign_in(owner, user)
        locked = owner.post("/staff/2fa", data={"totp-code": pyotp.TOTP(user.totp_secret).now()})
        assert locked.status_code == 429
        assert "Too many wrong codes for this account" in page(locked)
        assert second_factor_done(user) == [False, False, False, False]
        # An hour later the window is over: the right code works and the count starts again.
        db.session.execute(
            text("UPDATE users SET second_factor_window_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(hours=1, seconds=1), "id": user.id},
        )
        db.session.commit()
        _fresh_step(user)
        assert owner.post("/staff/2fa", data={"totp-code": pyotp.TOTP(user.totp_secret).now()}).status_code == 302
        db.session.refresh(user)
        assert user.second_factor_failures == 0


def test_the_hourly_window_counts_and_starts_again():
    user = User(second_factor_failures=0)
    start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    assert [twofactor.count_failure(user, start + timedelta(minutes=m)) for m in (0, 10, 59)] == [1, 2, 3]
    assert twofactor.locked(user, start + timedelta(minutes=59), 3)
    assert not twofactor.locked(user, start + timedelta(minutes=61), 3)
    assert twofactor.count_failure(user, start + timedelta(minutes=61)) == 1


def store_recovery_codes(user):
    """Issue recovery codes for ``user`` directly (test set-up); returns the codes as shown once."""
    pairs = twofactor.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=stored) for _shown, stored in pairs)
    db.session.commit()
    return [shown for shown, _stored in pairs]
