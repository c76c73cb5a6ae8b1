"""Two staff acting on one case at once never overwrite each other silently.

Real concurrent requests: each thread has its own test client signed in as a
different caseworker, all released together by a barrier. The app uses a file
database (SQLite) or the test PostgreSQL database, never an in-memory one.
"""

from __future__ import annotations

import html
import random
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from cases import audit, commands, worker
from cases.models import Case, Event
from storage import db
from tests.helpers import PASSWORD, report, sign_in

WORKERS = 8
CASES = 50
WON = "You now hold this case."
LOST = ("This case was changed by someone else", "Someone else claimed this case first")


@pytest.fixture
def race(request, make_app):
    """An app with new cases in one queue (CASES, or ``(count, config)`` by indirect parametrization) and WORKERS
    signed-in caseworkers of that queue.

    No app context stays pushed in the test's thread: every request gets its own
    context and its own database session, as under gunicorn.
    """
    param = getattr(request, "param", CASES)
    count, config = (param, {}) if isinstance(param, int) else param
    app = make_app(**config)
    with app.app_context():
        key = app.extensions["shagym_receipt_key"]
        case_ids = [commands.file_report(report(), key).case.id for _ in range(count)]
        workers = [
            commands.create_user(f"worker{i}@example.org", f"Worker {i}", "caseworker", PASSWORD, ["general"])
            for i in range(WORKERS)
        ]
        worker_ids = [w.id for w in workers]
        emails = [w.email for w in workers]
    clients = []
    for email in emails:
        client = app.test_client()
        client.set_cookie("lang", "en")
        assert sign_in(client, email).status_code == 302
        clients.append(client)
    return app, case_ids, worker_ids, clients


def run_together(clients, job):
    """Run ``job(index, client)`` in one thread per client, all starting at once; re-raise any error."""
    barrier = threading.Barrier(len(clients))
    errors: list[BaseException] = []
    results: list = [None] * len(clients)

    def target(i, client):
        try:
            barrier.wait(timeout=30)
            results[i] = job(i, client)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    if errors:
        raise errors[0]
    return results


def flashes(client) -> list[str]:
    with client.session_transaction() as s:
        return [message for _category, message in s.pop("_flashes", [])]


def test_eight_workers_claiming_fifty_cases_claim_each_exactly_once(race):
    app, case_ids, worker_ids, clients = race

    def claim_all(i, client):
        order = case_ids[:]
        random.Random(i).shuffle(order)  # different orders make collisions likely everywhere
        outcome = []
        for case_id in order:
            # The version the worker saw on the case page: every case starts at 1.
            response = client.post(f"/staff/cases/{case_id}/claim", data={"version": "1"})
            outcome.append((case_id, response.status_code, flashes(client)))
        return outcome

    results = run_together(clients, claim_all)
    winners: dict[int, list[int]] = {cid: [] for cid in case_ids}
    for i, outcome in enumerate(results):
        for case_id, status, messages in outcome:
            assert status == 302, (case_id, status)  # never a 500
            assert len(messages) == 1, messages
            if messages[0] == WON:
                winners[case_id].append(worker_ids[i])
            else:
                assert messages[0].startswith(LOST), messages[0]
    assert all(len(w) == 1 for w in winners.values()), {c: w for c, w in winners.items() if len(w) != 1}

    with app.app_context():
        rows = dict(db.session.execute(select(Case.id, Case.assignee_id)).all())
        assert rows == {cid: w[0] for cid, w in winners.items()}
        assert all(row.version == 2 for row in db.session.scalars(select(Case)))
        assigned = Counter(db.session.scalars(select(Event.chain_id).where(Event.action == "assigned")))
        assert assigned == Counter(dict.fromkeys(case_ids, 1))
        report_ = audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key())
        assert report_.intact, (report_.first_break, report_.checkpoint_problem)
        # Case chains plus the system chain with one user_created per worker.
        assert report_.chains == CASES + 1 and report_.events == CASES * 3 + WORKERS


