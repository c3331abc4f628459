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
import struct

from tnefparse import TNEF, TNEFAttachment

from mailintake.adapters.parse.charsets import decode_bytes
from mailintake.adapters.parse.filenames import sanitize_filename
from mailintake.domain.mail import Attachment


def is_tnef(ctype: str, name: str | None) -> bool:
    """A TNEF stream: by its content type, or by the name Outlook gives it."""
    if ctype in ("application/ms-tnef", "application/vnd.ms-tnef"):
        return True
    return (name or "").strip().lower() == "winmail.dat"


MAX_ATTACHMENTS = 200  # tnefparse's time grows with the square of the attachments (issue 10)
_ATTACH_REND_DATA = 0x00069002  # MS-OXTNEF 2.1.3.3: each attachment starts with it
_SIGNATURE = struct.pack("<I", 0x223E9F78)


def bounded(data: bytes) -> tuple[bytes, bool]:
    """The stream up to its `MAX_ATTACHMENTS`-th attachment; True when it was cut.

    Walks the attribute headers (level 1 B, id 4 B, length 4 B, data, checksum 2 B;
    MS-OXTNEF 2.1.3) without reading their data: linear, whatever tnefparse costs.
    """
    if not data.startswith(_SIGNATURE):
        return data, False
    pos, seen = 6, 0
    while pos + 9 <= len(data):
        _level, attribute, length = struct.unpack_from("<BII", data, pos)
        if attribute == _ATTACH_REND_DATA:
            seen += 1
            if seen > MAX_ATTACHMENTS:
                return data[:pos], True
        pos += 9 + length + 2
    return data, False


def tnef_contents(
    data: bytes,
) -> tuple[list[Attachment], tuple[str, str] | None, str | None]:
    """Attachments, body (kind, text) and the problem found, if any."""
    data, cut = bounded(data)
    try:
        tnef = TNEF(data)
    except Exception as exc:  # noqa: BLE001 - tnefparse raises many kinds
        return [], None, f"unreadable ({type(exc).__name__})"
    found = [_tnef_attachment(a) for a in tnef.attachments]
    body = _tnef_body(tnef)
    return found, body, _problem(tnef, found, body, cut)


def _problem(
    tnef: TNEF, found: list[Attachment], body: tuple[str, str] | None, cut: bool
) -> str | None:
    """What is wrong with the stream (the caller then keeps the original), or None."""
    if cut:
        return f"holds over {MAX_ATTACHMENTS} files: the rest not read"
    if any(not getattr(o, "good_checksum", True) for o in tnef.objects):
        return "has bad checksums"
    if not found and body is None:
        return "holds no attachment and no readable body"
    if any(not _tnef_name(a) for a in tnef.attachments):
        return "has an attachment without a name"
    return None


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
