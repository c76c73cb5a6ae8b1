"""Backups that restore: the drill (backup under write load, restore elsewhere, compare, verify),
the refusals of backup and restore, and keys export/import.

Runs on the suite's database: SQLite, or PostgreSQL with ``TEST_DATABASE_URL`` (the restore
then goes into a second database on the same server, ``<name>_restore``, made and dropped here).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, make_url, select, text

from cases import commands
from cases.models import Case, Event, Queue, RecoveryCode
from storage import backup, db
from tests.helpers import BASE_CONFIG, PASSWORD, PG_URL, count, file_with_evidence, pg_url, report
from tests.samples import ACCEPTED
from wsgi import create_app

PASSPHRASE = "a long passphrase for the drill"
LOAD_LIMIT = 200  # reports the write load files at most


def invoke(app, *args: str):
    """``flask --app wsgi …`` against ``app``, as its own process would see the database.
    (A command runs in the app context it finds: the test's app's, unless ``app``'s is pushed.)"""
    db.session.remove()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


# --- where a restore goes -------------------------------------------------------------


@pytest.fixture
def elsewhere(tmp_path):
    """``elsewhere()`` -> a new app on an empty database and its own instance folder, as a new
    server would start it (each call is another process: it reads the instance's files again)."""
    instance = tmp_path / "restored"
    instance.mkdir()
    if PG_URL:
        url = make_url(pg_url())
        restore_url = url.set(database=f"{url.database}_restore").render_as_string(hide_password=False)
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}_restore" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}_restore"'))
    else:
        restore_url = f"sqlite:///{instance / 'shagym.sqlite3'}"
    apps = []

    def factory():
        app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": restore_url})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}_restore" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def passphrase_file(tmp_path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return path


def fill_every_table(app, make_user) -> None:
    """At least one row in every table, each through the command that writes it where there is one."""
    key = app.extensions["shagym_receipt_key"]
    filed = file_with_evidence(app, "photo.png", ACCEPTED["photo.png"]())  # cases, evidence, search terms
    other = commands.file_report(
        report(category="women", narrative="Another report with its own words.", contact_email="fictional@example.org"),
        key,
    )
    worker = make_user("caseworker", ["general"])
    admin = make_user("admin")
    supervisor = make_user("supervisor")
    commands.claim(filed.case.id, worker)
    commands.add_note(filed.case.id, worker, "An internal note.")  # messages
    commands.send_message(filed.case.id, worker, "A message to the reporter.")
    app.config["MAIL_SERVER"] = "127.0.0.1"  # the notice waits in the outbox: no worker runs here
    commands.send_message(other.case.id, supervisor, "A message to a reporter who left an address.")  # outbox
    app.config["MAIL_SERVER"] = None
    commands.sign_in(worker, PASSWORD, True)  # staff sessions
    commands.start_tracking(filed.case.id)  # tracking sessions
    commands.set_memberships(worker, ["general", "children"], admin)  # access requests
    commands.save_view(supervisor, db.session.scalar(select(Queue).where(Queue.slug == "general")), "Mine", "order=due")
    tag = commands.create_tag("land", {"kk": "Жер", "ru": "Земля", "en": "Land"}, by=supervisor)  # tags
    commands.add_tag(filed.case.id, supervisor, tag.id)  # case tags
    commands.link_cases(filed.case.id, supervisor, other.case.reference, "related")  # case links
    commands.create_template("Thanks", "en", "We received {reference}.", supervisor)  # reply templates
    ivs = commands.create_institution("ИВС", {}, "ivs", "astana", by=admin)  # institutions, institution terms
    commands.link_institution(filed.case.id, supervisor, ivs.id)  # case institutions
    body = commands.create_partner(  # partner bodies
        commands.PartnerValues(
            {"kk": "Демо орган", "ru": "Демо орган", "en": "Demo body (fictional)"}, "ngo", None, "Demo street", [], 5
        ),
        by=admin,
    )
    draft = commands.Draft(body.id, "deidentified", ["narrative_redacted"], "en", False, "", "Redacted [N].")
    commands.prepare_referral(filed.case.id, worker, draft)  # referrals
    db.session.add(RecoveryCode(user_id=supervisor.id, code_hash="set-up row"))  # test set-up, as make_user does
    db.session.commit()
    commands.write_checkpoint()  # checkpoints
    # Dashboard roll-ups (days, counts, time histograms, blocks of 16 days): today's cases, seen from 40 days on.
    commands.run_rollups(ZoneInfo(app.config["OFFICE_TIMEZONE"]), datetime.now(UTC) + timedelta(days=40))


def test_fill_every_table_leaves_none_empty(app, make_user):
    fill_every_table(app, make_user)
    db.session.remove()
    facts = backup.facts_of(db.engine)
    assert [t for t, n in facts["row_counts"].items() if n == 0] == []


# --- the drill ------------------------------------------------------------------------


class WriteLoad:
    """A thread filing reports through the command layer until stopped (at most LOAD_LIMIT)."""

    def __init__(self, app) -> None:
        self.app = app
        self.filed: list[int] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.more = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.app.app_context():
            try:
                while not self.stop.is_set() and len(self.filed) < LOAD_LIMIT:
                    filed = commands.file_report(report(), self.app.extensions["shagym_receipt_key"])
                    with self.more:
                        self.filed.append(filed.case.id)
                        self.more.notify_all()
                    time.sleep(0.002)  # pacing, so the backup's own commands get the writer lock too
            except BaseException as exc:  # reported by the test, never swallowed
                self.errors.append(exc)
            finally:
                db.session.remove()
                with self.more:
                    self.more.notify_all()

    def wait_for(self, n: int) -> None:
        with self.more:
            self.more.wait_for(lambda: len(self.filed) >= n or not self.thread.is_alive(), timeout=30)

    def __enter__(self) -> WriteLoad:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def test_restore_drill_under_write_load(app, make_user, elsewhere, tmp_path, passphrase_file):
    fill_every_table(app, make_user)
    before = count(Case)
    db.session.remove()  # this test's transaction would hold SQLite's writer lock against the load
    target = tmp_path / "backup"
    with WriteLoad(app) as load:
        load.wait_for(3)  # the load is running when the backup starts
        created = invoke(app, "backup", "create", str(target))
        at_end = len(load.filed)
        load.wait_for(at_end + 3)  # and goes on after it: the live database moves past the backup
    assert not load.errors, load.errors
    assert created.exit_code == 0, created.output
    assert "signed audit head" in created.output
    exported = invoke(app, "keys", "export", str(tmp_path / "keys.json"), "--passphrase-file", str(passphrase_file))
    assert exported.exit_code == 0, exported.output

    manifest = backup.read_manifest(target)
    assert [t for t, n in manifest.row_counts.items() if n == 0] == []
    assert before + 3 <= manifest.row_counts["cases"] < count(Case)
    assert manifest.checkpoint is not None
    assert "keys" not in {p.name for p in target.iterdir()}
    files = {p.name for p in target.iterdir()}
    assert files == {"manifest.json", "audit_witness.sqlite3", backup.SQLITE_FILE if not PG_URL else backup.PG_FILE}

    imported = invoke(
        elsewhere(), "keys", "import", str(tmp_path / "keys.json"), "--passphrase-file", str(passphrase_file)
    )
    assert imported.exit_code == 0, imported.output
    restored_app = elsewhere()
    restored = invoke(restored_app, "backup", "restore", str(target))
    assert restored.exit_code == 0, restored.output
    assert "they match the manifest" in restored.output

    with restored_app.app_context():
        facts = backup.facts_of(db.engine)
        # The restore's own event is the one row more than the backup.
        assert facts["row_counts"] == {**manifest.row_counts, "events": manifest.row_counts["events"] + 1}
        assert db.session.scalar(select(Event.action).order_by(Event.id.desc()).limit(1)) == "restored"
        first = db.session.get(Case, 1)
        assert first.narrative == "Something happened that violates rights, described in detail."
        db.session.remove()
    verified = invoke(restored_app, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "History intact." in verified.output


def test_restore_refuses_a_database_that_holds_anything(app, make_case, tmp_path):
    make_case()
    assert invoke(app, "backup", "create", str(tmp_path / "backup")).exit_code == 0
    cases = count(Case)
    result = invoke(app, "backup", "restore", str(tmp_path / "backup"))
    assert result.exit_code != 0
    assert "is not empty: restore only into a new" in result.output
    assert count(Case) == cases


def test_a_damaged_backup_is_refused_before_anything_is_written(app, make_case, elsewhere, tmp_path):
    make_case()
    target = tmp_path / "backup"
    assert invoke(app, "backup", "create", str(target)).exit_code == 0
    dump = target / (backup.PG_FILE if PG_URL else backup.SQLITE_FILE)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    restored_app = elsewhere()
    result = invoke(restored_app, "backup", "restore", str(target))
    assert result.exit_code != 0
    assert "does not match its SHA-256 in the manifest: the backup is damaged" in result.output
    with restored_app.app_context():
        assert backup.facts_of(db.engine)["row_counts"] == {}
        db.engine.dispose()


def test_backup_refuses_a_directory_that_is_not_empty_and_records_nothing(app, make_case, tmp_path):
    make_case()
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "old.txt").write_text("something")
    events = count(Event)
    result = invoke(app, "backup", "create", str(tmp_path / "backup"))
    assert result.exit_code != 0
    assert "is not an empty directory" in result.output
    assert count(Event) == events


def test_backup_created_event_is_in_the_backup(app, make_case, tmp_path):
    make_case()
    assert invoke(app, "backup", "create", str(tmp_path / "backup")).exit_code == 0
    newest = backup.read_manifest(tmp_path / "backup").data["audit"]["newest_event"]
    row = db.session.get(Event, newest["id"])
    assert (row.chain_id, row.action, row.new_value) == (0, "backup_created", db.engine.dialect.name)


# --- keys export and import ----------------------------------------------------------------


def test_keys_round_trip_into_a_new_instance(app, elsewhere, tmp_path, passphrase_file):
    path = tmp_path / "keys.json"
    assert invoke(app, "keys", "export", str(path), "--passphrase-file", str(passphrase_file)).exit_code == 0
    raw = path.read_bytes()
    for key in app.extensions["shagym_keyring"].keys.values():
        assert key.hex().encode() not in raw
    assert app.config["SECRET_KEY"].encode() not in raw
    result = invoke(elsewhere(), "keys", "import", str(path), "--passphrase-file", str(passphrase_file))
    assert result.exit_code == 0, result.output
    new = elsewhere()  # a new process reads what was written
    for name in ("shagym_keyring", "shagym_audit_keys", "shagym_search_keys"):
        assert new.extensions[name].keys == app.extensions[name].keys
        assert new.extensions[name].current_id == app.extensions[name].current_id
    assert new.extensions["shagym_receipt_key"] == app.extensions["shagym_receipt_key"]
    signing = [a.extensions["shagym_signing_key"].public_key().public_bytes_raw() for a in (new, app)]
    assert signing[0] == signing[1]
    assert (Path(new.instance_path) / "secret_key").read_text() == app.config["SECRET_KEY"]
    assert oct((Path(new.instance_path) / "keys" / "current").stat().st_mode & 0o777) == "0o600"


def test_a_wrong_passphrase_writes_nothing(app, elsewhere, tmp_path, passphrase_file):
    path = tmp_path / "keys.json"
    assert invoke(app, "keys", "export", str(path), "--passphrase-file", str(passphrase_file)).exit_code == 0
    target = elsewhere()
    before = sorted(p.relative_to(target.instance_path) for p in Path(target.instance_path).rglob("*"))
    contents = {p: p.read_bytes() for p in Path(target.instance_path).rglob("*") if p.is_file()}
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    result = invoke(target, "keys", "import", str(path), "--passphrase-file", str(wrong))
    assert result.exit_code != 0
    assert "wrong passphrase, or the key file was altered: nothing was written" in result.output
    assert sorted(p.relative_to(target.instance_path) for p in Path(target.instance_path).rglob("*")) == before
    assert {p: p.read_bytes() for p in contents} == contents


def test_import_never_replaces_keys_that_sealed_data(app, make_case, make_app, tmp_path, passphrase_file):
    """Keys of another installation, imported over this one's while it holds events: refused."""
    make_case()
    other = create_app(
        {**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path / "other"), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    path = tmp_path / "other-keys.json"
    assert invoke(other, "keys", "export", str(path), "--passphrase-file", str(passphrase_file)).exit_code == 0
    keys_dir = Path(app.instance_path) / "keys"
    before = {p.name: p.read_bytes() for p in keys_dir.iterdir()}
    result = invoke(app, "keys", "import", str(path), "--passphrase-file", str(passphrase_file))
    assert result.exit_code != 0
    assert "these files hold other keys: " in result.output and "keys/current" in result.output
    assert {p.name: p.read_bytes() for p in keys_dir.iterdir()} == before


def test_export_refuses_a_short_passphrase_and_an_existing_file(app, tmp_path):
    short = tmp_path / "short"
    short.write_text("short\n")
    result = invoke(app, "keys", "export", str(tmp_path / "k.json"), "--passphrase-file", str(short))
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    assert not (tmp_path / "k.json").exists()
    (tmp_path / "k.json").write_text("keep me")
    good = tmp_path / "good"
    good.write_text(PASSPHRASE)
    result = invoke(app, "keys", "export", str(tmp_path / "k.json"), "--passphrase-file", str(good))
    assert result.exit_code != 0 and "exists: give a new path" in result.output
    assert (tmp_path / "k.json").read_text() == "keep me"


def test_keys_export_prompts_for_the_passphrase_twice(app, tmp_path):
    path = tmp_path / "keys.json"
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["keys", "export", str(path)], input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    assert path.exists()
