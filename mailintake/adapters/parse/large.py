"""Large messages (issue 7: peak memory ≤ 4 × message size + 80 MB): big base64 parts cut out.

Owns: the size above which a message takes this path, finding the big, clean
base64 leaf bodies in the raw bytes (split as the stdlib's FeedParser does,
RFC 2046 §5.1.1), replacing each by a small base64 token, and giving each token
attachment of the parsed result its part's data decoded straight from the raw
bytes (RFC 2045 §6.8).

Must not: parse the reduced message itself (`assemble` does, as any other), or
change the result: whenever the scan is unsure (mixed line ends, a header it
cannot read, a token not found exactly once) it answers None and the message
is parsed normally.
"""

from __future__ import annotations

import binascii
import email.policy
import re
import uuid
from dataclasses import replace
from email.message import Message
from email.parser import BytesHeaderParser

from mailintake.domain.mail import ParsedMail

# Above this size the big base64 parts are cut out before parsing: the stdlib
# (and so mail-parser) holds a 50 MB message as a str, a list of lines, the
# joined payload and its decoded bytes at once (~8 × the size).
LARGE_MESSAGE_BYTES = 5 * 1024 * 1024
_LARGE_PART_BYTES = 256 * 1024
_MAX_SCAN_DEPTH = 20
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\r\n]")
_NOT_PADDING = re.compile(rb"[^=\r\n]")
_DELIMITER_TAIL = re.compile(rb"(?:--)?[ \t]*")
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")


def cut_large_parts(raw: bytes) -> tuple[bytes, dict[bytes, tuple[int, int]]] | None:
    """`raw` with each big, clean base64 leaf body replaced by a token, and token → (start, end).

    None when there is nothing to cut, the line ends are mixed or a header
    cannot be scanned: the message is then parsed normally.
    """
    linesep = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    if raw.count(b"\r") != (raw.count(b"\r\n") if linesep == b"\r\n" else 0):
        return None  # the stdlib also splits lines at a lone CR: offsets would differ
    spans: list[tuple[int, int]] = []
    try:
        _scan_part(raw, 0, len(raw), linesep, spans, 0)
    except Exception:  # noqa: BLE001 - a header the scan cannot read: parse normally
        return None
    if not spans:
        return None
    tokens: dict[bytes, tuple[int, int]] = {}
    pieces: list[bytes] = []
    pos = 0
    for start, end in spans:
        token = f"mailintake large part {len(tokens)} {uuid.uuid4().hex}".encode("ascii")
        tokens[token] = (start, end)
        pieces += [raw[pos:start], binascii.b2a_base64(token, newline=False)]
        pos = end
    pieces.append(raw[pos:])
    return b"".join(pieces), tokens


def with_large_parts(
    mail: ParsedMail, raw: bytes, tokens: dict[bytes, tuple[int, int]]
) -> ParsedMail | None:
    """`mail` with each token attachment's data decoded from its (start, end) range of `raw`.

    None when the number of token attachments differs from the number of tokens.
    """
    attachments = []
    found = 0
    for att in mail.attachments:
        span = tokens.get(att.data)
        if span is not None:
            found += 1
            # Non-strict a2b_base64 skips the line ends; the body was checked to be
            # clean base64, so this is what the stdlib's decoding gives (RFC 2045 6.8).
            att = replace(att, data=binascii.a2b_base64(memoryview(raw)[span[0] : span[1]]))
        attachments.append(att)
    if found != len(tokens):
        return None
    return replace(mail, attachments=tuple(attachments))


def _scan_part(
    raw: bytes, start: int, end: int, sep: bytes, spans: list[tuple[int, int]], depth: int
) -> None:
    """Collect (start, end) of the big, clean base64 leaf bodies within raw[start:end]."""
    if depth > _MAX_SCAN_DEPTH:
        return
    if raw.startswith(sep, start):
        return  # no headers: the default type is never base64
    head_end = raw.find(sep + sep, start, end)
    if head_end < 0:
        return
    body = head_end + 2 * len(sep)
    head = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[start:body])
    ctype = head.get_content_type()
    if ctype.startswith("multipart/"):
        for part_start, part_end in _multipart_spans(raw, body, end, head, sep):
            _scan_part(raw, part_start, part_end, sep, spans, depth + 1)
    elif (
        _extractable(head, ctype)
        and end - body >= _LARGE_PART_BYTES
        and _clean_base64(raw, body, end)
    ):
        spans.append((body, end))


def _extractable(head: Message, ctype: str) -> bool:
    """A base64 leaf whose data `Body` keeps as it is (not TNEF, not a message)."""
    if ctype.startswith("message/") or ctype in _TNEF_TYPES:
        return False
    if str(head.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return False
    if "winmail" in str(head).lower():
        return False  # TNEF by name is unpacked: keep it
    # mail-parser decodes an unnamed part as body text and notes a charset
    # defect for binary data; only a named part or an attachment is left alone.
    return head.get_content_disposition() == "attachment" or bool(head.get_filename())


def _multipart_spans(
    raw: bytes, body: int, end: int, head: Message, sep: bytes
) -> list[tuple[int, int]]:
    """The parts' byte ranges, split as the stdlib's FeedParser does (RFC 2046 5.1.1).

    A delimiter is a whole line "--boundary", optionally "--" and blanks; the
    line end before it belongs to the delimiter.
    """
    boundary = head.get_boundary()
    if not boundary:
        return []
    try:
        delimiter = b"--" + boundary.encode("ascii")
    except UnicodeError:
        return []
    spans: list[tuple[int, int]] = []
    part_start = None
    pos = body - len(sep)  # so a delimiter on the body's first line is found too
    while True:
        hit = raw.find(sep + delimiter, pos, end)
        if hit < 0:
            break
        line = hit + len(sep)
        line_end = raw.find(sep, line, end)
        line_end = end if line_end < 0 else line_end
        tail = raw[line + len(delimiter) : line_end]
        pos = line_end
        if not _DELIMITER_TAIL.fullmatch(tail):
            continue
        if part_start is not None:
            spans.append((part_start, hit))
        if tail.startswith(b"--"):
            return spans
        part_start = line_end + len(sep)
    if part_start is not None and part_start < end:
        spans.append((part_start, end))
    return spans


def _clean_base64(raw: bytes, start: int, end: int) -> bool:
    """Only base64 letters and line ends, padding at the end, a multiple of 4 letters."""
    if _NOT_BASE64.search(raw, start, end):
        return False
    pad = raw.find(b"=", start, end)
    if pad >= 0 and (_NOT_PADDING.search(raw, pad, end) or raw.count(b"=", pad, end) > 2):
        return False
    letters = end - start - raw.count(b"\r", start, end) - raw.count(b"\n", start, end)
    return letters % 4 == 0
