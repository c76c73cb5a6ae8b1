"""Encryption at rest: what someone who steals a database file or a backup can read.

Narrative, place, contact details, notes, messages, evidence names and
contents and TOTP secrets are AES-GCM ciphertext carrying their key id; the
key lives outside the database (``instance/keys/`` at mode 0600 or
``SHAGYM_DATA_KEYS``); ``keys rotate`` re-encrypts everything under a new key
while running workers keep reading.
"""

from __future__ import annotations

import base64
import io
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import LargeBinary, select, text, type_coerce

from cases import audit, commands
from cases.models import ENCRYPTED_COLUMNS, Case, Event, Evidence, Message, OutboxMail, PartnerBody, Referral, User
from storage import crypto, db
from storage.types import unreadable
from tests.helpers import found_in_database, receipt_of, report, report_form

NARRATIVE = "Kairat was beaten in cell 4 of the Zhezkazgan detention centre on the night of 3 March."
PLACE = "Temporary detention facility, Abay street 17, Zhezkazgan"
EMAIL = "aigerim.witness@example.org"
PHONE = "+7 701 234 5678"
PHONE_E164 = "+77012345678"
NOTE = "Internal note: the brother Daniyar confirmed the bruises by phone."
TO_REPORTER = "Message to reporter: we spoke to the prosecutor in Karaganda."
REPLY = "Reporter reply: the guard's name is Serik Abenov."
REDACTED = "Letter copy: the guard [name removed] beat the prisoner Kairat-LETTER-7f3."
ANSWER = "Answer summary: inspection of colony ANSWER-MARKER-c91 ordered."
FILENAME = "medical-certificate-Kairat-Abenov.pdf"
FILE_CONTENT = b"%PDF-1.4\n% forensic report for Kairat EVIDENCE-MARKER-5b1d9e\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

FORM = report_form(
    category="torture",
    narrative=NARRATIVE,
    region="ulytau",
    place_description=PLACE,
    in_custody="yes",
    reporter_role="relative",
    contact="contact",
    email=EMAIL,
    phone=PHONE,
)


# --- scanning what a thief would get -----------------------------------------------------------


def _needles(receipt: str) -> dict[str, bytes]:
    return {
        "narrative": NARRATIVE.encode(),
        "narrative fragment": b"Zhezkazgan detention",
        "place": PLACE.encode(),
        "email": EMAIL.encode(),
        "phone as typed": PHONE.encode(),
        "phone normalised": PHONE_E164.encode(),
        "note": NOTE.encode(),
        "message": TO_REPORTER.encode(),
        "reply": REPLY.encode(),
        "letter narrative": REDACTED.encode(),
        "answer summary": ANSWER.encode(),
        "filename": FILENAME.encode(),
        "file content": FILE_CONTENT,
        "file marker": b"EVIDENCE-MARKER-5b1d9e",
        "receipt": receipt.encode(),
        "receipt without dashes": receipt.replace("-", "").encode(),
    }


