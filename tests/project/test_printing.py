"""PDF documents: the shipped fonts carry the Kazakh letters, and a document can't make the
server fetch anything (a local file or an address) that a narrative or a summary might name."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from web import printing

pytestmark = pytest.mark.skipif(
    not printing.available() or shutil.which("pdftotext") is None,
    reason="PDF needs Pango and poppler-utils (.ci/run installs both)",
)

KAZAKH = "ә ғ қ ң ө ұ ү һ і Ә Ғ Қ Ң Ө Ұ Ү Һ І"


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def _fonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout


def test_every_kazakh_letter_survives_into_the_pdf_text(tmp_path):
    html = f"<!doctype html><html lang='kk'><body><h1>Шағым</h1><p>{' '.join(KAZAKH)}</p></body></html>"
    pdf = printing.pdf_from_html(html, title="Шағым", language="kk")
    text = _text(pdf, tmp_path)
    for letter in KAZAKH.split():
        assert letter in text, letter
    assert "Shagym-Print" in _fonts(pdf, tmp_path)  # the shipped font, embedded


def test_a_document_cannot_fetch_local_files_or_addresses(tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body::after { content: 'LEAKED-FROM-DISK'; }")
    html = (
        "<!doctype html><html lang='en'><head>"
        f"<link rel='stylesheet' href='{secret.as_uri()}'>"
        "<link rel='stylesheet' href='http://127.0.0.1:9/x.css'>"
        "</head><body><p>Body text</p>"
        f"<img src='{secret.as_uri()}' alt='an image'>"
        "</body></html>"
    )
    text = _text(printing.pdf_from_html(html, title="Test", language="en"), tmp_path)
    assert "Body text" in text
    assert "LEAKED-FROM-DISK" not in text


def test_the_pdf_says_its_title_and_language(tmp_path):
    pdf = printing.pdf_from_html("<p>Есеп</p>", title="Жылдық есеп", language="kk")
    path = tmp_path / "meta.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    assert "Жылдық есеп" in info
