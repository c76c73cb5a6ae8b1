"""Drill: ``kill -9`` of the whole gunicorn group (master and workers at once) while reporters
are filing, round after round, on the suite's database (SQLite, or PostgreSQL under
TEST_DATABASE_URL). Every report that was acknowledged with a receipt must be found with that
receipt afterwards, and ``audit verify`` must pass.

Bounded: ROUNDS rounds, each until a few more reports are acknowledged (at most 30 s), loopback
only. Prints ``DRILL kill-9 <db>: rounds= acknowledged= found= lost=``.
"""

from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import PG_URL
from tests.project.drills import OPEN_LIMITS, Load, print_figures, receipt_found
from tests.project.servers import Gunicorn, app_env, flask

pytestmark = pytest.mark.drill
ROUNDS = 5


@pytest.fixture
def database():
    """A database of its own: a file in the instance folder, or ``<test database>_drill``."""
    if not PG_URL:
        yield "", "sqlite"
        return
    url = make_url(PG_URL)
    name = f"{url.database}_drill"
    admin = create_engine(url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False), "postgresql"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_kill_9_of_the_whole_group_under_load_loses_no_acknowledged_report(tmp_path, database, capsys):
    url, kind = database
    env = app_env(tmp_path / "instance", url, **OPEN_LIMITS)
    flask(env, "init-db")
    acknowledged: list[tuple[str, str]] = []
    refused: dict[int, int] = {}
    cut = 0
    for round_no in range(ROUNDS):
        server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4).start()
        load = Load(server.port, threads=4).start()
        try:
            load.wait_for(3 + round_no % 3)
            time.sleep(random.uniform(0, 0.2))  # noqa: S311 - jitter: the kill lands mid-write
        finally:
            server.kill9()
            load.stop()
        assert load.acknowledged, f"round {round_no}: nothing was acknowledged ({load.answers})"
        acknowledged += load.acknowledged
        cut += load.failures
        for status, count in load.answers.items():
            if status != 200:
                refused[status] = refused.get(status, 0) + count

    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4).start()
    try:
        found = sum(receipt_found(server.port, receipt) for receipt, _reference in acknowledged)
    finally:
        server.stop()
    verify = flask(env, "audit", "verify", check=False)
    print_figures(
        capsys,
        f"kill-9 {kind}",
        rounds=ROUNDS,
        acknowledged=len(acknowledged),
        found=found,
        lost=len(acknowledged) - found,
        cut_mid_request=cut,
        audit_verify="intact" if verify.returncode == 0 else "BROKEN",
    )
    assert found == len(acknowledged)
    assert len({r for r, _ in acknowledged}) == len(acknowledged)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "History intact" in verify.stdout
    errors = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if "error_id=" in line]
    assert set(refused) <= {503}, (refused, errors[-5:])  # a write cut by the kill may be refused, never a 500
