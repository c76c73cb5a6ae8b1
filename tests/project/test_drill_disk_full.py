"""Drill: the disk under the SQLite database fills up (a small tmpfs, filled with a file). The
report that no longer fits gets the friendly 503 — its form back, no receipt — and nothing
half-written stays behind (every stored case has its history, the file passes SQLite's integrity
check, ``audit verify`` passes); once space is freed the same app files reports again.

Needs root (it mounts a tmpfs); SQLite only (the SQLite pass of the suite). Prints
``DRILL disk-full: ...``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cases import seed
from cases.models import Case, Event
from storage import db
from tests.helpers import BASE_CONFIG, PG_URL, REFERENCE_RE, receipt_of, report_form
from tests.project.drills import print_figures
from wsgi import create_app

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(bool(PG_URL), reason="SQLite on a full disk: the SQLite pass of the suite"),
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root"),
]
SIZE_MB = 24
MAX_REPORTS = 400
LONG = "[DRILL — fictional] " + "A long account of what happened, to fill the disk sooner. " * 60


@pytest.fixture
def small_disk():
    mount = Path(tempfile.mkdtemp(prefix="shagym-drill-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


def fill(path: Path) -> int:
    """Write until the disk refuses; the bytes written."""
    written = 0
    chunk = b"\0" * (256 * 1024)
    with open(path, "wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk)
            except OSError:
                break
    return written


def test_a_full_disk_refuses_the_report_cleanly_and_the_app_serves_again(_template, small_disk, capsys):
    database = small_disk / "shagym.sqlite3"
    shutil.copy(_template["path"], database)
    app = create_app(
        {**BASE_CONFIG, "INSTANCE_PATH": str(small_disk), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    )
    acknowledged: list[str] = []
    with app.app_context():
        seed.seed_reference_data()
        client = app.test_client()
        first = client.post("/report", data=report_form(narrative=LONG))
        acknowledged.append(receipt_of(first.get_data(as_text=True)))
        filler = small_disk / "filler"
        fill(filler)

        refused = None
        for n in range(MAX_REPORTS):
            answer = client.post("/report", data=report_form(narrative=f"{LONG} {n}"))
            if answer.status_code != 200:
                refused = answer
                break
            acknowledged.append(receipt_of(answer.get_data(as_text=True)))  # room was left in the files
        assert refused is not None, "the disk never filled"
        body = refused.get_data(as_text=True)
        cases = db.session.scalar(select(func.count(Case.id)))
        without_history = db.session.scalar(
            select(func.count(Case.id)).where(~select(Event.id).where(Event.case_id == Case.id).exists())
        )
        integrity = db.session.scalar(text("PRAGMA integrity_check"))
        db.session.rollback()

        filler.unlink()
        after = client.post("/report", data=report_form(narrative="[DRILL — fictional] Space is back."))
        if after.status_code == 200:
            acknowledged.append(receipt_of(after.get_data(as_text=True)))
        found = sum(client.post("/track", data={"receipt": r}).status_code == 303 for r in acknowledged)
        verify = app.test_cli_runner().invoke(args=["audit", "verify"])
        db.session.remove()
        db.engine.dispose()
    print_figures(
        capsys,
        "disk-full",
        rounds=1,
        acknowledged=len(acknowledged),
        found=found,
        lost=len(acknowledged) - found,
        refused_status=refused.status_code,
        served_again=after.status_code,
        integrity=integrity,
    )
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    assert "Your report was not saved" in body and not REFERENCE_RE.search(body)
    assert LONG.split()[3] in body  # what was typed is in the form again
    assert cases == len(acknowledged) - 1 and without_history == 0  # the refused one left nothing
    assert integrity == "ok"
    assert after.status_code == 200
    assert found == len(acknowledged)
    assert verify.exit_code == 0 and "History intact" in verify.output, verify.output