def _file_everything(app, client, login_as) -> tuple[Case, str]:
    """A report with contact details and a file, a note, a message and a reply — all through the pages."""
    data = {**FORM, "evidence": [(io.BytesIO(FILE_CONTENT), FILENAME)]}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    receipt = receipt_of(response.get_data(as_text=True))
    case = db.session.scalar(select(Case))
    queue = case.queue.slug
    staff, _user = login_as("caseworker", [queue])
    assert staff.post(f"/staff/cases/{case.id}/messages", data={"kind": "note", "body": NOTE}).status_code == 302
    app.config["MAIL_SERVER"] = "127.0.0.1"  # the reporter's notice waits in the outbox (no worker runs)
    assert (
        staff.post(f"/staff/cases/{case.id}/messages", data={"kind": "to_reporter", "body": TO_REPORTER}).status_code
        == 302
    )
    assert client.post("/track", data={"receipt": receipt}).status_code == 303
    assert client.post("/track/reply", data={"body": REPLY}).status_code == 303
    # A referral with its letter copy of the narrative (names redacted) and the body's answer.
    body = PartnerBody(name_kk="Д", name_ru="Д", name_en="Demo NPM (fictional)", kind="npm", contact="-", answer_days=5)
    db.session.add(body)
    db.session.commit()
    for target in ("triage", "investigating"):
        staff.post(f"/staff/cases/{case.id}/status", data={"target": target})
    new = staff.post(
        f"/staff/cases/{case.id}/referrals/new",
        data={
            "partner": body.id,
            "basis": "deidentified",
            "fields": ["narrative_redacted"],
            "letter_narrative": REDACTED,
            "language": "en",
        },
    )
    assert new.status_code == 302, new.get_data(as_text=True)[:2000]
    base = new.headers["Location"]
    today = datetime.now(ZoneInfo(app.config["OFFICE_TIMEZONE"])).date().isoformat()
    assert staff.post(base + "/send", data={"letter_number": "1/1", "sent_on": today}).status_code == 302
    answer = {"answered_on": today, "summary": ANSWER, "outcome": "investigation"}
    assert staff.post(base + "/answer", data=answer).status_code == 302
    # The app itself still reads everything back (so the scan below is not vacuous).
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.narrative, case.place_description, case.contact_email, case.contact_phone) == (
        NARRATIVE,
        PLACE,
        EMAIL,
        PHONE_E164,
    )
    bodies = {m.body for m in db.session.scalars(select(Message).where(Message.case_id == case.id))}
    assert {NOTE, TO_REPORTER, REPLY} <= bodies
    referral = db.session.scalar(select(Referral))
    assert (referral.letter_narrative, referral.answer_summary) == (REDACTED, ANSWER)
    item = db.session.scalar(select(Evidence))
    assert item.filename == FILENAME
    # The message and each status change notice the reporter: every one waits for the worker.
    assert {m.recipients for m in db.session.scalars(select(OutboxMail))} == {EMAIL}
    assert item.content == FILE_CONTENT
    return case, receipt


def test_a_stolen_database_reveals_no_narrative_contact_message_or_file(app, client, login_as):
    _case, receipt = _file_everything(app, client, login_as)
    assert found_in_database(app, _needles(receipt)) == set()


def test_the_scan_does_find_plain_text(app, client, login_as):
    """Control: the same scan finds a value that is stored in clear (so an empty result means something)."""
    _file_everything(app, client, login_as)
    user = db.session.scalar(select(User))
    assert found_in_database(app, {"staff email": user.email.encode()}) == {"staff email"}


def _raw(column, row_id: int) -> bytes:
    model = column.class_
    return bytes(db.session.scalar(select(type_coerce(column, LargeBinary)).where(model.id == row_id)))


ENCRYPTED = [(model, name) for model, names in ENCRYPTED_COLUMNS for name in names]


def _stored_values(ring: crypto.Keyring) -> dict[str, list[bytes]]:
    out = {}
    for model, name in ENCRYPTED:
        column = getattr(model, name)
        out[f"{model.__tablename__}.{name}"] = [
            bytes(v) for v in db.session.scalars(select(type_coerce(column, LargeBinary)).where(column.is_not(None)))
        ]
    return out


def test_every_encrypted_value_carries_the_key_id(app, client, login_as, make_user):
    _file_everything(app, client, login_as)
    make_user("supervisor")  # has a TOTP secret
    ring = app.extensions["shagym_keyring"]
    values = _stored_values(ring)
    assert all(values.values()), {k: len(v) for k, v in values.items()}  # every encrypted column has data
    for column, stored in values.items():
        for value in stored:
            assert value.startswith(crypto.MAGIC), column
            assert crypto.Keyring.key_id_of(value) == ring.current_id, column


def test_every_personal_column_is_an_encrypted_type():
    """The list that rotation walks is exactly the set of sealed fields, and every binary column
    of the models (other than the receipt and form-token digests and the keyed search terms) is one of them."""
    from storage.types import sealed_fields

    binary = {
        (m.class_, c.name)
        for m in db.Model.registry.mappers
        for c in m.columns
        if isinstance(c.type, LargeBinary) and c.name not in ("receipt_hash", "submission_hash", "term")
    }
    sealed = {(m, f.raw.lstrip("_")) for m, names in ENCRYPTED_COLUMNS for f in sealed_fields(m).values()}
    assert binary == sealed
    assert {(m, n) for m, n in ENCRYPTED} == sealed
    names = {f"{m.__tablename__}.{n}" for m, n in ENCRYPTED}
    assert {
        "cases.narrative",
        "cases.place_description",
        "cases.contact_email",
        "cases.contact_phone",
        "messages.body",
        "evidence.filename",
        "evidence.content",
        "users.totp_secret",
        "outbox.recipients",
    } <= names


