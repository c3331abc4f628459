"""The top-level `parse()`: raw bytes → one `ParsedMail`, assembled from the other modules.

Owns: refusing input with nothing usable in it or past the shape limits
(`UnparseableMail`, `bounds`), choosing
the large-message path (`large`) and falling back to the normal one, and
putting the values of `load`, `headers`, `addresses`, `dates`, `mime` and
`owntext` together into `domain.mail.ParsedMail` (SPEC §5).

Must not: decode, repair or walk anything itself (each step has its module),
or make a business decision about the message.
"""

from __future__ import annotations

from email.message import Message

from mailintake.adapters.parse import large
from mailintake.adapters.parse.addresses import address_list, sender
from mailintake.adapters.parse.bounds import check_bounds
from mailintake.adapters.parse.dates import message_date
from mailintake.adapters.parse.defects import MAX_DEFECTS
from mailintake.adapters.parse.headers import (
    charset_hint,
    header_items,
    msg_ids,
    one_line,
    trimmed_references,
)
from mailintake.adapters.parse.load import load_message
from mailintake.adapters.parse.mime import Body
from mailintake.adapters.parse.owntext import strip_forward, strip_reply
from mailintake.domain.mail import ParsedMail
from mailintake.domain.subjects import is_forward


class UnparseableMail(Exception):
    """The bytes hold nothing a ticket could be made of, or are past a shape limit (`bounds`)."""


def _check_usable(raw: bytes) -> None:
    if not raw.strip():  # corpus sisimai/mailbox/size-0, size-1
        raise UnparseableMail("empty input")
    if (over := check_bounds(raw)) is not None:  # bounded work (issue 10)
        raise UnparseableMail(over)


def parse(raw: bytes) -> ParsedMail:
    """Parse one raw message; raises only `UnparseableMail`, when nothing usable is in it."""
    _check_usable(raw)
    if len(raw) > large.LARGE_MESSAGE_BYTES:
        parsed = _parse_large(raw)
        if parsed is not None:
            return parsed
    return _parse(raw)


def _parse(raw: bytes) -> ParsedMail:
    """One message parsed the normal way, its whole MIME tree in memory."""
    defects: list[str] = []
    msg, mp = load_message(raw, defects)
    headers = header_items(msg, defects)

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    hint = charset_hint(msg)
    from_name, from_addr = sender(msg, defects, hint)
    body = Body(defects, hint, linesep=b"\r\n" if b"\r\n" in raw[:4096] else b"\n")
    body.walk(msg)
    text = body.text()
    if not headers and not text.strip() and not body.attachments:
        raise UnparseableMail("no headers and no body")
    return ParsedMail(
        message_id=next(iter(msg_ids(first("message-id"))), None),
        subject=one_line(first("subject") or ""),
        from_addr=from_addr or None,
        from_name=from_name,
        to=address_list(msg, "to", hint),
        cc=address_list(msg, "cc", hint),
        reply_to=address_list(msg, "reply-to", hint),
        date=message_date(mp, first("date"), defects),
        in_reply_to=msg_ids(first("in-reply-to")),
        references=trimmed_references(msg_ids(" ".join(headers.get("references", ()))), defects),
        headers=headers,
        content_type=_content_type(msg),
        text=text,
        html=body.html(),
        own_text=strip_forward(text) if is_forward(first("subject") or "") else strip_reply(text),
        attachments=tuple(body.attachments),
        defects=tuple(dict.fromkeys(defects))[:MAX_DEFECTS],
    )


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _parse_large(raw: bytes) -> ParsedMail | None:
    """`_parse(raw)`'s result, computed without the big base64 parts in the MIME tree.

    Each big part's body is replaced by a small base64 token; the reduced
    message is parsed as usual and each token attachment gets its part's data,
    decoded straight from `raw`. None (parse normally) when the line ends are
    mixed or some token does not come back as exactly one attachment.
    """
    cut = large.cut_large_parts(raw)
    if cut is None:
        return None
    reduced, tokens = cut
    return large.with_large_parts(_parse(reduced), raw, tokens)
