"""Upgrading a database that holds data: build the schema of the first released revision (0001),
fill every one of its tables with raw inserts in that revision's own columns (sealed values
sealed as that version sealed them, audit events in plain SHA-256 chains covered by a signed
checkpoint, the witness's heads), then ``flask db upgrade`` to head and check that every row is
still there, opens and means the same, that a case worker can work the old case, and that
``audit verify`` passes.

It names no revision but the first: every migration added later runs over the same data, so
one that breaks old rows fails here. On SQLite, or on ``<test database>_upgrade`` beside the
PostgreSQL test database (made and dropped here).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import column, create_engine, func, insert, select, table, text
from sqlalchemy.engine import make_url

from cases import accounts, audit
from cases.models import Case, Evidence, Message, User
from storage import db
from storage.types import UTCDateTime, sealed_fields
from tests.helpers import BASE_CONFIG, PASSWORD, PG_URL, pg_url, sign_in
from wsgi import create_app

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NARRATIVE = "[TEST — fictional] Officers at the station held my brother overnight without a lawyer."
REPLY = "[TEST — fictional] We have asked the prosecutor's office for the detention record."
FILE = b"%PDF-1.4\n% fictional scan for the upgrade test\n"
# The tables of revision 0001 (migrations/versions/0001_initial_schema.py), each filled below.
TABLES_0001 = (
    "categories",
    "checkpoints",
    "queues",
    "users",
    "queue_memberships",
    "recovery_codes",
    "routing_rules",
    "staff_sessions",
    "cases",
    "events",
    "evidence",
    "messages",
)


@pytest.fixture
def old_app(tmp_path):
    """An app on an empty database of its own (as a server of the first release would have)."""
    admin = None
    if PG_URL:
        url = make_url(pg_url())
        name = f"{url.database}_upgrade"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        database = url.set(database=name).render_as_string(hide_password=False)
    else:
        database = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path / "instance"), "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def put(_table: str, /, **values) -> None:
    """One raw INSERT into ``_table`` with exactly these columns (times as every version stored them)."""
    cols = [column(k, UTCDateTime()) if isinstance(v, datetime) else column(k) for k, v in values.items()]
    db.session.execute(insert(table(_table, *cols)).values(**values))


def seal(model, field: str, value, owner: int) -> bytes:
    return sealed_fields(model)[field].seal(value, owner)


class Chains:
    """Audit events as revision 0001 wrote them: no key id, plain SHA-256 links."""

    def __init__(self) -> None:
        self.next_id, self.heads, self.hashes = 1, {}, []

    def add(
        self,
        chain: int,
        at: datetime,
        actor_type: str,
        action: str,
        actor: int | None = None,
        old: str | None = None,
        new: str | None = None,
        details: dict | None = None,
    ) -> None:
        seq, prev = self.heads.get(chain, (0, audit.GENESIS))
        event = SimpleNamespace(
            id=self.next_id,
            chain_id=chain,
            case_id=chain or None,
            seq=seq + 1,
            created_at=at,
            actor_type=actor_type,
            actor_id=actor,
            action=action,
            old_value=old,
            new_value=new,
            reason=None,
            details=None if details is None else json.dumps(details, separators=(",", ":"), sort_keys=True),
            key_id=None,
        )
        event.prev_hash, event.hash = prev, audit.compute_hash(prev, audit.event_fields(event))
        put("events", **{k: v for k, v in vars(event).items() if k != "key_id"})
        self.heads[chain] = (event.seq, event.hash)
        self.hashes.append(event.hash)
        self.next_id += 1


def fill_revision_0001(app) -> dict:
    """Every table of 0001, through its own columns. Returns what the checks compare with."""
    put(
        "categories",
        slug="torture",
        position=1,
        first_response_hours=24,
        first_response_working_days=0,
        retention_days=None,
    )
    put(
        "categories",
        slug="other",
        position=2,
        first_response_hours=None,
        first_response_working_days=3,
        retention_days=400,
    )
    put("queues", id=1, slug="torture-prevention", name="Torture prevention unit", description="", active=True)
    put("queues", id=2, slug="general", name="General intake", description="Everything else", active=True)
    put(
        "routing_rules",
        id=1,
        position=1,
        name="torture → torture-prevention",
        category="torture",
        immediate_danger=None,
        child_affected=None,
        in_custody=None,
        region=None,
        queue_id=1,
        priority=1,
        active=True,
    )
    put(
        "routing_rules",
        id=2,
        position=2,
        name="fallback → general",
        category=None,
        immediate_danger=None,
        child_affected=None,
        in_custody=None,
        region=None,
        queue_id=2,
        priority=2,
        active=True,
    )
    hashed = accounts._hasher.hash(PASSWORD)
    put(
        "users",
        id=1,
        email="worker@upgrade.shagym.test",
        name="Upgrade Worker",
        role="caseworker",
        password_hash=hashed,
        active=True,
        created_at=T0,
        password_changed_at=T0,
        totp_secret=None,
        totp_enabled=False,
        totp_last_step=None,
    )
    put(
        "users",
        id=2,
        email="supervisor@upgrade.shagym.test",
        name="Upgrade Supervisor",
        role="supervisor",
        password_hash=hashed,
        active=True,
        created_at=T0,
        password_changed_at=T0,
        totp_secret=seal(User, "totp_secret", "JBSWY3DPEHPK3PXP", 2),
        totp_enabled=True,
        totp_last_step=None,
    )
    put("queue_memberships", user_id=1, queue_id=1)
    put("recovery_codes", id=1, user_id=2, code_hash=hashed, used_at=None)
    put(
        "staff_sessions",
        id="0" * 64,
        user_id=1,
        created_at=T0,
        last_seen_at=T0,
        second_factor_done=True,
        reauthenticated_at=None,
    )
    common = dict(
        ongoing=False,
        immediate_danger=False,
        child_affected="no",
        in_custody="yes",
        reporter_role="relative",
        submission_hash=None,
        paused_at=None,
        paused_seconds=0,
        finished_at=None,
        reporter_news=False,
        legal_hold=False,
        content_destroyed_at=None,
        occurred_on=None,
        contact_phone=None,
    )
    put(
        "cases",
        id=1,
        reference="SHG-2026-000001",
        created_at=T0,
        updated_at=T0 + timedelta(hours=2),
        category="torture",
        region="almaty",
        place_description=seal(Case, "place_description", "Station 3", 1),
        narrative=seal(Case, "narrative", NARRATIVE, 1),
        contact_email=seal(Case, "contact_email", "brother@upgrade.shagym.test", 1),
        receipt_hash=b"\x01" * 32,
        queue_id=1,
        routing_rule_id=1,
        routing_rule_name="torture → torture-prevention",
        priority=1,
        status="investigating",
        is_open=True,
        assignee_id=1,
        due_at=T0 + timedelta(hours=24),
        version=3,
        public_updated_at=T0 + timedelta(hours=2),
        **common,
    )
    put(
        "cases",
        id=2,
        reference="SHG-2026-000002",
        created_at=T0 + timedelta(hours=1),
        updated_at=T0 + timedelta(hours=1),
        category="other",
        region="astana",
        place_description=None,
        narrative=seal(Case, "narrative", "[TEST — fictional] A second, untouched report.", 2),
        contact_email=None,
        receipt_hash=b"\x02" * 32,
        queue_id=2,
        routing_rule_id=2,
        routing_rule_name="fallback → general",
        priority=2,
        status="new",
        is_open=True,
        assignee_id=None,
        due_at=T0 + timedelta(days=5),
        version=1,
        public_updated_at=T0 + timedelta(hours=1),
        **common,
    )
    put(
        "evidence",
        id=1,
        case_id=1,
        created_at=T0,
        filename=seal(Evidence, "filename", "scan.pdf", 1),
        kind="pdf",
        size=len(FILE),
        sha256="0" * 64,
        has_gps=False,
        content=seal(Evidence, "content", FILE, 1),
    )
    put(
        "messages",
        id=1,
        case_id=1,
        kind="to_reporter",
        author_id=1,
        body=seal(Message, "body", REPLY, 1),
        created_at=T0 + timedelta(hours=2),
    )

    chains = Chains()
    for case_id, at, queue, priority in (
        (1, T0, "torture-prevention", "high"),
        (2, T0 + timedelta(hours=1), "general", "normal"),
    ):
        chains.add(case_id, at, "public", "created", new=f"SHG-2026-00000{case_id}")
        chains.add(case_id, at, "system", "routed", new=queue, details={"priority": priority})
    chains.add(1, T0 + timedelta(hours=1), "staff", "assigned", actor=1, new="1")
    chains.add(1, T0 + timedelta(hours=1), "staff", "status", actor=1, old="new", new="investigating")
    chains.add(1, T0 + timedelta(hours=2), "staff", "message_sent", actor=1, new="1")
    chains.add(0, T0 + timedelta(hours=3), "staff", "user_created", actor=2, new="1")

    merkle = audit.MerkleAccumulator()
    for h in chains.hashes:
        merkle.add(bytes.fromhex(h))
    key = app.extensions["shagym_signing_key"]
    root, last, size = merkle.root().hex(), chains.next_id - 1, merkle.size
    signature = key.sign(audit._signed_message(size, last, root)).hex()
    put(
        "checkpoints",
        id=1,
        created_at=T0 + timedelta(hours=4),
        last_event_id=last,
        tree_size=size,
        root_hash=root,
        key_id=audit.key_id(key.public_key()),
        signature=signature,
    )
    if db.engine.dialect.name == "postgresql":  # the rows came with their ids: move the sequences past them
        for name in (
            "queues",
            "users",
            "recovery_codes",
            "routing_rules",
            "cases",
            "events",
            "evidence",
            "messages",
            "checkpoints",
        ):
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
    db.session.commit()
    # The first release's server witnessed what it committed, as this one does.
    witness = app.extensions["shagym_witness"]
    witness.record_heads(chains.heads)
    witness.record_checkpoint(last, size, root, signature)
    return {"events": last}


def test_a_database_of_the_first_revision_with_data_upgrades_to_head(old_app):
    directory = old_app.extensions["migrate"].directory
    upgrade(directory=directory, revision="0001")
    expected = fill_revision_0001(old_app)
    counts = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES_0001}  # noqa: S608
    assert all(counts.values()), counts  # every table of 0001 holds data
    db.session.remove()

    result = old_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    script_heads = set(ScriptDirectory.from_config(old_app.extensions["migrate"].migrate.get_config()).get_heads())
    assert set(db.session.scalars(text("SELECT version_num FROM alembic_version"))) == script_heads
    assert {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES_0001} == counts  # noqa: S608

    case = db.session.get(Case, 1)
    assert case.narrative == NARRATIVE and case.place_description == "Station 3"
    assert case.contact_email == "brother@upgrade.shagym.test"
    assert case.channel == "web"  # 0003's default for the cases before channels
    assert case.first_response_at == T0 + timedelta(hours=2)  # 0010's backfill from the message
    assert db.session.get(Message, 1).body == REPLY
    assert db.session.get(Evidence, 1).content == FILE
    assert db.session.get(User, 2).totp_secret == "JBSWY3DPEHPK3PXP"
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.is_open.is_(True))) == 2

    verify = old_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert f"{expected['events']} events in 3 chains, 1 checkpoints" in verify.output
    assert "History intact." in verify.output

    # The old case is worked as any other: its page opens (and the view is a keyed event).
    client = old_app.test_client()
    worker = db.session.get(User, 1)
    assert sign_in(client, worker, PASSWORD).status_code == 302
    page = client.get("/staff/cases/1")
    assert page.status_code == 200 and "held my brother overnight" in page.get_data(as_text=True)
    db.session.remove()
    again = old_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert again.exit_code == 0 and "History intact." in again.output, again.output
