"""Raw bytes → the message tree (stdlib `Message`) and mail-parser's view of it.

Owns: handing the bytes to mail-parser (falling back to the stdlib parser when
it raises), CR-only line ends, repairing a header block that real mailers break
(unindented wrapped lines, a banner above the headers) and collecting
mail-parser's own defect list.

Must not: decode header values or walk the MIME parts (`headers`, `mime`), or
raise: every repair and fallback is recorded in `defects`.
"""

from __future__ import annotations

import email
import email.errors
import re
from email.message import Message

import mailparser


def load_message(raw: bytes, defects: list[str]) -> tuple[Message, object | None]:
    """The message tree and the mail-parser object (None when mail-parser raised)."""
    if b"\r" in raw and b"\n" not in raw:
        # Old Mac line ends: the stdlib splits headers on them but not encoded
        # bodies (quoted-printable, base64), so bodies would come out cut short.
        defects.append("CR-only line endings converted to LF")
        raw = raw.replace(b"\r", b"\n")
    raw = _close_header_names(raw, defects)
    msg, mp = _parse_bytes(raw, defects)
    if _header_block_broken(msg):
        repaired = _repair_header_block(raw)
        if repaired is not None:
            defects.append("header block repaired (stray lines joined or dropped)")
            msg, mp = _parse_bytes(repaired, defects)
    if mp is not None:
        defects.extend(_mailparser_defects(mp))
    return msg, mp


def _parse_bytes(raw: bytes, defects: list[str]) -> tuple[Message, object | None]:
    try:
        mp = mailparser.parse_from_bytes(raw)
        return mp.message, mp
    except Exception as exc:  # noqa: BLE001 - fall back to the stdlib parser
        defects.append(f"mail-parser failed: {type(exc).__name__}: {exc}")
    return email.message_from_bytes(raw), None


def _header_block_broken(msg: Message) -> bool:
    """The stdlib stopped reading headers at a line that is not a header."""
    return (
        any(isinstance(d, email.errors.MissingHeaderBodySeparatorDefect) for d in msg.defects)
        or not msg.keys()
    )


_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
# RFC 5322 section 4.5.3 (obs-optional): white space between a field name and its colon.
_SPACED_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def _close_header_names(raw: bytes, defects: list[str]) -> bytes:
    """`Subject : x` → `Subject: x` in the top header block, so it parses as that header.

    The stdlib takes such a line for the end of the headers, and every header below
    it would vanish (issue 10); DKIM's relaxed canonicalisation reads it as the field.
    """
    end = _HEAD_END.search(raw)
    head = raw[: end.start()] if end else raw
    if not _SPACED_NAME.search(head):
        return raw
    defects.append("white space before a header's colon (RFC 5322 obsolete syntax) removed")
    return _SPACED_NAME.sub(rb"\1:", head) + raw[len(head) :]


_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _repair_header_block(raw: bytes) -> bytes | None:
    """Join stray lines inside the header block to the header above them.

    Real mailers wrap long headers without indenting, and some gateways put a
    banner line above the headers; both stop the RFC 5322 parser early, so the
    Subject and From further down would be lost. Returns None when the start of
    the input does not look like a header block at all.
    """
    out: list[bytes] = []
    headers = 0
    pos = 0
    for line in _LINES.findall(raw):
        if not line.strip(b"\r\n"):
            break  # the blank line that ends the header block
        pos += len(line)
        if _HEADER_LINE.match(line) or (not out and line.startswith(b"From ")):
            headers += bool(_HEADER_LINE.match(line))
            out.append(line)
        elif out and line[:1] in b" \t":
            out.append(line)
        elif headers:
            out.append(b" " + line)
        # else: a banner above the first header, dropped
    if headers < 2:
        return None
    return b"".join(out) + raw[pos:]


def _mailparser_defects(mp: object) -> list[str]:
    found: list[str] = []
    for entry in getattr(mp, "defects", None) or []:
        for key, values in dict(entry).items():
            found.extend(f"{key}: {value}" for value in values)
    return found
