"""Several instances on one database: the same keys from settings or files, or no start.

Two app objects on one database stand for two gunicorn instances with their own ``instance/``
folders (the CI job ``deploy/ci-two-instances.sh`` runs the real thing behind nginx).
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select

import config
from cases import audit, commands, keyprints
from cases.models import Case, Checkpoint, KeyFingerprint
from storage import db
from tests.helpers import count, page, receipt_of, report, report_form
from web import keycheck

NARRATIVE = "Someone was held for two days without being told why, described in detail."


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def key_values() -> dict[str, str]:
    """One fresh value for every key setting, in the settings' own formats."""
    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SHAGYM_DATA_KEYS": "datakey1:" + _b64(os.urandom(32)),
        "SHAGYM_AUDIT_KEYS": "auditky1:" + _b64(os.urandom(32)),
        "SHAGYM_SEARCH_KEYS": "searchk1:" + _b64(os.urandom(32)),
        "SHAGYM_SIGNING_KEY": _b64(seed),
        "SHAGYM_RECEIPT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def key_files(directory, values: dict[str, str]) -> dict[str, str | None]:
    """The values written to files (mode 0600), as the ``*_FILE`` settings every instance gets."""
    directory.mkdir(exist_ok=True)
    settings: dict[str, str | None] = {}
    for name, value in values.items():
        path = directory / name.lower()
        path.write_text(value + "\n")
        path.chmod(0o600)
        settings[f"{name}_FILE"] = str(path)
        settings[name] = None  # BASE_CONFIG's SECRET_KEY gives way to the file
    return settings


@pytest.fixture
def shared(tmp_path) -> dict[str, str | None]:
    return key_files(tmp_path / "keys", key_values())


def second(make_app, tmp_path, settings):
    """Another instance: its own ``instance/`` folder, the same database."""
    return make_app(INSTANCE_PATH=str(tmp_path / "second-instance"), **settings)


def test_every_key_comes_from_its_file(make_app, shared, tmp_path):
    values = {name.removesuffix("_FILE"): open(path).read().strip() for name, path in shared.items() if path}
    app = make_app(**shared)
    assert app.config["SECRET_KEY"] == values["SECRET_KEY"]
    assert app.extensions["shagym_receipt_key"] == base64.urlsafe_b64decode(values["SHAGYM_RECEIPT_KEY"])
    assert app.extensions["shagym_keyring"].current()[0] == "datakey1"
    assert app.extensions["shagym_audit_keys"].current()[0] == "auditky1"
    assert app.extensions["shagym_search_keys"].current()[0] == "searchk1"
    seed = app.extensions["shagym_signing_key"].private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert _b64(seed) == values["SHAGYM_SIGNING_KEY"]
    # Nothing was generated into instance/ for them.
    instance = tmp_path / "instance"
    assert not (instance / "receipt_key").exists() and not (instance / "audit_ed25519.pem").exists()
    assert not (instance / "secret_key").exists() and not list((instance / "keys").glob("*.key"))


def test_the_first_start_records_a_fingerprint_of_every_key_and_never_the_key(make_app, shared):
    values = {name.removesuffix("_FILE"): open(path).read().strip() for name, path in shared.items() if path}
    app = make_app(**shared)
    with app.app_context():
        rows = dict(db.session.execute(select(KeyFingerprint.name, KeyFingerprint.fingerprint)).tuples().all())
    assert set(rows) == {"data:datakey1", "audit:auditky1", "search:searchk1", "receipt", "signing", "session"}
    assert all(len(fp) == keyprints.LENGTH for fp in rows.values())
    secrets_as_text = [values["SECRET_KEY"], values["SHAGYM_RECEIPT_KEY"], values["SHAGYM_SIGNING_KEY"]]
    for name in ("SHAGYM_DATA_KEYS", "SHAGYM_AUDIT_KEYS", "SHAGYM_SEARCH_KEYS"):
        raw = base64.b64decode(values[name].split(":")[1])
        secrets_as_text += [values[name].split(":")[1], raw.hex()]
    for fp in rows.values():
        assert not any(fp in s or s in fp for s in secrets_as_text)


