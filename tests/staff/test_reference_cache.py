"""Each worker keeps the routing rules, queues and category settings in memory; a change made
anywhere (an admin page on another worker, a command, plain SQL) is used by the next report.

The threat: a report routed by a rule an administrator has already switched off, or sent to a
queue that was renamed, because one gunicorn worker kept an old copy.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from cases import commands
from cases.models import Case, RoutingRule
from storage import db
from tests.helpers import REFERENCE_RE, page, report_form

CUSTODY_RULE = {
    "name": "Custody cases in Shymkent",
    "position": "5",
    "category": "",
    "immediate_danger": "",
    "child_affected": "",
    "in_custody": "yes",
    "region": "shymkent",
    "queue": "justice",
    "priority": "high",
}
CUSTODY_REPORT = report_form(category="other", in_custody="yes", region="shymkent")


def _file(client) -> Case:
    response = client.post("/report", data=CUSTODY_REPORT)
    assert response.status_code == 200, page(response)[:300]
    reference = REFERENCE_RE.search(page(response)).group(0)
    db.session.rollback()  # a fresh read of what the worker stored
    return db.session.scalar(select(Case).where(Case.reference == reference))


def test_a_rule_added_on_one_worker_routes_the_next_report_on_another(app, make_app, admin):
    admin_client, me = admin
    other_worker = make_app().test_client()  # its own app, as another gunicorn worker holds
    other_worker.set_cookie("lang", "en")
    before = _file(other_worker)
    assert before.routing_rule_name != CUSTODY_RULE["name"]

    assert admin_client.post("/staff/admin/routing", data=CUSTODY_RULE).status_code == 302
    routed = _file(other_worker)
    assert (routed.queue.slug, routed.routing_rule_name) == ("justice", CUSTODY_RULE["name"])

    added = db.session.scalar(select(RoutingRule).where(RoutingRule.name == CUSTODY_RULE["name"]))
    commands.toggle_rule(added, me)  # switched off: the same report goes where it went before
    again = _file(other_worker)
    assert (again.queue_id, again.routing_rule_name) == (before.queue_id, before.routing_rule_name)


def test_a_queue_renamed_by_plain_sql_shows_on_the_next_receipt(app, make_app):
    worker = make_app().test_client()
    worker.set_cookie("lang", "en")
    case = _file(worker)
    db.session.execute(
        text("UPDATE queues SET name = 'Renamed desk (fictional)' WHERE id = :id"), {"id": case.queue_id}
    )
    db.session.commit()
    response = worker.post("/report", data=CUSTODY_REPORT)
    assert "Renamed desk (fictional)" in page(response)


def test_a_category_target_changed_moves_the_next_due_date(app, make_app, admin):
    _client, me = admin
    worker = make_app().test_client()
    worker.set_cookie("lang", "en")
    first = _file(worker)
    commands.set_service_levels("other", 2, 3, 40, me)
    second = _file(worker)
    assert second.due_at - second.created_at <= timedelta(hours=2) < first.due_at - first.created_at
    assert second.resolution_due_at != first.resolution_due_at or first.resolution_due_at is None
