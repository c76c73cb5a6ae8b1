"""Where a ``next`` parameter may send the browser: a path on this site, nothing else."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# Browsers drop these from URLs before reading them ("/\t/evil.example" is "//evil.example").
_STRIPPED = str.maketrans("", "", "\t\n\r")


def local_path(target: str | None, default: str = "/", prefix: str = "/") -> str:
    """``target`` if, read as a browser reads it, it is a path on this site under ``prefix``; else ``default``.

    Refused: any scheme or host, a second leading slash or backslash (protocol-relative),
    control characters, and anything that does not start with ``prefix``.
    """
    if not target:
        return default
    cleaned = target.translate(_STRIPPED).replace("\\", "/")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned) or not cleaned.startswith("/") or cleaned.startswith("//"):
        return default
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    if not parts.path.startswith(prefix):
        return default
    return urlunsplit(("", "", parts.path, parts.query, ""))