def test_a_second_instance_with_another_receipt_key_refuses_in_one_line_and_writes_nothing(make_app, shared, tmp_path):
    one = make_app(**shared)
    other = tmp_path / "other-receipt-key"
    other.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    two = second(make_app, tmp_path, {**shared, "SHAGYM_RECEIPT_KEY_FILE": str(other)})

    line = keycheck.refusal(two)
    assert line is not None and "\n" not in line
    assert "the receipt key (SHAGYM_RECEIPT_KEY) differs from the one recorded in the database" in line
    assert "data key" not in line and "signing" not in line  # only the key that differs is named
    assert other.read_text() not in line
    with two.app_context():
        cases_before = count(Case)
        client = two.test_client()
        refused = client.post("/report", data=report_form(narrative=NARRATIVE))
        assert refused.status_code == 500 and "SHG-" not in page(refused)
        assert count(Case) == cases_before  # nothing written with the other key
        assert client.get("/readyz").get_json() == {"status": "not ready", "failing": ["key_fingerprints"]}
        result = two.test_cli_runner().invoke(args=["users", "list"])
        assert result.exit_code == 1 and result.output.strip().splitlines() == [f"Error: {line}"]
        # The recorded fingerprint is still the first instance's.
        assert db.session.get(KeyFingerprint, "receipt").fingerprint == keycheck.loaded(one)["receipt"]
    with one.app_context():
        assert one.test_client().get("/readyz").get_json() == {"status": "ready"}


def test_an_instance_with_its_own_generated_keys_is_told_every_key_that_differs(make_app, shared, tmp_path):
    """The mistake of the issue: a second instance with an empty ``instance/`` and no key settings."""
    make_app(**shared)
    two = second(make_app, tmp_path, {})
    line = keycheck.refusal(two)
    for phrase in (
        "data key 'datakey1' (SHAGYM_DATA_KEYS) is recorded in the database but not loaded here",
        "audit key 'auditky1' (SHAGYM_AUDIT_KEYS) is recorded",
        "search-index key 'searchk1' (SHAGYM_SEARCH_KEYS) is recorded",
        "the receipt key (SHAGYM_RECEIPT_KEY) differs",
        "the checkpoint signing key (SHAGYM_SIGNING_KEY) differs",
        "the session secret (SECRET_KEY) differs",
    ):
        assert phrase in line


def test_same_keys_a_receipt_filed_on_one_instance_tracks_on_the_other(make_app, shared, tmp_path):
    one = make_app(**shared)
    two = second(make_app, tmp_path, shared)
    assert keycheck.refusal(one) is None and keycheck.refusal(two) is None
    with one.app_context():
        filed = one.test_client().post("/report", data=report_form(narrative=NARRATIVE))
        code = receipt_of(page(filed))
        reference = db.session.scalars(select(Case.reference)).one()
    with two.app_context():
        client = two.test_client()
        assert client.get("/readyz").get_json() == {"status": "ready"}
        assert client.post("/track", data={"receipt": code}).status_code == 303
        assert reference in page(client.get("/track/case"))
        # The other instance opens what the first encrypted.
        assert db.session.scalars(select(Case)).one().narrative == NARRATIVE
        assert count(KeyFingerprint) == 6  # recorded once, by the first


def test_a_form_from_one_instance_is_accepted_by_the_other(make_app, shared, tmp_path):
    """The session secret is shared too: CSRF tokens and sessions work across instances."""
    one = make_app(**{**shared, "WTF_CSRF_ENABLED": True})
    two = second(make_app, tmp_path, {**shared, "WTF_CSRF_ENABLED": True})
    with one.app_context():
        client = one.test_client()
        form_page = page(client.get("/report"))
        token = form_page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        cookie = client.get_cookie("shagym")
    with two.app_context():
        other = two.test_client()
        other.set_cookie("shagym", cookie.value)
        answer = other.post("/report", data={**report_form(narrative=NARRATIVE), "csrf_token": token})
        assert answer.status_code == 200 and receipt_of(page(answer))


def test_the_signing_key_from_a_setting_verifies_on_both_instances(make_app, shared, tmp_path):
    one = make_app(**shared)
    two = second(make_app, tmp_path, shared)
    with one.app_context():
        commands.file_report(report(narrative=NARRATIVE), one.extensions["shagym_receipt_key"])
        commands.write_checkpoint()  # signed on the first instance
        witness_one = str(audit.current_witness().path)
    with two.app_context():
        commands.file_report(report(narrative=NARRATIVE), two.extensions["shagym_receipt_key"])
        commands.write_checkpoint()  # and on the second
        witness_two = str(audit.current_witness().path)
        assert count(Checkpoint) == 2
    both = ["audit", "verify", "--witness", witness_one, "--witness", witness_two]
    for app in (one, two):
        with app.app_context():
            result = app.test_cli_runner().invoke(args=both)
            assert result.exit_code == 0, result.output
            assert "2 checkpoints" in result.output


