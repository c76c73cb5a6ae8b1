"""Evidence files: what is accepted, decided from the content, never the name.

Accepted (README "Evidence files" says the same): photos (JPEG, PNG, GIF, WebP, HEIC), PDF, audio (MP3, OGG, WAV,
M4A, FLAC, AMR), video (MP4, WebM, QuickTime, 3GP) and office documents
(Word, Excel, PowerPoint, OpenDocument). Anything else (executables, HTML,
SVG, archives, scripts) is refused.

Inside what is accepted, refused too: photos of more than ``MAX_PIXELS``
(decompression bombs); office documents with macros, embedded OLE objects or
executables; and office documents (zip containers) with more than
``ZIP_MAX_ENTRIES`` entries, more than ``ZIP_MAX_UNPACKED`` bytes unpacked or a
compression ratio above ``ZIP_MAX_RATIO`` (zip bombs). Zip entries are really
unpacked, within that budget, so a bomb that lies about its sizes is caught too.
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
from dataclasses import dataclass

import filetype
import olefile
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
ZIP_KINDS = {"docx", "xlsx", "pptx", "odt", "ods", "odp"}
OLE_KINDS = {"doc", "xls", "ppt"}
GPS_IFD = 0x8825
MAX_PIXELS = 80_000_000  # a 10,000 × 8,000 photo; more is a decompression bomb, not evidence
ZIP_MAX_ENTRIES = 2_000
ZIP_MAX_UNPACKED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100
ZIP_CHUNK = 64 * 1024
# What makes an office document run code or carry another program.
ACTIVE_PARTS = ("vbaproject", "vbadata", "activex", "oleobject", "/embeddings/", "macros/", "basic/", "scripts/")
EXECUTABLE_SUFFIXES = (
    ".exe", ".dll", ".com", ".scr", ".bat", ".cmd", ".ps1", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".hta",
    ".jar", ".msi", ".sh", ".lnk", ".cpl",
)  # fmt: skip
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")
MACRO_CONTENT_TYPE = b"macroEnabled"
OLE_ACTIVE_STREAMS = ("_vba_project", "vba", "macros", "objectpool", "\x01ole10native", "mbd")


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
MSG_PIXELS = N_("The photo “%(name)s” has too many pixels (at most %(mp)s megapixels). Please send a smaller copy.")
MSG_ACTIVE = N_(
    "The document “%(name)s” contains macros, embedded objects or programs, so we cannot accept it. "
    "Please save it as PDF, or copy its text into your report."
)
MSG_BOMB = N_(
    "The document “%(name)s” unpacks to far more than its size, so we cannot accept it. Please send it as PDF."
)


class RefusedFile(Refused):
    def __init__(self, template: str, **params) -> None:
        super().__init__(template % params)
        self.template, self.params = template, params


def detect(content: bytes) -> str | None:
    """The extension of an accepted type, from the bytes alone; None if not accepted.

    Raises ``RefusedFile`` (with the name ``%(name)s`` left to fill) for an accepted type
    whose content is dangerous: too many pixels, macros or embedded programs, a zip bomb.
    """
    kind = filetype.guess(content[:8192] if len(content) > 8192 else content)
    if kind is None:
        return None
    ext = kind.extension
    if ext not in ALLOWED:
        return None
    if ext in IMAGE_KINDS:
        return ext if _image_ok(content) else None
    if ext in ZIP_KINDS:
        return ext if _zip_document_ok(content) else None
    if ext in OLE_KINDS:
        return ext if _ole_document_ok(content) else None
    return ext


class _Dangerous(Exception):
    def __init__(self, template: str, **params) -> None:
        super().__init__(template)
        self.template, self.params = template, params


def _image_ok(content: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own limit and raises past twice that: both are a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise _Dangerous(MSG_PIXELS, mp=MAX_PIXELS // 1_000_000)
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Dangerous(MSG_PIXELS, mp=MAX_PIXELS // 1_000_000) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


def _zip_document_ok(content: bytes) -> bool:
    """An office document that is a zip: no active parts, and it really unpacks within the limits."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_MAX_ENTRIES:
                raise _Dangerous(MSG_BOMB)
            unpacked = 0
            for entry in entries:
                name = "/" + entry.filename.lower()
                if any(part in name for part in ACTIVE_PARTS) or name.endswith(EXECUTABLE_SUFFIXES):
                    raise _Dangerous(MSG_ACTIVE)
                if entry.compress_size and entry.file_size / entry.compress_size > ZIP_MAX_RATIO:
                    raise _Dangerous(MSG_BOMB)
                macro_types = name == "/[content_types].xml"  # .docm/.xlsm/.pptm declare themselves here
                with archive.open(entry) as fh:
                    first = True
                    while chunk := fh.read(ZIP_CHUNK):
                        if first and (
                            chunk.startswith(EXECUTABLE_MAGIC) or (macro_types and MACRO_CONTENT_TYPE in chunk)
                        ):
                            raise _Dangerous(MSG_ACTIVE)
                        first = False
                        unpacked += len(chunk)
                        if unpacked > ZIP_MAX_UNPACKED or unpacked > ZIP_MAX_RATIO * len(content):
                            raise _Dangerous(MSG_BOMB)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError):
        return False
    return True


def _ole_document_ok(content: bytes) -> bool:
    """A legacy Word/Excel/PowerPoint file: no VBA macros, no embedded OLE objects or packages."""
    try:
        with olefile.OleFileIO(content) as ole:
            streams = ["/".join(path).lower() for path in ole.listdir(streams=True, storages=True)]
    except (OSError, ValueError, IndexError, TypeError):
        return False
    if any(part.startswith(OLE_ACTIVE_STREAMS) for path in streams for part in path.split("/")):
        raise _Dangerous(MSG_ACTIVE)
    return True


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
    try:
        kind = detect(content)
    except _Dangerous as exc:
        raise RefusedFile(exc.template, name=name, **exc.params) from exc
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
