"""Drill: PostgreSQL stops (``pg_ctl stop -m immediate``: a crash, recovery on start) and starts
again while reporters are filing through gunicorn. While it is down every report gets the
friendly 503 (the form back with what was typed, no receipt); once it is back the same workers
file again without a restart (the pool's pre-ping replaces the dead connections); every
acknowledged receipt is found and ``audit verify`` passes.

A throw-away cluster of its own on port 18432 under /tmp (never the machine's shared server),
run as the ``postgres`` user when the tests run as root. Runs in the PostgreSQL pass of the suite
(TEST_DATABASE_URL set). Prints ``DRILL postgres-restart: ...``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import PG_URL
from tests.project.drills import OPEN_LIMITS, Load, file_report, print_figures, receipt_found
from tests.project.servers import Gunicorn, app_env, flask

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(not PG_URL, reason="the PostgreSQL drills run in the PostgreSQL pass (TEST_DATABASE_URL)"),
]
PORT = 18432


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    return found if isinstance(found, str) else (found[0] if found else None)


class Cluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="shagym-drill-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self.run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {PORT} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=50"
        self.run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def crash(self) -> None:
        self.run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*self.as_postgres, _pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    if not _pg_bin("initdb") or not _pg_bin("pg_ctl"):
        pytest.skip("initdb/pg_ctl not installed")
    c = Cluster()
    try:
        c.init()
        c.start()
        c.run(_pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "shagym")
        yield c
    finally:
        c.remove()


def test_postgres_restart_under_load_answers_503_then_recovers_and_loses_nothing(tmp_path, cluster, capsys):
    env = app_env(tmp_path / "instance", f"postgresql://postgres@127.0.0.1:{PORT}/shagym", **OPEN_LIMITS)
    flask(env, "init-db")
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4).start()
    load = Load(server.port, threads=3).start()
    try:
        load.wait_for(5)
        before = len(load.acknowledged)
        cluster.crash()
        down_at = time.monotonic()
        time.sleep(1.0)
        while_down = file_report(server.port, 0)
        downtime_answers = dict(load.answers)
        time.sleep(0.5)
        cluster.start()
        up_after = time.monotonic() - down_at
        load.wait_for(len(load.acknowledged) + 5)
        after = len(load.acknowledged) - before
    finally:
        load.stop()
    try:
        found = sum(receipt_found(server.port, receipt) for receipt, _reference in load.acknowledged)
    finally:
        server.stop()
    verify = flask(env, "audit", "verify", check=False)
    print_figures(
        capsys,
        "postgres-restart",
        rounds=1,
        acknowledged=len(load.acknowledged),
        found=found,
        lost=len(load.acknowledged) - found,
        answers=dict(sorted(load.answers.items())),
        down_seconds=round(up_after, 1),
        filed_after_restart=after,
        audit_verify="intact" if verify.returncode == 0 else "BROKEN",
    )
    assert while_down.status == 503 and while_down.receipt is None
    assert "Your report was not saved" in while_down.body and "[DRILL — fictional] report number 0" in while_down.body
    assert downtime_answers.get(503, 0) >= 1 or while_down.status == 503
    assert after >= 5  # the same workers file again: no restart
    assert set(load.answers) <= {200, 503}, load.answers  # never a 500
    assert found == len(load.acknowledged)
    assert verify.returncode == 0 and "History intact" in verify.stdout, verify.stdout + verify.stderr