def test_a_value_moved_to_another_column_does_not_decrypt(app, make_case):
    """The column is bound in as associated data: a thief with write access cannot swap fields around."""
    filed = make_case(narrative=NARRATIVE, place_description=PLACE)
    db.session.execute(text("UPDATE cases SET place_description = narrative WHERE id = :id"), {"id": filed.case.id})
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, filed.case.id)
    assert case.place_description is None and case.narrative == NARRATIVE
    assert unreadable(case) == ["place_description"]


def test_a_narrative_swapped_with_another_cases_does_not_decrypt(app, make_case):
    """The case id is bound in too: swapping two cases' narratives in the database makes both unreadable."""
    a, b = make_case(narrative=NARRATIVE).case.id, make_case(narrative=PLACE * 2).case.id
    raw_a, raw_b = _raw(Case.narrative, a), _raw(Case.narrative, b)
    for case_id, raw in ((a, raw_b), (b, raw_a)):
        db.session.execute(text("UPDATE cases SET narrative = :v WHERE id = :id"), {"v": raw, "id": case_id})
    db.session.commit()
    db.session.expire_all()
    for case_id in (a, b):
        case = db.session.get(Case, case_id)
        assert case.narrative is None and unreadable(case) == ["narrative"]
    with pytest.raises(crypto.Misplaced):
        app.extensions["shagym_keyring"].decrypt(raw_a, "cases.narrative", b)
    assert app.extensions["shagym_keyring"].decrypt(raw_a, "cases.narrative", a).decode() == NARRATIVE


def test_a_tampered_ciphertext_does_not_decrypt(app, make_case):
    filed = make_case(narrative=NARRATIVE)
    raw = bytearray(_raw(Case.narrative, filed.case.id))
    raw[-1] ^= 1
    db.session.execute(text("UPDATE cases SET narrative = :v WHERE id = :id"), {"v": bytes(raw), "id": filed.case.id})
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, filed.case.id)
    assert case.narrative is None and unreadable(case) == ["narrative"]


# --- keys outside the database ------------------------------------------------------------------


def test_key_files_are_private_to_the_service_account(app):
    keys = Path(app.instance_path) / "keys"
    files = list(keys.glob("data-*.key"))
    assert len(files) == 1
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(base64.b64decode(path.read_bytes())) == 32  # AES-256
    assert stat.S_IMODE(keys.stat().st_mode) & 0o077 == 0


def _env_keys(*ids: str) -> tuple[str, dict[str, bytes]]:
    keys = {key_id: bytes([n + 1]) * 32 for n, key_id in enumerate(ids)}
    return ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in keys.items()), keys


def test_keys_from_the_environment_are_used_and_no_key_file_is_written(make_app):
    env, keys = _env_keys("envkey01")
    audit_env, _ = _env_keys("audit001")
    search_env, _ = _env_keys("search01")
    app = make_app(SHAGYM_DATA_KEYS=env, SHAGYM_AUDIT_KEYS=audit_env, SHAGYM_SEARCH_KEYS=search_env)
    assert not list((Path(app.instance_path) / "keys").glob("*"))
    with app.app_context():
        from cases import commands

        filed = commands.file_report(report(narrative=NARRATIVE), app.extensions["shagym_receipt_key"])
        raw = _raw(Case.narrative, filed.case.id)
        assert crypto.Keyring.key_id_of(raw) == "envkey01"
        # Decrypting by hand with the environment key proves which key was used.
        plain = crypto.Keyring(keys=keys, current_id="envkey01").decrypt(raw, "cases.narrative", filed.case.id)
        assert plain.decode() == NARRATIVE
    assert not list((Path(app.instance_path) / "keys").glob("*"))


# --- rotation -----------------------------------------------------------------------------------


