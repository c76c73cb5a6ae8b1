"""Evidence files: what is accepted, decided from the content, never the name.

Accepted: photos (JPEG, PNG, GIF, WebP, HEIC), PDF, audio (MP3, OGG, WAV,
M4A, FLAC, AMR), video (MP4, WebM, QuickTime, 3GP) and office documents
(Word, Excel, PowerPoint, OpenDocument). Anything else (executables, HTML,
SVG, archives, scripts) is refused.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import filetype
from PIL import Image, UnidentifiedImageError

from i18n import N_

# filetype's extension → our kind label
ALLOWED = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "pdf": "application/pdf",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "flac": "audio/flac",
    "amr": "audio/amr",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "3gp": "video/3gpp",
    "m4v": "video/mp4",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
IMAGE_KINDS = {"jpg", "png", "gif", "webp"}
GPS_IFD = 0x8825


@dataclass(frozen=True)
class Limits:
    max_file: int
    max_total: int
    max_count: int


@dataclass(frozen=True)
class Checked:
    filename: str
    content: bytes
    kind: str  # extension detected from content, e.g. "jpg"
    sha256: str
    has_gps: bool

    @property
    def size(self) -> int:
        return len(self.content)


class Refused(Exception):
    """A file that is not accepted; the message is safe to show to the reporter."""


MSG_EMPTY = N_("The file “%(name)s” is empty.")
MSG_LARGE = N_("The file “%(name)s” is larger than %(mb)s MB.")
MSG_TYPE = N_("The file “%(name)s” is not a photo, PDF, audio, video or office document, so we cannot accept it.")
MSG_COUNT = N_("You can attach at most %(count)s files to a report.")
MSG_TOTAL = N_("All files of a report together can be at most %(mb)s MB.")


class RefusedFile(Refused):
    def __init__(self, template: str, **params) -> None:
        super().__init__(template % params)
        self.template, self.params = template, params


def detect(content: bytes) -> str | None:
    """The extension of an accepted type, from the bytes alone; None if not accepted."""
    kind = filetype.guess(content[:8192] if len(content) > 8192 else content)
    if kind is None:
        return None
    ext = kind.extension
    if ext not in ALLOWED:
        return None
    if ext in IMAGE_KINDS:
        try:
            with Image.open(io.BytesIO(content)) as img:
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            return None
    return ext


def has_gps(content: bytes) -> bool:
    """Whether a photo carries GPS coordinates in its EXIF data (the original is never altered)."""
    try:
        with Image.open(io.BytesIO(content)) as img:
            gps = img.getexif().get_ifd(GPS_IFD)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return bool(gps)


def safe_display_name(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name[:200] or "file"


def check(filename: str, content: bytes, limits: Limits) -> Checked:
    name = safe_display_name(filename)
    if not content:
        raise RefusedFile(MSG_EMPTY, name=name)
    if len(content) > limits.max_file:
        raise RefusedFile(MSG_LARGE, name=name, mb=limits.max_file // (1024 * 1024))
    kind = detect(content)
    if kind is None:
        raise RefusedFile(MSG_TYPE, name=name)
    return Checked(
        name,
        content,
        kind,
        hashlib.sha256(content).hexdigest(),
        has_gps(content) if kind in IMAGE_KINDS | {"heic"} else False,
    )


def check_batch(
    files: list[tuple[str, bytes]], limits: Limits, existing_count: int = 0, existing_bytes: int = 0
) -> tuple[list[Checked], list[RefusedFile]]:
    """Check each file and the per-case limits; returns the accepted and the refusals."""
    accepted: list[Checked] = []
    refused: list[RefusedFile] = []
    for filename, content in files:
        try:
            accepted.append(check(filename, content, limits))
        except RefusedFile as exc:
            refused.append(exc)
    if existing_count + len(accepted) > limits.max_count:
        refused.append(RefusedFile(MSG_COUNT, count=limits.max_count))
    if existing_bytes + sum(c.size for c in accepted) > limits.max_total:
        refused.append(RefusedFile(MSG_TOTAL, mb=limits.max_total // (1024 * 1024)))
    return accepted, refused
