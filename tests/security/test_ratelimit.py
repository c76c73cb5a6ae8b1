"""Brute force and flooding, as an attacker with one address or many would try.

Failed sign-ins are throttled per account (whatever the source) and per source
(whatever the account), with no permanent lockout; report submissions are
throttled per source; limits are shared between workers through Redis; the
limiter never keeps a client address in clear.
"""

from __future__ import annotations

import time
import types
import uuid

import limits.storage.memory
import pytest
from sqlalchemy import func, select

from cases import commands
from cases.models import Case, StaffSession, User
from extensions import limiter
from storage import db
from tests.helpers import PASSWORD, from_address, redis_or_skip, report_form, sign_in

REPORT = report_form(narrative="Police stopped the peaceful gathering and detained three people.")
LIMITED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute", "REPORT_RATE_LIMIT": "2 per minute"}


@pytest.fixture
def clock(monkeypatch):
    """Moves the in-memory limiter storage's clock forward, so a window passes without sleeping."""
    offset = [0.0]
    monkeypatch.setattr(limits.storage.memory, "time", types.SimpleNamespace(time=lambda: time.time() + offset[0]))

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


@pytest.fixture
def limited(make_app):
    app = make_app(**LIMITED)
    with app.app_context():
        yield app


def new_user(n: int) -> User:
    return commands.create_user(f"worker{n}@example.org", f"Worker {n}", "caseworker", PASSWORD, ["general"])


def sign_in_status(client, email: str, password: str = PASSWORD) -> int:
    """The status code of a sign-in attempt: 302 in, 401 refused, 429 throttled."""
    return sign_in(client, email, password).status_code


def sessions() -> int:
    return db.session.scalar(select(func.count()).select_from(StaffSession))


# --- sign-in ----------------------------------------------------------------------------------------


def test_failed_sign_ins_for_one_account_are_throttled_whatever_the_source(limited, clock):
    user = new_user(1)
    attempts = [
        sign_in_status(from_address(limited, f"198.51.100.{n}"), user.email, f"guess number {n}!") for n in range(3)
    ]
    assert attempts == [401, 401, 401]
    # The fourth try, from yet another address and even with the right password, is refused.
    assert sign_in_status(from_address(limited, "198.51.100.99"), user.email) == 429
    assert sessions() == 0
    # Another account is not affected (the limit is per account, not global).
    assert sign_in_status(from_address(limited, "198.51.100.98"), new_user(2).email) == 302
    # No permanent lockout: when the window has passed, the owner signs in.
    clock(61)
    assert sign_in_status(from_address(limited, "192.0.2.7"), user.email) == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).active is True


def test_failed_sign_ins_from_one_source_are_throttled_whatever_the_account(limited, clock):
    sprayer = from_address(limited, "203.0.113.5")
    users = [new_user(n) for n in range(4)]
    assert [sign_in_status(sprayer, u.email, "Spring2025!Spring") for u in users[:3]] == [401, 401, 401]
    assert sign_in_status(sprayer, users[3].email) == 429  # a fourth account, right password: still refused
    assert sessions() == 0
    # The targeted account itself is not locked: its owner elsewhere signs in.
    assert sign_in_status(from_address(limited, "192.0.2.8"), users[3].email) == 302
    clock(61)
    assert sign_in_status(sprayer, users[3].email) == 302


def test_only_failures_count(limited):
    user = new_user(1)
    client = from_address(limited, "192.0.2.9")
    for _ in range(5):
        assert sign_in_status(client, user.email) == 302
        client.post("/staff/logout")
    assert sign_in_status(client, user.email, "one wrong attempt") == 401
    assert sign_in_status(client, user.email) == 302


def test_unknown_accounts_are_throttled_like_real_ones(limited):
    """Otherwise the 429 would tell an attacker which emails exist."""
    client = from_address(limited, "203.0.113.6")
    assert [sign_in_status(client, "nobody@example.org", "whatever it is") for _ in range(4)] == [401, 401, 401, 429]


def test_throttled_answer_is_the_generic_page(limited):
    user = new_user(1)
    client = from_address(limited, "203.0.113.7")
    for _ in range(3):
        sign_in_status(client, user.email, "wrong password here")
    response = client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert "too many attempts" in body.lower() or response.headers["Content-Type"].startswith("text/html")
    assert user.email not in body


