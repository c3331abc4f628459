"""What a message is, from its header block alone: for mail that cannot or may not be parsed whole.

Owns: `summarise(head)` — sender, subject, Date and Message-ID read from the
first `HEAD_BYTES` of a message with the same decoders as a full parse, for
quarantine entries (a message too large to read, one that broke the parser)
and the notice to the sender of mail refused for its size (issue 13).

Must not: raise (an unreadable field is empty), read the body, or decide
anything about the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailintake.adapters.parse.addresses import sender
from mailintake.adapters.parse.dates import message_date
from mailintake.adapters.parse.headers import header_items, msg_ids, one_line

HEAD_BYTES = 65_536


@dataclass(frozen=True)
class Summary:
    """The header facts of one message; `headers` as in `ParsedMail.headers`."""

    from_addr: str | None = None
    from_name: str = ""
    subject: str = ""
    date: datetime | None = None
    message_id: str | None = None
    headers: dict[str, tuple[str, ...]] | None = None


def summarise(head: bytes) -> Summary:
    """The sender, subject, Date and Message-ID of the message starting with `head`."""
    try:
        msg = BytesHeaderParser(policy=compat32).parsebytes(head[:HEAD_BYTES])
        defects: list[str] = []
        headers = header_items(msg, defects)
        name, address = sender(msg, defects, None)
        first = {k: v[0] for k, v in headers.items() if v}
        return Summary(
            from_addr=address or None,
            from_name=name,
            subject=one_line(first.get("subject", ""))[:998],
            date=message_date(None, first.get("date"), defects),
            message_id=next(iter(msg_ids(first.get("message-id"))), None),
            headers=headers,
        )
    except Exception:  # noqa: BLE001 - a summary is best effort, never a new failure
        return Summary()
