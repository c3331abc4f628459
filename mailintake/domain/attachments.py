"""Which attachments are logs and which are screenshots (SPEC §3, fields `logs`, `screenshots`).

Owns: `read_attachments` and `is_signature_image`. A log is a `.log`, a rotated log (`app.log.1`), an archive
(`.zip`, `.7z`, `.rar`, `.gz`, `.tar`, …), a Windows event or trace file, a `.txt` named
like a log (but not "dialog" or "catalog"), or a file without extension sent with an
archive content type. A screenshot is an image that is neither tiny nor a small inline
signature logo (a named file attached on purpose never is one); a file that is a log is
never a screenshot.

Must not: open or unpack an attachment (names, types and sizes only), do I/O or read the
clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailintake.domain.mail import Attachment

_LOG_EXTENSIONS = (".log", ".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".evtx", ".etl")
_ARCHIVE_TYPES = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-rar",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
    }
)
_NOT_LOG_WORDS = ("dialog", "catalog", "katalog", "blog", "logo", "login")
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_TINY_IMAGE = 3 * 1024  # smaller than any useful screenshot
_INLINE_LOGO = 10 * 1024  # inline images under this are signature logos


def _is_log(attachment: Attachment) -> bool:
    """A log file or log archive, by name (or archive type when it has no extension)."""
    name = attachment.filename.lower()
    if name.endswith(_LOG_EXTENSIONS) or re.search(r"\.log\.", name):
        return True  # "app.log.1", "server.log.2024-05-06" are rotated logs
    if name.endswith(".txt"):
        stem = name
        for word in _NOT_LOG_WORDS:
            stem = stem.replace(word, "")
        return "log" in stem
    has_extension = "." in name.rsplit("/", 1)[-1]
    return not has_extension and attachment.content_type.lower() in _ARCHIVE_TYPES


def _is_image(attachment: Attachment) -> bool:
    kind = attachment.content_type.lower()
    return kind.startswith("image/") or attachment.filename.lower().endswith(_IMAGE_EXTENSIONS)


def is_signature_image(attachment: Attachment) -> bool:
    """A tiny image or a small inline one: a signature logo, not a file sent on purpose.

    A named file with `Content-Disposition: attachment` and no Content-ID (the HTML does not
    show it) is never one: someone attached it
    (a 2 kB `zrzut.png` of one dialog box is a screenshot).
    """
    if not _is_image(attachment) or attachment.attached:
        return False
    return attachment.size < _TINY_IMAGE or (attachment.inline and attachment.size < _INLINE_LOGO)


def _is_screenshot(attachment: Attachment) -> bool:
    """An image big enough to show something, and not an inline signature logo."""
    return _is_image(attachment) and not is_signature_image(attachment)


def read_attachments(attachments: Sequence[Attachment], found: dict[str, object]) -> None:
    """The names of the logs and of the screenshots into `found`, each once, in order."""
    logs = [a.filename for a in attachments if _is_log(a)]
    shots = [a.filename for a in attachments if not _is_log(a) and _is_screenshot(a)]
    if logs:
        found["logs"] = list(dict.fromkeys(logs))
    if shots:
        found["screenshots"] = list(dict.fromkeys(shots))
