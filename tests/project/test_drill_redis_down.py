"""Drill: the rate limits' Redis goes away (our own redis-server on port 18479, killed) and
comes back. Each limit's choice (docs/operations.md): the report and tracking limits fail open —
a report is never refused because the counter is gone — and sign-in (password and second
factor) fails closed with a friendly 503 until Redis answers again. /readyz says "redis".
Prints ``DRILL redis-down: ...``."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis
from sqlalchemy import func, select

from cases.models import Case
from storage import db
from tests.helpers import PASSWORD, receipt_of, report_form
from tests.project.drills import print_figures

pytestmark = pytest.mark.drill
PORT = 18479
URI = f"redis://127.0.0.1:{PORT}/4"


def _wait(up: bool) -> None:
    client = redis.Redis(host="127.0.0.1", port=PORT, socket_connect_timeout=0.2)
    for _ in range(100):
        try:
            client.ping()
            if up:
                return
        except redis.ConnectionError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis on {PORT} did not go {'up' if up else 'down'}")


@pytest.fixture
def redis_server():
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    procs = []

    def start():
        procs.append(
            subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(PORT), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        _wait(up=True)

    def kill():
        procs[-1].kill()
        procs[-1].wait(timeout=10)
        _wait(up=False)

    start()
    yield start, kill
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


def test_redis_down_reports_keep_coming_and_sign_in_waits(make_app, make_user, redis_server, capsys):
    start, kill = redis_server
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=URI, LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        user = make_user("caseworker")
        public, staff = app.test_client(), app.test_client()
        credentials = {"email": user.email, "password": PASSWORD}
        assert public.post("/report", data=report_form()).status_code == 200
        assert staff.post("/staff/login", data=credentials).status_code == 302

        kill()
        filed = [
            public.post("/report", data=report_form(narrative=f"[DRILL — fictional] Redis is down, report {n}."))
            for n in range(5)
        ]
        receipts = [receipt_of(r.get_data(as_text=True)) for r in filed if r.status_code == 200]
        tracked = public.post("/track", data={"receipt": receipts[0]}).status_code if receipts else None
        sign_in = app.test_client().post("/staff/login", data=credentials)
        ready = app.test_client().get("/readyz")

        start()
        again = app.test_client().post("/staff/login", data=credentials)
        stored = db.session.scalar(select(func.count(Case.id)))
    print_figures(
        capsys,
        "redis-down",
        rounds=1,
        acknowledged=len(receipts),
        found=stored - 1,
        lost=len(receipts) - (stored - 1),
        sign_in_while_down=sign_in.status_code,
        sign_in_after=again.status_code,
    )
    assert [r.status_code for r in filed] == [200] * 5 and len(receipts) == 5  # open: reports go on
    assert tracked == 303
    assert stored == 6
    assert sign_in.status_code == 503  # closed: no uncounted password guesses
    assert "Sign-in is paused for a moment" in sign_in.get_data(as_text=True)
    assert sign_in.headers["Retry-After"] == "30" and "Set-Cookie" not in sign_in.headers
    assert ready.status_code == 503 and ready.get_json()["failing"] == ["redis"]
    assert again.status_code == 302  # Redis back: sign-in works again, no restart
