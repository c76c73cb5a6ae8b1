"""Small files of every accepted type (and some that must be refused), made in memory."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def _zip(entries: dict[str, str], stored_first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if stored_first:
            zf.writestr(zipfile.ZipInfo("mimetype"), stored_first)
        for name, content in entries.items():
            zf.writestr(name, content)
    return buf.getvalue()


def image(fmt: str = "JPEG", gps: bool = False) -> bytes:
    img = Image.new("RGB", (16, 16), "navy")
    buf = io.BytesIO()
    if gps:
        exif = Image.Exif()
        ifd = exif.get_ifd(0x8825)
        ifd.update({1: "N", 2: (43.0, 15.0, 0.0), 3: "E", 4: (76.0, 55.0, 0.0)})
        img.save(buf, fmt, exif=exif)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


ACCEPTED = {
    "photo.jpg": lambda: image("JPEG"),
    "photo.png": lambda: image("PNG"),
    "photo.gif": lambda: image("GIF"),
    "photo.webp": lambda: image("WEBP"),
    "letter.pdf": lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    "voice.mp3": lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 200,
    "voice.ogg": lambda: b"OggS\x00\x02" + b"\x00" * 200,
    "voice.wav": lambda: b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200,
    "video.mp4": lambda: b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200,
    "video.webm": lambda: (
        bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 200
    ),
    "statement.docx": lambda: _zip(
        {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>", "_rels/.rels": "<r/>"}
    ),
    "table.xlsx": lambda: _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<w/>", "_rels/.rels": "<r/>"}),
    "notes.odt": lambda: _zip({"content.xml": "<x/>"}, stored_first="application/vnd.oasis.opendocument.text"),
}


def _huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("_rels/.rels", "<r/>")
        zf.writestr("word/document.xml", b"\x00" * (50 * 1024 * 1024))
    return buf.getvalue()


DOCX = {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>", "_rels/.rels": "<r/>"}
# Accepted types whose content is refused, and what the refusal says.
DANGEROUS = {
    "macro.docx": (_zip({**DOCX, "word/vbaProject.bin": "VBA"}), "contains macros"),
    "macro-enabled.docm": (
        _zip(
            {
                **DOCX,
                "[Content_Types].xml": '<Types><Default ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
            }
        ),
        "contains macros",
    ),
    "ole-object.docx": (_zip({**DOCX, "word/embeddings/oleObject1.bin": "OLE"}), "contains macros"),
    "carries-a-program.docx": (_zip({**DOCX, "word/media/payload.exe": "MZ"}), "contains macros"),
    "hidden-program.xlsx": (
        _zip(
            {
                "[Content_Types].xml": "<Types/>",
                "xl/workbook.xml": "<w/>",
                "_rels/.rels": "<r/>",
                "xl/media/image1.png": "MZ\x90\x00",
            }
        ),
        "contains macros",
    ),
    "odt-with-basic.odt": (
        _zip(
            {"content.xml": "<x/>", "Basic/Standard/Module1.xml": "<m/>"},
            stored_first="application/vnd.oasis.opendocument.text",
        ),
        "contains macros",
    ),
    "zip-bomb.docx": (_zip_bomb(), "unpacks to far more than its size"),
    "huge.png": (_huge_png(), "too many pixels"),
    "large.png": (_huge_png(12_000, 8_000), "too many pixels"),
}

REFUSED = {
    "renamed-program.jpg": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 300,
    "page.html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "archive.zip": _zip({"a.txt": "hello"}),
    "script.pdf.sh": b"#!/bin/sh\nrm -rf /\n",
}
