"""Plain values describing one parsed e-mail, shared by the core and the adapters.

Owns: the shape of a parsed message (`ParsedMail`) and of an attachment
(`Attachment`). Built by `adapters.parse`; read by the pure rules in `domain/`
and by the services. Must not import anything that does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property


@dataclass(frozen=True)
class Attachment:
    """One file carried by a message, already decoded and safely named."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    inline: bool = False
    content_id: str | None = None
    enclosed: bool = False  # a file inside an attached message (also kept in its .eml)
    attached: bool = False  # named, Content-Disposition: attachment, no Content-ID: on purpose

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


MAX_THREAD_IDS = 50


@dataclass(frozen=True)
class ParsedMail:
    """What the intake needs to know of one message.

    `headers` maps lower-case header names to every value of that header, in
    the order they stand in the message (top first), decoded to text.
    `text` is the whole plain-text body (HTML converted when there is no text
    part); `own_text` is the sender's own words, with quoted history and
    signature removed. `defects` lists what the parser had to repair.
    Message-IDs (`message_id`, `in_reply_to`, `references`) are bare: no angle
    brackets, no white space. Addresses are lower-case `local@domain`.
    """

    message_id: str | None
    subject: str
    from_addr: str | None
    from_name: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    content_type: str = "text/plain"
    text: str = ""
    html: str | None = None
    own_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """The first (topmost) value of header `name`, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def header_all(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())

    @cached_property
    def thread_ids(self) -> tuple[str, ...]:
        """The Message-IDs this message says it answers, nearest first, each once.

        At most the In-Reply-To ids and the last `MAX_THREAD_IDS` References: computed
        once, in linear time (100,000 References must not cost minutes; issue 10).
        """
        nearest = (*self.in_reply_to, *reversed(self.references[-MAX_THREAD_IDS:]))
        return tuple(dict.fromkeys(nearest))