def test_keys_rotate_reencrypts_everything_and_is_audited(app, client, login_as, make_user, runner):
    case, _receipt = _file_everything(app, client, login_as)
    supervisor = make_user("supervisor")
    old_id = app.extensions["shagym_keyring"].current_id

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    ring = app.extensions["shagym_keyring"]
    new_id = ring.current_id
    assert new_id != old_id and new_id in result.output
    key_files = sorted(p.name for p in (Path(app.instance_path) / "keys").glob("data-*.key"))
    assert key_files == sorted([f"data-{old_id}.key", f"data-{new_id}.key"])
    assert all(stat.S_IMODE((Path(app.instance_path) / "keys" / f).stat().st_mode) == 0o600 for f in key_files)
    for column, stored in _stored_values(ring).items():
        assert stored, column
        assert {crypto.Keyring.key_id_of(v) for v in stored} == {new_id}, column

    # Everything still reads back; the old key is no longer needed for any value.
    del ring.keys[old_id]
    case = db.session.get(Case, case.id)
    assert (case.narrative, case.contact_email) == (NARRATIVE, EMAIL)
    assert {NOTE, TO_REPORTER, REPLY} <= {m.body for m in db.session.scalars(select(Message))}
    assert db.session.scalar(select(Evidence)).content == FILE_CONTENT
    assert db.session.get(User, supervisor.id).totp_secret == supervisor.totp_secret

    event = db.session.scalar(select(Event).where(Event.action == "keys_rotated"))
    assert event is not None and event.chain_id == audit.SYSTEM_CHAIN and event.case_id is None
    assert (event.old_value, event.new_value) == (old_id, new_id)
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "History intact." in verified.output


def test_a_second_rotate_run_rewrites_only_what_is_not_under_the_current_key(app, make_case, runner):
    make_case(narrative=NARRATIVE)
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    ring = app.extensions["shagym_keyring"]
    assert commands.reencrypt_all(ring) == {f"{m.__tablename__}.{n}": 0 for m, n in ENCRYPTED}


def test_a_running_worker_reads_and_writes_under_the_rotated_key(make_app, runner):
    """Two apps on one instance folder = a gunicorn worker and the operator's CLI: no restart needed."""
    from cases import commands

    worker = make_app()
    with worker.app_context():
        before = commands.file_report(report(narrative=NARRATIVE), worker.extensions["shagym_receipt_key"]).case.id
        old_id = worker.extensions["shagym_keyring"].current_id
    operator = make_app()
    with operator.app_context():
        assert operator.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
        new_id = operator.extensions["shagym_keyring"].current_id
    assert new_id not in worker.extensions["shagym_keyring"].keys  # the worker has not seen it yet
    with worker.app_context():
        db.session.expire_all()
        assert db.session.get(Case, before).narrative == NARRATIVE  # re-encrypted under a key it just loaded
        after = commands.file_report(report(narrative=PLACE), worker.extensions["shagym_receipt_key"]).case.id
        assert crypto.Keyring.key_id_of(_raw(Case.narrative, after)) == new_id
        assert crypto.Keyring.key_id_of(_raw(Case.narrative, before)) == new_id
    assert old_id != new_id


def test_rotation_with_environment_keys_moves_every_value_to_the_last_key(make_app):
    """With SHAGYM_DATA_KEYS the operator appends a key, restarts, runs rotate, then drops the old key."""
    from cases import commands

    one, _ = _env_keys("oldkey01")
    both, _ = _env_keys("oldkey01", "newkey02")
    audit_env, _ = _env_keys("audit001")
    others = {"SHAGYM_AUDIT_KEYS": audit_env, "SHAGYM_SEARCH_KEYS": _env_keys("search01")[0]}
    first = make_app(SHAGYM_DATA_KEYS=one, **others)
    with first.app_context():
        case_id = commands.file_report(
            report(narrative=NARRATIVE, contact_email=EMAIL), first.extensions["shagym_receipt_key"]
        ).case.id
    second = make_app(SHAGYM_DATA_KEYS=both, **others)
    with second.app_context():
        result = second.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert crypto.Keyring.key_id_of(_raw(Case.narrative, case_id)) == "newkey02"
        event = db.session.scalar(select(Event).where(Event.action == "keys_rotated"))
        assert (event.old_value, event.new_value) == ("oldkey01", "newkey02")
    only_new = ",".join(both.split(",")[1:])
    third = make_app(SHAGYM_DATA_KEYS=only_new, **others)
    with third.app_context():
        case = db.session.get(Case, case_id)
        assert (case.narrative, case.contact_email) == (NARRATIVE, EMAIL)
    assert not list((Path(third.instance_path) / "keys").glob("*"))
