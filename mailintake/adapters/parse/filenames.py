"""Safe attachment file names (SPEC §5): what staff can save and open as named.

Owns: stripping paths, control and bidi-format characters, the characters and
device names Windows refuses, and bounding a name to a length and 255 UTF-8
bytes with its extension kept.

Must not: decode a name from MIME parameters (`params` does, before calling
here), guess a name from the content type, or touch the filesystem. Never
returns an empty name and never raises.
"""

from __future__ import annotations

import re
import unicodedata

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_MAX_BYTES = 255  # ext4, NTFS and most archive formats


def sanitize_filename(name: str | None, *, fallback: str = "attachment", max_len: int = 150) -> str:
    """A safe base name: no path, no control characters, bounded, never empty (SPEC §5)."""
    clean = _clean_name(name or "")
    if not clean:
        clean = _clean_name(fallback) or "attachment"
    return _bound(clean, max_len)


def _clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"[\t\n\r\v\f]+", " ", name)
    # Control, format (bidi overrides that disguise extensions) and surrogates.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Characters Windows refuses, so staff can save the file as named.
    name = _FORBIDDEN.sub("_", name)
    name = name.strip().lstrip(".").rstrip(". ").strip()
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    return name


def _bound(name: str, max_len: int) -> str:
    """At most `max_len` characters and 255 UTF-8 bytes, the extension kept."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    ext = f".{ext}" if ext else ""
    if len(stem) + len(ext) <= max_len and len(name.encode("utf-8")) <= _MAX_BYTES:
        return name
    stem = stem[: max(1, max_len - len(ext))]
    while len((stem + ext).encode("utf-8")) > _MAX_BYTES and len(stem) > 1:
        stem = stem[:-1]
    return (stem.rstrip(". ") or stem) + ext
