"""The shape limits a message must keep before it is parsed at all (issue 10: bounded work).

Owns: `check_bounds(raw)` — refuses, with the reason, a message whose top header block
has more than `MAX_HEADER_FIELDS` fields or more than `MAX_HEADER_BYTES` of them (each
field counted up to the 16 KB it is read to), or a MIME part whose header block is over
`MAX_PART_HEADER_BYTES` (100,000 RFC 2231 continuations), or more than `MAX_LINES`
line breaks (the stdlib parser keeps an object per line: 5,000,000 bare CRs cost 400 MB).
Real mail stays far below each; past them the parsers cost minutes and hundreds of MB.
Linear scans.

Must not: parse, repair or cut anything (`load` does), or drop mail: the caller raises
`UnparseableMail` and the intake quarantines the message, kept raw, staff alerted.
"""

from __future__ import annotations

import re

MAX_HEADER_FIELDS = 1_000  # a long Received chain is some 50; DKIM/ARC add a dozen
MAX_HEADER_BYTES = 2 * 1024 * 1024
MAX_FIELD_BYTES = 16_384  # what `load` reads of one field
MAX_PART_HEADER_BYTES = 64 * 1024
MAX_LINES = 2_000_000  # 50 MB of base64 is 690,000 lines; of 100-character log lines 500,000

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^[^ \t\r\n][^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.MULTILINE)
_PART_HEAD = re.compile(rb"^--[^\s][^\r\n]{0,199}\r?\n(?=[!-9;-~]+[ \t]*:)", re.MULTILINE)


def check_bounds(raw: bytes) -> str | None:
    """Why `raw` is over a shape limit (a sentence for the quarantine entry), or None."""
    lines = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    if lines > MAX_LINES:
        return f"{lines:,} lines, over {MAX_LINES:,}: not read (kept raw)"
    end = _HEAD_END.search(raw)
    head = raw[: end.start()] if end else raw
    size = 0
    for fields, match in enumerate(_FIELD.finditer(head), start=1):
        size += min(len(match.group(0)), MAX_FIELD_BYTES)
        if fields > MAX_HEADER_FIELDS:
            return f"over {MAX_HEADER_FIELDS:,} header fields: not read (kept raw)"
    if size > MAX_HEADER_BYTES:
        return f"header block of {size:,} B, over {MAX_HEADER_BYTES:,} B: not read (kept raw)"
    return _part_heads(raw, end.end() if end else len(raw))


def _part_heads(raw: bytes, start: int) -> str | None:
    """Each MIME part's header block, found once (blocks never overlap): linear."""
    pos = start
    for match in _PART_HEAD.finditer(raw, start):
        if match.start() < pos:
            continue
        end = _HEAD_END.search(raw, match.end() - 2, match.end() + MAX_PART_HEADER_BYTES)
        if end is None and len(raw) - match.end() > MAX_PART_HEADER_BYTES:
            return f"a MIME part header over {MAX_PART_HEADER_BYTES:,} B: not read (kept raw)"
        pos = end.end() if end else len(raw)
    return None
