"""Referral figures per partner body on the supervisors' dashboard, in its table and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from cases import commands
from storage import db
from tests.helpers import page, set_case


def _day():
    return datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


def _letter(referral, case):
    return "letter"


def test_sent_answered_median_and_overdue_per_body(app, investigating, make_partner, staff):
    slow, quick = make_partner("Slow Commissioner (fictional)", answer_days=3), make_partner("Quick NGO (fictional)")
    today = _day()
    plan = [  # body, days ago sent, days after sending answered (None: not yet)
        (slow, 20, None),
        (slow, 12, 10),
        (slow, 11, 4),
        (quick, 6, 1),
    ]
    for n, (body, ago, answered_after) in enumerate(plan):
        case, worker = investigating()
        set_case(case.id, created_at=datetime.now(UTC) - timedelta(days=40))
        draft = commands.Draft(body.id, "deidentified", ["category"], "en", False)
        referral = commands.prepare_referral(case.id, worker, draft)
        commands.send_referral(case.id, referral.id, worker, f"77/{n}", today - timedelta(days=ago), _letter)
        if answered_after is not None:
            day = today - timedelta(days=ago - answered_after)
            commands.record_referral_answer(case.id, referral.id, worker, commands.Answered(day, "", "ok", "other"))
    client, _user = staff("supervisor")
    text = page(client.get("/staff/supervise/dashboard"))
    assert "Referrals sent in the period, per partner body" in text
    response = client.get("/staff/supervise/dashboard/referrals.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Partner body", "Sent", "Answered", "Median answer time (days)", "Overdue now"]
    assert rows[1:] == [
        ["Slow Commissioner (fictional)", "3", "2", "4", "1"],
        ["Quick NGO (fictional)", "1", "1", "1", "0"],
    ]
    # A period before every letter: nothing.
    early = (today - timedelta(days=60)).isoformat(), (today - timedelta(days=50)).isoformat()
    response = client.get(f"/staff/supervise/dashboard/referrals.csv?since={early[0]}&until={early[1]}")
    assert len(list(csv.reader(io.StringIO(response.get_data(as_text=True))))) == 1
    db.session.rollback()


def test_case_workers_do_not_get_the_figures(app, staff):
    client, _user = staff("caseworker")
    assert client.get("/staff/supervise/dashboard/referrals.csv").status_code == 403
