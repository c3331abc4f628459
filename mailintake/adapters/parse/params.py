"""What a MIME part is called: its parameters, file name, Content-ID and fallback name.

Owns: reading Content-Type / Content-Disposition parameters, the file name
decoded from RFC 2231 (redone when the stdlib gives up on the charset), RFC
2047 words or raw 8-bit bytes, the Content-ID (RFC 2392), a name from
Content-Description (RFC 2045 §8) and a name made from the content type when
the part has none.

Must not: make a name safe (`filenames.sanitize_filename` does), decide whether
a part is a body or a file (`mime`), or raise: an unreadable name is None and
recorded in `defects`.
"""

from __future__ import annotations

import email.utils
import mimetypes
import re
from email.message import Message

from mailintake.adapters.parse.charsets import decode_bytes, has_8bit, unsurrogate
from mailintake.adapters.parse.defects import add_defect
from mailintake.adapters.parse.encoded_words import decode_words
from mailintake.adapters.parse.headers import one_line, unfold


def part_param(part: Message, name: str) -> str | None:
    """Content-Type parameter `name` (e.g. "charset") as text; the value of an RFC 2231 one."""
    try:
        value = part.get_param(name)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value) if value else None


def has_8bit_params(part: Message) -> bool:
    """Some header of `part` holds raw 8-bit bytes (so its file name needs the hint)."""
    return any(has_8bit(str(v)) for _, v in part.raw_items())


def part_filename(part: Message, defects: list[str] | None, hint: str | None) -> str | None:
    """The part's file name, decoded from RFC 2231, RFC 2047 or raw 8-bit.

    Content-Disposition `filename` first, then Content-Type `name` (the stdlib's order),
    each parameter read by itself: one that is missing, empty or broken (`filename*`
    with no value, RFC 2231 `%` escapes that are not hex) falls back to the other, so
    a good `name="spooler.log"` survives a broken `filename*` (issue 10). A broken
    name is used only when there is no other.
    """
    part = _with_decoded_params(part, defects, hint)
    broken: str | None = None
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        name, ok = _param_name(part, header, param, defects, hint)
        if name and ok:
            return name
        broken = broken or name
    return broken


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _param_name(
    part: Message, header: str, param: str, defects: list[str] | None, hint: str | None
) -> tuple[str | None, bool]:
    """(the decoded value of one name parameter, whether it decoded cleanly)."""
    try:
        value = part.get_param(param, header=header)
    except Exception as exc:  # noqa: BLE001
        add_defect(defects, f"{header} {param} unreadable: {exc!r}")
        return None, False
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        charset, _lang, text = value
        text = email.utils.unquote(text or "")
        if not text.strip():
            return None, False
        data = text.encode("latin-1", errors="surrogateescape")
        data = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
        decoded = (decode_bytes(data, charset or "utf-8", defects) or "").strip()
        ok = bool(decoded) and not _BAD_ESCAPE.search(text) and "\ufffd" not in decoded
        if not ok:
            add_defect(defects, f"{header} {param}*: broken RFC 2231 value")
        return decoded or None, ok
    if not value or not str(value).strip():
        return None, False
    return decode_words(unfold(str(value)), defects, hint).strip() or None, True


def _with_decoded_params(part: Message, defects: list[str] | None, hint: str | None) -> Message:
    """A header-only copy whose raw 8-bit parameter bytes are decoded to text.

    compat32 turns raw 8-bit header bytes into U+FFFD before `get_filename`
    sees them; real mailers send Polish and Chinese names that way.
    """
    raw = [(n, str(v)) for n, v in part.raw_items()]
    if not any(has_8bit(v) for _, v in raw):
        return part
    view = Message()
    for name, value in raw:
        if name.lower() in ("content-type", "content-disposition"):
            view[name] = unsurrogate(value, defects, hint)
    return view


def described_name(part: Message, ext: str) -> str | None:
    """A name from Content-Description (RFC 2045 §8), as Exchange labels its reports."""
    value = part.get("content-description")
    if not value:
        return None
    text = one_line(decode_words(unfold(str(value))))
    if not text or len(text) > 80:
        return None
    return text if "." in text[-6:] else f"{text}{ext}"


def part_content_id(part: Message) -> str | None:
    """The Content-ID without angle brackets (RFC 2392), or None."""
    value = part.get("content-id")
    if not value:
        return None
    bare = str(value).strip().strip("<>").strip()
    return bare or None


_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "text/rfc822-headers": ".txt",
    "text/plain": ".txt",
    "application/ms-tnef": ".dat",
    "application/octet-stream": ".bin",
    "image/jpeg": ".jpg",
}


_FALLBACK_STEMS = {"image": "image", "video": "video", "audio": "audio"}
_REPORT_TYPES = ("message/", "text/rfc822-headers")


def fallback_name(ctype: str, content_id: str | None) -> str:
    """A name for a part that has none: its Content-ID when it looks like a file name."""
    if content_id and re.fullmatch(r"[\w.-]+\.\w{2,5}", content_id.split("@", 1)[0]):
        return content_id.split("@", 1)[0]
    ext = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype, strict=False) or ".bin"
    if ctype.startswith(_REPORT_TYPES):  # "delivery-status.txt", as mail clients show it
        return ctype.split("/", 1)[1] + ext
    return _FALLBACK_STEMS.get(ctype.split("/", 1)[0], "attachment") + ext