@pytest.mark.parametrize("race", [(12, {"AUDIT_CHECKPOINT_EVERY": 5})], indirect=True, ids=["checkpoint every 5"])
def test_automatic_checkpoints_during_concurrent_claims_verify(race):
    """Checkpoints the worker signs while requests are still writing must cover exactly what committed."""
    app, case_ids, _worker_ids, clients = race
    stop, signed = threading.Event(), []

    def checkpointer():
        with app.app_context():
            while not stop.is_set():
                signed.append(worker.run_once().checkpoint)
                db.session.remove()

    def claim_all(i, client):
        for case_id in case_ids:
            client.post(f"/staff/cases/{case_id}/claim", data={"version": "1"})
            client.post(f"/staff/cases/{case_id}/messages", data={"kind": "note", "body": f"note {i}"})

    background = threading.Thread(target=checkpointer)
    background.start()
    try:
        run_together(clients, claim_all)
    finally:
        stop.set()
        background.join(timeout=60)
    with app.app_context():
        from cases.models import Checkpoint

        worker.run_once()  # the round after the last request
        checkpoints = db.session.scalar(select(func.count()).select_from(Checkpoint))
        report_ = audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key())
        assert report_.intact, report_.problems[:3]
        assert report_.events == len(case_ids) * (3 + WORKERS) + WORKERS  # and user_created per worker
        # Some were signed while the claims were still being written, and the last covers everything.
        assert any(signed) and checkpoints == report_.checkpoints >= 2
        assert db.session.scalar(select(func.max(Checkpoint.tree_size))) == report_.events


@pytest.mark.parametrize("race", [1], indirect=True, ids=["one case"])
def test_losers_see_the_message_on_the_case_page(race):
    app, case_ids, _worker_ids, clients = race
    first, second = clients[:2]
    assert first.post(f"/staff/cases/{case_ids[0]}/claim", data={"version": "1"}).status_code == 302
    page = second.post(f"/staff/cases/{case_ids[0]}/claim", data={"version": "1"}, follow_redirects=True)
    assert page.status_code == 200
    assert "This case was changed by someone else — reload the page and try again." in html.unescape(
        page.get_data(as_text=True)
    )


@pytest.mark.parametrize("race", [1], indirect=True, ids=["one case"])
def test_status_change_with_a_stale_version_is_refused(race):
    app, case_ids, _worker_ids, clients = race
    alice, bob = clients[:2]
    case_id = case_ids[0]
    # Both opened the case page at version 1.
    assert alice.post(f"/staff/cases/{case_id}/status", data={"target": "triage", "version": "1"}).status_code == 302
    assert flashes(alice) == ["Status changed to “Triage”."]
    stale = bob.post(
        f"/staff/cases/{case_id}/status",
        data={"target": "rejected", "reason": "Outside the mandate", "version": "1"},
        follow_redirects=True,
    )
    assert "This case was changed by someone else — reload the page and try again." in html.unescape(
        stale.get_data(as_text=True)
    )
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.status, case.version) == ("triage", 2)
        statuses = db.session.scalars(
            select(Event.new_value).where(Event.chain_id == case_id, Event.action == "status")
        ).all()
        assert statuses == ["triage"]


@pytest.mark.parametrize("race", [1], indirect=True, ids=["one case"])
def test_simultaneous_status_changes_let_exactly_one_through(race):
    app, case_ids, _worker_ids, clients = race
    case_id = case_ids[0]

    def change(i, client):
        response = client.post(f"/staff/cases/{case_id}/status", data={"target": "triage", "version": "1"})
        return response.status_code, flashes(client)

    results = run_together(clients, change)
    assert all(status == 302 for status, _ in results)
    messages = [m[0] for _, m in results]
    assert messages.count("Status changed to “Triage”.") == 1
    assert all(m.startswith(LOST[0]) for m in messages if m != "Status changed to “Triage”.")
    with app.app_context():
        assert db.session.get(Case, case_id).version == 2
        assert (
            db.session.scalar(
                select(func.count()).select_from(Event).where(Event.chain_id == case_id, Event.action == "status")
            )
            == 1
        )
        assert audit.verify_chain(db.session, case_id) is None


@pytest.mark.parametrize("race", [1], indirect=True, ids=["one case"])
def test_simultaneous_notes_all_land_in_one_unbroken_chain(race):
    """Notes do not compare versions, but their chain links must still never collide."""
    app, case_ids, _worker_ids, clients = race
    case_id = case_ids[0]

    def note(i, client):
        codes = []
        for n in range(3):
            codes.append(
                client.post(
                    f"/staff/cases/{case_id}/messages", data={"kind": "note", "body": f"note {i}-{n}"}
                ).status_code
            )
        return codes

    assert all(code == 302 for codes in run_together(clients, note) for code in codes)
    with app.app_context():
        seqs = db.session.scalars(select(Event.seq).where(Event.chain_id == case_id).order_by(Event.seq)).all()
        assert seqs == list(range(1, 3 + WORKERS * 3))
        assert audit.verify_chain(db.session, case_id) is None
