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
from email.parser import BytesHeaderParser

import mailparser


def load_message(raw: bytes, defects: list[str]) -> tuple[Message, object | None]:
    """The message tree and the mail-parser object (None when mail-parser raised)."""
    if b"\r" in raw and b"\n" not in raw:
        # Old Mac line ends: the stdlib splits headers on them but not encoded
        # bodies (quoted-printable, base64), so bodies would come out cut short.
        defects.append("CR-only line endings converted to LF")
        raw = raw.replace(b"\r", b"\n")
    raw = _close_header_names(raw, defects)
    raw = _close_part_header_names(raw, defects)
    raw = _bounded_fields(raw, defects)
    raw = _bounded_parts(raw, defects)
    msg, mp = _parse_bytes(raw, defects)
    if _header_block_broken(msg):
        repaired = _repair_header_block(raw)
        if repaired is not None:
            defects.append("header block repaired (stray lines joined or dropped)")
            msg, mp = _parse_bytes(repaired, defects)
    if mp is not None:
        defects.extend(_mailparser_defects(mp))
    return msg, mp


MAX_FIELD_BYTES = 16_384  # RFC 5322 allows 998 per line; folded fields rarely pass 2 kB
_FIELDS = re.compile(rb"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*(?:\r?\n|$)")


def _bounded_fields(raw: bytes, defects: list[str]) -> bytes:
    """Each top-level header field cut to `MAX_FIELD_BYTES`; every field is kept.

    mail-parser decodes Subject with the stdlib's quadratic `decode_header` and parses
    every address of To/Cc: 100,000 encoded words or addresses cost minutes (issue 10).
    Fields are never dropped, so a duplicated single-instance field is still seen.
    """
    end = _HEAD_END.search(raw)
    head = raw[: end.start()] if end else raw
    if len(head) <= MAX_FIELD_BYTES:
        return raw
    fields = _FIELDS.findall(head)
    if all(len(f) <= MAX_FIELD_BYTES for f in fields):
        return raw
    defects.append(f"header fields over {MAX_FIELD_BYTES} bytes cut (kept in the raw copy)")
    cut = [f if len(f) <= MAX_FIELD_BYTES else _cut_field(f) for f in fields]
    return b"".join(cut) + raw[len(head) :]


def _cut_field(field: bytes) -> bytes:
    """The field's first `MAX_FIELD_BYTES`, ending at a folding point, with its line end.

    References keeps its first id and its end instead: the nearest ids are last (RFC 5322
    §3.6.4), and they are what threads a reply.
    """
    eol = b"\r\n" if b"\r\n" in field[:MAX_FIELD_BYTES] else b"\n"
    if field[:11].lower() == b"references:":
        head = field[: field.find(b">", 0, 1024) + 1] or field[:11]
        tail = field.rstrip(b"\r\n")[-(MAX_FIELD_BYTES - len(head)) :]
        return head + b" " + tail[tail.find(b"<") :].lstrip() + eol
    kept = field[:MAX_FIELD_BYTES]
    fold = max(kept.rfind(b"\n"), kept.rfind(b" "), kept.rfind(b","))
    kept = kept[:fold] if fold > 0 else kept
    return kept.rstrip(b"\r\n ,") + eol


MAX_PART_STARTS = 1000  # a part starts where a `--boundary` line meets a header line
# Any header line after a boundary-like line, not only Content-*: 100,000 parts starting
# with `X-Part:` must count as well (issue 10).
_PART_START = re.compile(rb"^--[^\r\n]{1,200}\r?\n(?=[!-9;-~]+[ \t]*:)", re.MULTILINE)


def _bounded_parts(raw: bytes, defects: list[str]) -> bytes:
    """The bytes up to the `MAX_PART_STARTS`-th MIME part: the parsers cost seconds per
    10,000 parts (mail-parser reads each one twice). The rest stays in the raw copy."""
    for count, match in enumerate(_PART_START.finditer(raw), start=1):
        if count > MAX_PART_STARTS:
            defects.append(f"over {MAX_PART_STARTS} MIME parts: the rest not read, kept raw")
            return raw[: match.start()]
    return raw


def _parse_bytes(raw: bytes, defects: list[str]) -> tuple[Message, object | None]:
    try:
        mp = mailparser.parse_from_bytes(raw)
        return mp.message, mp
    except Exception as exc:  # noqa: BLE001 - fall back to the stdlib parser
        defects.append(f"mail-parser failed: {type(exc).__name__}: {exc}"[:300])
    try:
        return email.message_from_bytes(raw), None
    except RecursionError:
        return _flat(raw, defects), None


def _flat(raw: bytes, defects: list[str]) -> Message:
    """The headers, and the body as one text part: the stdlib parser recurses once per
    MIME level, so 1,000 nested multiparts exhaust the stack (issue 10). Nothing is lost:
    the raw copy is kept."""
    defects.append("MIME structure nested too deep to read: the body kept as text")
    end = _HEAD_END.search(raw)
    head, body = (raw[: end.start()], raw[end.end() :]) if end else (raw, b"")
    msg = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
    for name in ("content-type", "content-transfer-encoding"):
        del msg[name]
    msg["Content-Type"] = "text/plain; charset=utf-8"
    msg.set_payload(body.decode("utf-8", errors="replace"))
    return msg


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


# A MIME part's header block: a boundary line, then header lines up to the blank line.
_PART_HEAD = re.compile(rb"^--[^\s][^\r\n]{0,199}\r?\n((?:[^\r\n]+\r?\n){1,100})", re.MULTILINE)
_SPACED_CONTENT = re.compile(rb"^((?:content-[a-z0-9-]+|mime-version))[ \t]+:", re.I | re.M)


def _close_part_header_names(raw: bytes, defects: list[str]) -> bytes:
    """`Content-Type : x` → `Content-Type: x` in each MIME part's header block (issue 10).

    As for the top block: the stdlib would end the part's headers there, and the part
    (often the client's attachment) would become text. Only `Content-*` and
    `MIME-Version` fields after a boundary line are touched, never body text.
    """
    if not _SPACED_CONTENT.search(raw):
        return raw

    def closed(match: re.Match[bytes]) -> bytes:
        block = match.group(1)
        return match.group(0)[: match.start(1) - match.start(0)] + _SPACED_CONTENT.sub(
            rb"\1:", block
        )

    fixed = _PART_HEAD.sub(closed, raw)
    if fixed != raw:
        defects.append("white space before a MIME part header's colon removed")
    return fixed


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
