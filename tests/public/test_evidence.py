"""Evidence files: type from content, limits, atomic storage, chain of custody, safe download."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cases import commands, evidence
from cases.commands import unit
from cases.models import Case, Event, Evidence, EvidenceDay, Message
from storage import db
from tests.helpers import report, report_form
from tests.samples import ACCEPTED, DANGEROUS, REFUSED, image

VALID = report_form(
    narrative="The guards took my phone and beat me in the corridor.", in_custody="yes", reporter_role="affected"
)


def _post(client, files, **extra):
    data = {**VALID, **extra, "evidence": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/report", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_each_allowed_type_is_accepted_at_intake(client, name):
    content = ACCEPTED[name]()
    response = _post(client, [(name, content)])
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    item = db.session.scalar(select(Evidence))
    assert item.size == len(content)
    assert item.sha256 == hashlib.sha256(content).hexdigest()
    assert item.filename == name
    db.session.refresh(item)
    assert item.content == content


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_dangerous_or_unknown_files_are_refused_and_the_form_is_kept(client, name):
    response = _post(client, [(name, REFUSED[name])])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "we cannot accept it" in page
    assert "The guards took my phone and beat me in the corridor." in page  # the rest of the form is kept
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(Evidence.id))) == 0


# The signature filetype reads as a Word 97 file (OLE compound document + Word's class marker).
OLE_HEADER = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504 + bytes.fromhex("eca5c100") + b"\x00" * 1000
LIMITS = evidence.Limits(10**7, 10**8, 20)


@pytest.mark.parametrize("name", sorted(DANGEROUS))
def test_dangerous_content_in_an_accepted_type_is_refused_and_the_form_is_kept(client, name):
    content, says = DANGEROUS[name]
    response = _post(client, [(name, content)])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert says in page and name in page
    assert "The guards took my phone and beat me in the corridor." in page  # the rest of the form is kept
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(Evidence.id))) == 0


@pytest.mark.parametrize(
    "streams",
    [
        [["Macros", "VBA", "dir"]],
        [["_VBA_PROJECT_CUR", "VBA"]],
        [["ObjectPool", "_1234", "\x01Ole10Native"]],
        [["MBD0001", "Package"]],
    ],
    ids=["word macros", "excel macros", "embedded object", "excel embedded storage"],
)
def test_legacy_office_files_with_macros_or_embedded_objects_are_refused(monkeypatch, streams):
    class FakeOle:
        def __init__(self, _content):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def listdir(self, streams=True, storages=False):
            return [["WordDocument"], ["\x05SummaryInformation"], *self.paths]

    FakeOle.paths = streams
    monkeypatch.setattr(evidence.olefile, "OleFileIO", FakeOle)
    with pytest.raises(evidence.RefusedFile, match="contains macros"):
        evidence.check("old.doc", OLE_HEADER, LIMITS)


def test_a_plain_legacy_office_file_passes_the_macro_check(monkeypatch):
    class PlainOle:
        def __init__(self, _content):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def listdir(self, streams=True, storages=False):
            return [["WordDocument"], ["1Table"], ["\x05SummaryInformation"]]

    monkeypatch.setattr(evidence.olefile, "OleFileIO", PlainOle)
    assert evidence.check("old.doc", OLE_HEADER, LIMITS).kind == "doc"


def test_empty_and_oversize_files_are_refused(make_app):
    app = make_app(MAX_FILE_MB=1)
    with app.app_context():
        client = app.test_client()
        page = _post(client, [("empty.jpg", b"")]).get_data(as_text=True)
        assert "is empty" in page
        big = image("PNG") + b"\x00" * (1024 * 1024)
        response = _post(client, [("big.png", big)])
        assert response.status_code == 422
        assert "larger than 1 MB" in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count(Case.id))) == 0


def test_too_many_files_are_refused(make_app):
    app = make_app(MAX_CASE_FILES=2)
    with app.app_context():
        response = _post(app.test_client(), [(f"p{i}.png", image("PNG")) for i in range(3)])
        assert response.status_code == 422
        assert "at most 2 files" in response.get_data(as_text=True)


def test_file_hash_and_size_are_in_the_audit_chain(client):
    content = ACCEPTED["letter.pdf"]()
    _post(client, [("letter.pdf", content)])
    event = db.session.scalar(select(Event).where(Event.action == "evidence_added"))
    details = json.loads(event.details)
    assert details == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "type": "pdf"}


def test_a_crash_before_commit_leaves_no_orphan(app, monkeypatch):
    """The report and its files are one transaction: a failure stores neither."""
    checked = evidence.check("photo.png", image("PNG"), evidence.Limits(10**7, 10**8, 20))

    def crash():
        raise RuntimeError("power cut between storing the file and committing the case")

    monkeypatch.setattr(unit, "_commit", crash)
    with pytest.raises(RuntimeError):
        commands.file_report(report(), app.extensions["shagym_receipt_key"], files=[checked])
    db.session.rollback()
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    assert db.session.scalar(select(func.count(Event.id))) == 0


def test_users_filename_never_becomes_a_path(client):
    _post(client, [("../../etc/passwd.png", image("PNG"))])
    item = db.session.scalar(select(Evidence))
    assert item.filename == "passwd.png"


def test_download_headers_are_exactly_as_specified(client, login_as):
    _post(client, [("фото доказательство.jpg", image("JPEG"))])
    item = db.session.scalar(select(Evidence))
    staff, user = login_as("caseworker", ["general"])
    response = staff.get(f"/staff/cases/{item.case_id}/evidence/{item.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="evidence-')
    assert "filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%20" in disposition
    assert response.data == image("JPEG")
    event = db.session.scalar(select(Event).where(Event.action == "evidence_downloaded"))
    assert event.actor_id == user.id


def test_other_queue_and_public_cannot_download(client, login_as):
    _post(client, [("photo.png", image("PNG"))])
    item = db.session.scalar(select(Evidence))
    outsider, _ = login_as("caseworker", ["women"])
    assert outsider.get(f"/staff/cases/{item.case_id}/evidence/{item.id}").status_code == 404
    assert client.get(f"/staff/cases/{item.case_id}/evidence/{item.id}").status_code == 302
    admin, _ = login_as("admin")
    assert admin.get(f"/staff/cases/{item.case_id}/evidence/{item.id}").status_code == 403


def test_gps_in_a_photo_is_kept_and_staff_are_warned(client, login_as):
    original = image("JPEG", gps=True)
    page = client.get("/report").get_data(as_text=True)
    assert "GPS location" in page  # the reporter is told before uploading
    _post(client, [("street.jpg", original)])
    item = db.session.scalar(select(Evidence))
    assert item.has_gps is True
    staff, _ = login_as("caseworker", ["general"])
    case_page = staff.get(f"/staff/cases/{item.case_id}").get_data(as_text=True)
    assert "carries GPS coordinates" in case_page
    assert item.sha256 in case_page
    assert staff.get(f"/staff/cases/{item.case_id}/evidence/{item.id}").data == original  # EXIF untouched


def test_reporter_adds_files_later_from_the_tracking_page(client, make_case):
    filed = make_case()
    client.post("/track", data={"receipt": filed.receipt})
    content = ACCEPTED["voice.mp3"]()
    response = client.post(
        "/track/reply",
        data={"body": "", "evidence": [(io.BytesIO(content), "voice.mp3")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    item = db.session.scalar(select(Evidence))
    assert item.case_id == filed.case.id and item.sha256 == hashlib.sha256(content).hexdigest()
    response = client.post(
        "/track/reply",
        data={"body": "and this", "evidence": [(io.BytesIO(REFUSED["page.html"]), "x.html")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "and this" in response.get_data(as_text=True)


# --- the site-wide daily quota -----------------------------------------------------------


MB = 1024 * 1024


def _fill_today(stored: int) -> None:
    db.session.add(EvidenceDay(day=datetime.now(UTC).date(), stored_bytes=stored))
    db.session.commit()


def test_when_the_daily_quota_is_full_the_report_is_kept_without_its_files(make_app, caplog):
    app = make_app(EVIDENCE_DAILY_QUOTA_MB=1)
    with app.app_context():
        _fill_today(MB - 100)
        response = _post(app.test_client(), [("photo.jpg", image("JPEG"))])
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "Your report was received" in page
        assert "Your files were not kept." in page and "Nothing you wrote was lost" in page
        case = db.session.scalar(select(Case))
        assert case.narrative == VALID["narrative"]
        assert db.session.scalar(select(func.count(Evidence.id))) == 0
        assert "evidence_added" not in set(db.session.scalars(select(Event.action)))
        assert db.session.get(EvidenceDay, datetime.now(UTC).date()).stored_bytes == MB - 100
        assert "evidence_quota_full" in caplog.text


def test_files_within_the_quota_are_counted_and_80_percent_is_logged(make_app, caplog):
    app = make_app(EVIDENCE_DAILY_QUOTA_MB=1)
    with app.app_context():
        _fill_today(int(0.8 * MB) - 10)
        content = image("PNG")
        response = _post(app.test_client(), [("photo.png", content)])
        assert response.status_code == 200 and "Your files were not kept." not in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count(Evidence.id))) == 1
        assert db.session.get(EvidenceDay, datetime.now(UTC).date()).stored_bytes == int(0.8 * MB) - 10 + len(content)
        assert "evidence_quota_80_percent" in caplog.text


def test_a_reply_keeps_its_message_when_the_quota_is_full_and_files_alone_are_refused(make_app):
    app = make_app(EVIDENCE_DAILY_QUOTA_MB=1)
    with app.app_context():
        filed = commands.file_report(report(), app.extensions["shagym_receipt_key"])
        _fill_today(MB)
        client = app.test_client()
        client.post("/track", data={"receipt": filed.receipt})
        files_only = client.post(
            "/track/reply",
            data={"body": "", "evidence": [(io.BytesIO(image("JPEG")), "photo.jpg")]},
            content_type="multipart/form-data",
        )
        assert files_only.status_code == 422 and "space for files is full" in files_only.get_data(as_text=True)
        both = client.post(
            "/track/reply",
            data={"body": "Here is what I saw.", "evidence": [(io.BytesIO(image("JPEG")), "photo.jpg")]},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        assert "Your message was sent, but we could not keep your files" in both.get_data(as_text=True)
        assert [m.body for m in db.session.scalars(select(Message).where(Message.kind == "from_reporter"))] == [
            "Here is what I saw."
        ]
        assert db.session.scalar(select(func.count(Evidence.id))) == 0
