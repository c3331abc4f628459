"""Outgoing messages as bytes on the wire (SPEC section 5).

Owns: headers of our mail — threading (`Message-ID` with the ticket key,
`In-Reply-To`, `References`), RFC 3834 `Auto-Submitted`,
`X-Auto-Response-Suppress`, our loop header — and the text + HTML body.
Must not decide whether to send.

Why a custom policy: Python's `email` package folds or RFC 2047-encodes long
`References`/`In-Reply-To` values, which breaks threading in Outlook. Message-ID
lists are written unfolded (each id is short ASCII; the list is trimmed, as
RFC 5322 section 3.6.4 allows), and any CR/LF in a value given to us (a
client's subject) is flattened so it can never inject a header.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from mailintake.domain.mailrules import LOOP_HEADER

POLICY = SMTP.clone(max_line_length=998)
MAX_REFERENCES = 10


@dataclass(frozen=True)
class Outgoing:
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = "auto-replied"
    sender_name: str = "LOG Systems Support"
    date: datetime | None = None


def new_message_id(ticket_key: str | None, domain: str) -> str:
    """A bare Message-ID carrying the ticket key, so any reply finds its ticket."""
    prefix = f"{ticket_key}." if ticket_key else "mailintake."
    return f"{prefix}{uuid.uuid4().hex}@{domain}"


def one_line(value: str) -> str:
    """A header value with every line break and run of white space made one space."""
    return re.sub(r"\s+", " ", value or "").strip()


def compose(out: Outgoing) -> bytes:
    """The message as bytes with CRLF line ends, ready for SMTP."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((one_line(out.sender_name), out.sender))
    msg["To"] = ", ".join(out.to)
    msg["Subject"] = one_line(out.subject)
    if out.date is not None:
        msg["Date"] = format_datetime(out.date)
    msg["Message-ID"] = f"<{out.message_id}>"
    refs = _trim(out.references)
    if out.in_reply_to and _is_msgid(out.in_reply_to):
        msg["In-Reply-To"] = f"<{out.in_reply_to}>"
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if out.auto_submitted:
        msg["Auto-Submitted"] = out.auto_submitted  # RFC 3834 section 5
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"  # Exchange: no out-of-office to us
    msg[LOOP_HEADER] = out.sender
    msg["MIME-Version"] = "1.0"
    msg.set_content(out.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(out.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes(policy=POLICY)


def _trim(references: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the thread's root and the newest ids (RFC 5322 section 3.6.4)."""
    clean = tuple(r for r in (one_line(x).strip("<>") for x in references) if _is_msgid(r))
    if len(clean) <= MAX_REFERENCES:
        return clean
    return (clean[0], *clean[-(MAX_REFERENCES - 1) :])


def _is_msgid(value: str) -> bool:
    return bool(value) and value.isascii() and " " not in value and "@" in value
