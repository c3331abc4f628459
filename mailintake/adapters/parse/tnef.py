"""Outlook's winmail.dat (TNEF, MS-OXTNEF): the files and the body packed inside it.

Owns: recognising a TNEF part (by content type or the name winmail.dat),
unpacking its attachments with safe names and its plain or HTML body, and
saying what is wrong with a stream (unreadable, bad checksums, nothing inside,
a file without a name) so the caller keeps the original.

Must not: raise (tnefparse's many exception kinds become a problem text), walk
MIME, or convert compressed RTF (no decompressor is installed).
"""

from __future__ import annotations

import mimetypes

from tnefparse import TNEF, TNEFAttachment

from mailintake.adapters.parse.charsets import decode_bytes
from mailintake.adapters.parse.filenames import sanitize_filename
from mailintake.domain.mail import Attachment


def is_tnef(ctype: str, name: str | None) -> bool:
    """A TNEF stream: by its content type, or by the name Outlook gives it."""
    if ctype in ("application/ms-tnef", "application/vnd.ms-tnef"):
        return True
    return (name or "").strip().lower() == "winmail.dat"


def tnef_contents(
    data: bytes,
) -> tuple[list[Attachment], tuple[str, str] | None, str | None]:
    """Attachments, body (kind, text) and the problem found, if any."""
    try:
        tnef = TNEF(data)
    except Exception as exc:  # noqa: BLE001 - tnefparse raises many kinds
        return [], None, f"unreadable ({type(exc).__name__})"
    found = [_tnef_attachment(a) for a in tnef.attachments]
    body = _tnef_body(tnef)
    problem = None
    if any(not getattr(o, "good_checksum", True) for o in tnef.objects):
        problem = "has bad checksums"
    elif not found and body is None:
        problem = "holds no attachment and no readable body"
    elif any(not _tnef_name(a) for a in tnef.attachments):
        problem = "has an attachment without a name"
    return found, body, problem


def _tnef_name(att: TNEFAttachment) -> str:
    try:
        name = att.long_filename()
    except Exception:  # noqa: BLE001
        name = ""
    if isinstance(name, bytes):
        name = decode_bytes(name, None)
    return str(name or "").strip("\x00").strip()


def _tnef_attachment(att: TNEFAttachment) -> Attachment:
    name = sanitize_filename(_tnef_name(att), fallback="attachment.dat")
    ctype = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    data = getattr(att, "data", b"") or b""
    return Attachment(name, ctype, data if isinstance(data, bytes) else bytes(data))


def _tnef_body(tnef: TNEF) -> tuple[str, str] | None:
    for kind, value in (("plain", tnef.body), ("html", tnef.htmlbody)):
        if isinstance(value, bytes):
            value = decode_bytes(value, None)
        if value and str(value).strip("\x00").strip():
            return kind, str(value).strip("\x00")
    return None  # compressed RTF is not converted (no decompressor installed)