# --- report flood -----------------------------------------------------------------------------------


def test_report_flood_from_one_source_is_throttled(limited, clock):
    flooder = from_address(limited, "203.0.113.10")
    statuses = [flooder.post("/report", data=REPORT).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert db.session.scalar(select(func.count(Case.id))) == 2
    # Someone else can still report while the flooder waits.
    assert from_address(limited, "192.0.2.10").post("/report", data=REPORT).status_code == 200
    clock(61)
    assert flooder.post("/report", data=REPORT).status_code == 200
    assert db.session.scalar(select(func.count(Case.id))) == 4


def test_forged_forwarded_for_does_not_escape_the_throttle_without_a_trusted_proxy(limited):
    statuses = [
        from_address(limited, "203.0.113.11")
        .post("/report", data=REPORT, headers={"X-Forwarded-For": f"10.0.0.{n}"})
        .status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(make_app):
    app = make_app(**LIMITED, SHAGYM_PROXY_HOPS=1)
    with app.app_context():
        proxy = "127.0.0.1"  # every request arrives from the reverse proxy
        first = [
            from_address(app, proxy)
            .post("/report", data=REPORT, headers={"X-Forwarded-For": "198.51.100.1"})
            .status_code
            for _ in range(3)
        ]
        assert first == [200, 200, 429]
        other = from_address(app, proxy).post("/report", data=REPORT, headers={"X-Forwarded-For": "198.51.100.2"})
        assert other.status_code == 200


def test_a_client_that_reaches_the_app_directly_cannot_choose_its_address(make_app):
    """Behind a proxy (hops=1), a forged ``X-Forwarded-For`` from anywhere but the proxy is ignored."""
    app = make_app(**LIMITED, SHAGYM_PROXY_HOPS=1, FORWARDED_ALLOW_IPS="127.0.0.1")
    with app.app_context():
        statuses = [
            from_address(app, "203.0.113.12")
            .post("/report", data=REPORT, headers={"X-Forwarded-For": f"10.9.{n}.{n}"})
            .status_code
            for n in range(4)
        ]
        assert statuses == [200, 200, 429, 429]
        assert db.session.scalar(select(func.count(Case.id))) == 2


def test_the_limiter_never_keeps_a_client_address(limited):
    from_address(limited, "203.0.113.77").post("/report", data=REPORT)
    sign_in_status(from_address(limited, "203.0.113.77"), "someone@example.org", "wrong password!")
    keys = list(limiter.storage.storage.keys())
    assert keys  # counters exist...
    assert not any("203.0.113.77" in k or "someone@example.org" in k for k in keys)  # ...under keyed hashes


# --- shared between workers -------------------------------------------------------------------------


REDIS_URL = "redis://127.0.0.1:6379/2"


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_sign_in_throttle_is_shared_between_workers_only_with_redis(make_app, storage):
    if storage == "redis":
        redis = redis_or_skip(REDIS_URL)
        # A prefix of our own: other test runs on this Redis cannot disturb or be disturbed.
        prefix = f"shagym-test-{uuid.uuid4().hex}"
        config = {**LIMITED, "RATELIMIT_STORAGE_URI": REDIS_URL}
        limiter._key_prefix = prefix
    else:
        config = {**LIMITED, "RATELIMIT_STORAGE_URI": "memory://"}
    try:
        worker_a = make_app(**config)
        with worker_a.app_context():
            user = new_user(1)
            client = from_address(worker_a, "203.0.113.20")
            assert [sign_in_status(client, user.email, "wrong password!") for _ in range(3)] == [401, 401, 401]
        # A second worker process starts with its own connection to the storage.
        worker_b = make_app(**config)
        with worker_b.app_context():
            status = sign_in_status(from_address(worker_b, "203.0.113.20"), user.email)
        if storage == "redis":
            assert status == 429
            keys = [k.decode() for k in redis.keys(f"*{prefix}*")]
            assert keys and not any("203.0.113.20" in k or user.email in k for k in keys)
            redis.delete(*keys)
        else:
            assert status == 302  # memory storage: each worker counts alone (the documented residual risk)
    finally:
        limiter._key_prefix = ""
