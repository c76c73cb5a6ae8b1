"""The operator's commands: init-db, seed-demo, routing list/test, cases show."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from cases import replies, seed
from cases.models import (
    Case,
    CaseInstitution,
    CategorySetting,
    Event,
    Institution,
    PartnerBody,
    Queue,
    ReplyTemplate,
    RoutingRule,
    User,
)
from storage import db
from tests.helpers import BASE_CONFIG, PG_URL, count
from wsgi import create_app


def invoke(runner, *args: str):
    # The command shares this test's app context: end the test's transaction first, as
    # a separate `flask` process would find it (on SQLite it would hold the write lock).
    db.session.remove()
    result = runner.invoke(args=list(args))
    db.session.remove()
    return result


def test_routing_list_prints_the_rules_in_order(app, runner):
    result = invoke(runner, "routing", "list")
    assert result.exit_code == 0, result.output
    names = [r.name for r in seed.RULES]
    positions = [result.output.index(name) for name in names]
    assert positions == sorted(positions)
    assert "when immediate_danger=True → urgent, priority urgent" in result.output
    assert "when category=torture and in_custody=yes → torture-prevention, priority high" in result.output
    assert result.output.rstrip().endswith("when any report → general, priority normal")


def test_routing_list_marks_inactive_rules(app, runner):
    db.session.scalar(select(RoutingRule).where(RoutingRule.name == "life → policing")).active = False
    db.session.commit()
    assert "policing, priority high  (inactive)" in invoke(runner, "routing", "list").output


class RoutingTest(NamedTuple):
    """Options of ``routing test``, and the queue, priority and rule it must print."""

    id: str
    args: tuple[str, ...]
    queue: str
    priority: str
    rule: str


ROUTING_TESTS = [
    RoutingTest(
        "torture in custody",
        ("--category", "torture", "--in-custody", "yes"),
        "torture-prevention",
        "high",
        "Torture of someone in custody → torture prevention",
    ),
    RoutingTest(
        "danger beats custody",
        ("--category", "torture", "--in-custody", "yes", "--immediate-danger", "yes"),
        "urgent",
        "urgent",
        "Immediate danger → urgent response",
    ),
    RoutingTest(
        "cyberbullying of a child",
        ("--category", "cyberbullying", "--child", "yes"),
        "children",
        "high",
        "Cyberbullying of a child → children's rights",
    ),
    RoutingTest("cyberbullying", ("--category", "cyberbullying"), "online", "normal", "cyberbullying → online"),
    RoutingTest(
        "other, by region", ("--category", "other", "--region", "shymkent"), "general", "normal", "other → general"
    ),
]


@pytest.mark.parametrize("case", ROUTING_TESTS, ids=lambda c: c.id)
def test_routing_test_prints_rule_queue_and_priority(app, runner, case):
    result = invoke(runner, "routing", "test", *case.args)
    assert result.exit_code == 0, result.output
    assert f"queue: {case.queue} (" in result.output
    assert f"priority: {case.priority}" in result.output
    assert case.rule in result.output


def test_routing_test_refuses_an_unknown_category(app, runner):
    result = invoke(runner, "routing", "test", "--category", "politics")
    assert result.exit_code != 0 and "politics" in result.output


def test_cases_show_prints_queue_priority_due_date_and_intact_history(app, runner, make_case):
    filed = make_case(category="torture", in_custody="yes", narrative="A secret narrative nobody should print.")
    case = filed.case
    result = invoke(runner, "cases", "show", case.reference.lower())
    out = result.output
    assert result.exit_code == 0, out
    assert case.reference in out
    assert "queue: torture-prevention (Torture prevention unit)" in out
    assert "rule: Torture of someone in custody → torture prevention" in out
    assert "priority: high" in out and f"due: {case.due_at.isoformat()}" in out
    assert "  1 " in out and "public: created" in out
    assert "  2 " in out and "system: routed" in out
    assert out.rstrip().endswith("history intact")
    assert "A secret narrative" not in out and filed.receipt not in out
    assert "A secret narrative" in invoke(runner, "cases", "show", case.reference, "--content").output


def test_cases_show_unknown_reference_fails(app, runner):
    result = invoke(runner, "cases", "show", "SHG-2026-999999")
    assert result.exit_code != 0 and "No case SHG-2026-999999" in result.output


def test_seed_demo_fills_a_fresh_database_once(app, runner):
    result = invoke(runner, "seed-demo")
    assert result.exit_code == 0, result.output
    users, cases, events = count(User), count(Case), count(Event)
    assert users >= 3 and cases >= 10
    templates, partners = count(ReplyTemplate), count(PartnerBody)
    # created and routed per case; user_created per account; template_created per reply template;
    # partner_created per partner body; institution_created per institution, institution_linked per link
    institutions, links = count(Institution), count(CaseInstitution)
    assert institutions == len(seed.DEMO_INSTITUTIONS) and links == 2 * (2 + 1 + 1)
    assert events == 2 * cases + users + templates + partners + institutions + links
    assert all(i.name.startswith("[ДЕМО]") for i in db.session.scalars(select(Institution)))
    bodies = db.session.scalars(select(PartnerBody)).all()
    assert len(bodies) >= 3 and all("(fictional)" in b.name_en and "demo" in b.contact for b in bodies)
    assert all(any(w in b.name_ru for w in ("вымышлен",)) and "ойдан" in b.name_kk for b in bodies)
    rows = db.session.scalars(select(ReplyTemplate)).all()
    assert {t.language for t in rows} == {"kk", "ru", "en"} and all(t.active for t in rows)
    assert all(not replies.unknown_placeholders(t.body) and "{reference}" in t.body for t in rows)
    assert {c.language for c in db.session.scalars(select(Case))} == {"kk", "ru", "en"}
    narratives = [c.narrative for c in db.session.scalars(select(Case))]
    assert all(n.startswith("[DEMO") for n in narratives)
    assert {c.category for c in db.session.scalars(select(Case))} == {c.slug for c in seed.CATEGORIES}
    assert {u.role for u in db.session.scalars(select(User))} == {"caseworker", "supervisor", "admin"}
    logins = Path(app.instance_path) / "demo-logins.txt"
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    assert "supervisor@demo.shagym.test" in logins.read_text() and "supervisor@demo.shagym.test" in result.output
    passwords = [line.split()[1] for line in logins.read_text().splitlines()[1:]]
    assert len(passwords) == users and all(p.startswith("demo-") for p in passwords)
    assert not any(p in result.output for p in passwords), "a demo password was printed"
    assert "demo-logins.txt" in result.output

    again = invoke(runner, "seed-demo")
    assert again.exit_code != 0
    assert "only runs on a database it has just created" in again.output
    assert (count(User), count(Case), count(Event)) == (users, cases, events)


def test_seed_demo_refuses_a_database_with_real_cases(app, runner, make_case):
    make_case()
    result = invoke(runner, "seed-demo")
    assert result.exit_code != 0
    assert count(User) == 0 and count(Case) == 1


def test_init_db_is_idempotent(app, runner):
    counts = (count(RoutingRule), count(Queue), count(CategorySetting))
    for _ in range(2):
        result = invoke(runner, "init-db")
        assert result.exit_code == 0, result.output
        assert "Nothing to add." in result.output
        assert (count(RoutingRule), count(Queue), count(CategorySetting)) == counts
    assert counts == (len(seed.RULES), len(seed.QUEUES), len(seed.CATEGORIES))


def test_init_db_keeps_what_an_administrator_changed(app, runner):
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.name == "women → women"))
    rule.active = False
    db.session.delete(db.session.scalar(select(RoutingRule).where(RoutingRule.name == "life → policing")))
    db.session.commit()
    assert invoke(runner, "init-db").exit_code == 0
    assert count(RoutingRule) == len(seed.RULES) - 1
    assert db.session.scalar(select(RoutingRule.active).where(RoutingRule.name == "women → women")) is False


def test_init_db_with_demo_if_new_adds_no_demo_data_to_an_existing_database(app, runner):
    result = invoke(runner, "init-db", "--demo-if-new")
    assert result.exit_code == 0, result.output
    assert "no demo data added" in result.output
    assert count(User) == 0 and count(Case) == 0


@pytest.mark.skipif(bool(PG_URL), reason="needs a database of its own; SQLite makes one")
def test_init_db_on_a_fresh_instance_creates_schema_seeds_and_demo(tmp_path):
    instance = tmp_path / "fresh"
    app = create_app(
        {
            **BASE_CONFIG,
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'shagym.sqlite3'}",
        }
    )
    with app.app_context():
        try:
            result = invoke(app.test_cli_runner(), "init-db", "--demo-if-new")
            assert result.exit_code == 0, result.output
            assert count(RoutingRule) == len(seed.RULES) and count(Case) == 2 * len(seed.CATEGORIES)
            assert all(c.narrative.startswith("[DEMO") for c in db.session.scalars(select(Case)))
            users = count(User)
            again = invoke(app.test_cli_runner(), "init-db", "--demo-if-new")
            assert again.exit_code == 0 and "Nothing to add." in again.output
            assert count(Case) == 2 * len(seed.CATEGORIES) and count(User) == users
        finally:
            db.session.remove()
            db.engine.dispose()


# --- a database that is not there ---------------------------------------------------------------------------------

COMMANDS_NEEDING_A_DATABASE = [
    ("audit", "verify"),
    ("audit", "checkpoint"),
    ("routing", "list"),
    ("routing", "test", "--category", "torture"),
    ("users", "list"),
    ("cases", "show", "SHG-2026-000001"),
    ("keys", "rotate"),
    ("retention", "run"),
    ("seed-demo",),
    ("create-user", "x@example.org", "--name", "X", "--role", "admin"),
]


@pytest.mark.parametrize("args", COMMANDS_NEEDING_A_DATABASE, ids=lambda a: " ".join(a[:2]))
def test_commands_refuse_a_missing_database_in_one_line_and_create_no_file(tmp_path, args):
    database = tmp_path / "elsewhere" / "shagym.sqlite3"
    database.parent.mkdir()
    app = create_app(
        {**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path / "inst"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    )
    with app.app_context():  # as `flask` gives every command
        result = app.test_cli_runner().invoke(args=list(args), env={"SHAGYM_PASSWORD": "a sturdy long passphrase"})
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert str(database) in lines[0] and "DATABASE_URL" in lines[0] and "init-db" in lines[0]
    assert list(database.parent.iterdir()) == []  # no empty database, journal or lock file


def test_commands_refuse_an_uninitialised_database(tmp_path):
    database = tmp_path / "empty.sqlite3"
    database.touch()
    app = create_app(
        {**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path / "inst"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "no initialised Shagym database" in result.output
    assert "no such table" not in result.output


def test_init_db_still_creates_the_database(tmp_path):
    database = tmp_path / "new.sqlite3"
    app = create_app(
        {**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path / "inst"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert database.exists()
        assert app.test_cli_runner().invoke(args=["routing", "list"]).exit_code == 0
        db.session.remove()
        db.engine.dispose()