def test_another_signing_key_is_refused_before_it_signs_anything(make_app, shared, tmp_path):
    make_app(**shared)
    other = tmp_path / "other-seed"
    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    other.write_text(_b64(seed))
    two = second(make_app, tmp_path, {**shared, "SHAGYM_SIGNING_KEY_FILE": str(other)})
    assert "the checkpoint signing key (SHAGYM_SIGNING_KEY) differs" in keycheck.refusal(two)


def test_an_instance_that_could_not_check_at_start_checks_on_its_first_request(app, client):
    """E.g. it started before ``flask db upgrade`` made the table: the first request compares."""
    app.extensions.pop("shagym_keys_verified")
    app.extensions["shagym_receipt_key"] = os.urandom(32)  # as if started with another key
    before = count(Case)
    assert client.post("/report", data=report_form(narrative=NARRATIVE)).status_code == 500
    assert count(Case) == before
    assert "the receipt key (SHAGYM_RECEIPT_KEY) differs" in keycheck.refusal(app)
    assert client.get("/healthz").status_code == 200  # the process answers; /readyz says why not ready
    assert client.get("/readyz").get_json()["failing"] == ["key_fingerprints"]


def test_a_key_added_by_rotation_is_recorded_and_an_instance_without_it_refuses(make_app, tmp_path):
    values = key_values()
    one = make_app(**key_files(tmp_path / "keys", values))
    rotated = {**values, "SHAGYM_DATA_KEYS": values["SHAGYM_DATA_KEYS"] + ",datakey2:" + _b64(os.urandom(32))}
    settings = key_files(tmp_path / "rotated", rotated)
    two = second(make_app, tmp_path, settings)
    assert keycheck.refusal(two) is None
    with two.app_context():
        assert db.session.get(KeyFingerprint, "data:datakey2") is not None
    # The first instance, restarted without the new key, is told to get it.
    again = make_app(**key_files(tmp_path / "keys", values))
    assert "data key 'datakey2' (SHAGYM_DATA_KEYS) is recorded in the database but not loaded here" in (
        keycheck.refusal(again) or ""
    )
    with one.app_context():
        assert one.test_client().get("/readyz").get_json()["failing"] == ["key_fingerprints"]


@pytest.mark.parametrize(
    "problem",
    ["both", "empty", "missing"],
)
def test_a_key_file_that_cannot_be_used_is_refused_at_start(tmp_path, problem):
    path = tmp_path / "receipt"
    values: dict[str, str | None] = {"SHAGYM_RECEIPT_KEY_FILE": str(path), "SHAGYM_RECEIPT_KEY": None}
    if problem == "both":
        path.write_text("abc")
        values["SHAGYM_RECEIPT_KEY"] = "abc"
        expected = "SHAGYM_RECEIPT_KEY and SHAGYM_RECEIPT_KEY_FILE are both set"
    elif problem == "empty":
        path.write_text("\n")
        expected = f"SHAGYM_RECEIPT_KEY_FILE: {path} is empty"
    else:
        expected = f"SHAGYM_RECEIPT_KEY_FILE: cannot read {path}"
    with pytest.raises(ValueError, match=expected):
        config.read_key_files(values)


@dataclass(frozen=True)
class Comparison:
    name: str
    have: dict[str, str]
    recorded: dict[str, str]
    problems: list[str]
    new: dict[str, str]


COMPARISONS = [
    Comparison("first start", {"receipt": "a", "data:k1": "b"}, {}, [], {"receipt": "a", "data:k1": "b"}),
    Comparison("same keys", {"receipt": "a"}, {"receipt": "a"}, [], {}),
    Comparison(
        "other single key",
        {"receipt": "x"},
        {"receipt": "a"},
        ["the receipt key (SHAGYM_RECEIPT_KEY) differs from the one recorded in the database"],
        {},
    ),
    Comparison(
        "ring key missing",
        {"data:k2": "c"},
        {"data:k1": "b"},
        ["data key 'k1' (SHAGYM_DATA_KEYS) is recorded in the database but not loaded here"],
        {"data:k2": "c"},
    ),
    Comparison("rotated ring key", {"data:k1": "b", "data:k2": "c"}, {"data:k1": "b"}, [], {"data:k2": "c"}),
]


@pytest.mark.parametrize("case", COMPARISONS, ids=lambda c: c.name)
def test_compare(case):
    assert keyprints.compare(case.have, case.recorded) == (case.problems, case.new)


def test_a_fingerprint_is_bound_to_the_name_of_its_key():
    key = os.urandom(32)
    assert keyprints.fingerprint("receipt", key) != keyprints.fingerprint("session", key)
    assert keyprints.fingerprint("receipt", key) == keyprints.fingerprint("receipt", key)
    assert key.hex()[: keyprints.LENGTH] != keyprints.fingerprint("receipt", key)
