"""Header values as text: RFC 5322 unfolding, decoded values, Message-ID lists.

Owns: every header of a parsed message tree as lower-case name → decoded values
(top first), unfolding (RFC 5322 §2.2.3) and folding white space, the body
charset used as a hint for raw 8-bit header bytes, and bare Message-IDs.

Must not: raise on a broken header (it is recorded in `defects` and read as
well as it can be), parse addresses or dates (`addresses`, `dates`), or repair
the header block itself (`load` does that before the tree is built).
"""

from __future__ import annotations

import hashlib
import re
from email.message import Message

from mailintake.adapters.parse.encoded_words import decode_words


def unfold(value: str) -> str:
    """RFC 5322 §2.2.3: unfolding removes the CRLF, the white space stays."""
    if "\n" not in value and "\r" not in value:
        return value
    return re.sub(r"\r\n|\r|\n", "", value)


def one_line(value: str) -> str:
    """Collapse folding white space (ASCII only: U+3000 in CJK text is content)."""
    return re.sub(r"[ \t\r\n]+", " ", value).strip(" \t\r\n")


def header_items(msg: Message, defects: list[str]) -> dict[str, tuple[str, ...]]:
    """All headers, lower-case names, decoded values in order, top first."""
    headers: dict[str, list[str]] = {}
    hint = charset_hint(msg)
    try:
        items = list(msg.raw_items())
    except Exception as exc:  # noqa: BLE001 - a broken header must not stop intake
        defects.append(f"headers unreadable: {exc!r}")
        return {}
    for name, raw in items:
        value = _header_text(raw, defects, hint)
        headers.setdefault(str(name).strip().lower(), []).append(value)
    return {name: tuple(values) for name, values in headers.items()}


def header_text(msg: Message, name: str, defects: list[str], hint: str | None) -> str:
    """The first value of header `name`, decoded as top-level headers are (RFC 2047, 8-bit)."""
    try:
        raw = next((v for n, v in msg.raw_items() if n.strip().lower() == name), None)
    except Exception as exc:  # noqa: BLE001 - a broken header must not stop intake
        defects.append(f"headers unreadable: {exc!r}")
        return ""
    return "" if raw is None else _header_text(raw, defects, hint)


def charset_hint(msg: Message) -> str | None:
    """The top part's declared charset: the likely code page of raw 8-bit header bytes."""
    try:
        return msg.get_content_charset()
    except Exception:  # noqa: BLE001
        return None


def _header_text(raw: object, defects: list[str], hint: str | None) -> str:
    try:
        return decode_words(unfold(str(raw)), defects, hint).strip()
    except Exception as exc:  # noqa: BLE001 - e.g. an odd Header object
        defects.append(f"header undecodable: {exc!r}")
        return unfold(str(raw).encode("utf-8", "replace").decode("utf-8")).strip()


_MSGID = re.compile(r"<([^<>]*)>")
_NOT_IN_ID = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
MAX_ID_BYTES = 250  # a Message-ID is an index key: PostgreSQL's B-tree holds ~2,700 bytes
MAX_REFERENCES = 50  # RFC 5322 §3.6.4: a trimmed References keeps the first and the latest


def msg_ids(value: str | None) -> tuple[str, ...]:
    """Bare Message-IDs (no brackets, white space or control characters) in order, each once.

    Control characters (C0 with NUL, DEL, C1) are removed here, the one place every
    Message-ID, In-Reply-To and References id passes, so each database looks up and
    stores the same value (PostgreSQL refuses NUL, SQLite keeps it; issue 10).

    An id longer than `MAX_ID_BYTES` in UTF-8 is shortened to its start and a SHA-256 of
    the whole, the same way wherever it appears, so threading still matches (issue 10).
    """
    if not value:
        return ()
    found = [_NOT_IN_ID.sub("", m) for m in _MSGID.findall(value)]
    if not found:  # some mailers omit the brackets
        found = [_NOT_IN_ID.sub("", m) for m in value.split()]
    return tuple(dict.fromkeys(bounded_id(mid) for mid in found if mid))


def bounded_id(mid: str) -> str:
    """`mid` itself, or its first 180 bytes and a digest of the whole when it is longer."""
    data = mid.encode("utf-8", errors="surrogatepass")
    if len(data) <= MAX_ID_BYTES:
        return mid
    head = data[:180].decode("utf-8", errors="ignore")
    return f"{head}#sha256:{hashlib.sha256(data).hexdigest()[:32]}"


def trimmed_references(ids: tuple[str, ...], defects: list[str]) -> tuple[str, ...]:
    """At most `MAX_REFERENCES` ids: the thread's first and the latest (issue 10)."""
    if len(ids) <= MAX_REFERENCES:
        return ids
    defects.append(f"References with {len(ids)} ids: the first and the last 49 kept")
    return (ids[0], *ids[-(MAX_REFERENCES - 1) :])
