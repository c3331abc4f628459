"""Use case: [REJESTRUJ], a client's message forwarded by staff registered on its sender's behalf.

Owns: reading the forwarded message — attached (`message/rfc822`) or forwarded
inline by Outlook or Gmail (its `From:`/`Od:` header block and the text below)
— the checks that refuse it before any write (no forwarded message, not a
client's, already a ticket), and opening the ticket as if the client had
written (SPEC section 6), staff notices included. Runs inside the intake transaction; must not
commit, send mail or run any other staff command (`staff` dispatches).
"""

from __future__ import annotations

import dataclasses
import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.adapters.parse import parse, parse_addresses
from mailintake.app import App
from mailintake.domain import mailrules
from mailintake.domain.mail import Attachment, ParsedMail
from mailintake.domain.status import Status
from mailintake.errors import Refusal
from mailintake.services import clientmail, staffnotice
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome

ENCLOSED = ("message/rfc822", "message/global")
# Outlook and Gmail forward separators, Polish and English (SPEC section 6, inline forward).
FORWARD_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Forwarded message|Wiadomo(?:ść|sc) oryginalna"
    r"|Oryginalna wiadomo(?:ść|sc)|Wiadomo(?:ść|sc) przekazana dalej)\s*-{2,}"
    r"|Begin forwarded message:|_{10,})\s*$",
    re.IGNORECASE,
)
FORWARD_HEADER = re.compile(
    r"^\s*\*?(?P<name>From|Od|Sent|Wysłane|Wysłano|Date|Data|To|Do|Cc|DW|Subject|Temat)\s*\*?"
    r"\s*:\s*(?P<value>.*)$",
    re.IGNORECASE,
)
HEADER_NAMES = {"od": "from", "wysłane": "date", "wysłano": "date", "data": "date",
                "sent": "date", "do": "to", "dw": "cc", "temat": "subject"}  # fmt: skip


def register_on_behalf(session: Session, app: App, msg: Incoming) -> Outcome:
    """[REJESTRUJ]: the forwarded client message becomes a ticket of its original sender."""
    forwarded, rest = _forwarded(msg.mail)
    inner = _registrable(session, app, forwarded)
    c = mailrules.classify(inner, support_address=app.settings.support_address,
                           staff=app.settings.staff)  # fmt: skip
    as_client = dataclasses.replace(msg, mail=inner, classification=c)
    outcome = clientmail.open_ticket(session, app, as_client)
    ticket = db.ticket_by_key(session, outcome.ticket or "")
    assert ticket is not None
    staff_member = msg.mail.from_addr or ""
    t.add_history(session, ticket, Status(ticket.status), Status(ticket.status),
                  by=staff_member, reason=f"registered on behalf of {inner.from_addr}",
                  now=msg.now)  # fmt: skip
    t.claim(session, ticket, staff_member, msg.now)  # who registers it owns it (SPEC §6)
    outer = dataclasses.replace(msg.mail, attachments=rest)
    t.store_inbound(session, app, ticket, msg, kind="staff", mail=outer)
    staffnotice.tell_staff(session, app, as_client, outcome, staffnotice.Before())
    return Outcome("created", ticket.key, msg.mail.message_id, "REJESTRUJ")


def _registrable(session: Session, app: App, inner: ParsedMail | None) -> ParsedMail:
    """The forwarded client message; refuses before any write: none, not a client's, a ticket."""
    settings = app.settings
    sender = inner.from_addr if inner else None
    if inner is None or not sender:
        raise Refusal(
            "[REJESTRUJ]: brak przekazanej wiadomości klienta – prześlij ją jako załącznik lub "
            "„Przekaż dalej” z nagłówkiem Od:/From: ([REGISTER]: no forwarded client message: "
            "attach it or forward it inline with its From: line)"
        )
    if sender in settings.staff or sender == settings.support_address:
        raise Refusal(f"[REJESTRUJ]: {sender} nie jest klientem ({sender} is not a client)")
    known = inner.message_id and db.ticket_by_message_ids(session, (inner.message_id,))
    if known:
        raise Refusal(f"[REJESTRUJ]: ta wiadomość jest już zgłoszeniem {known.key} "
                      f"(this message is already ticket {known.key})")  # fmt: skip
    return inner


def _forwarded(mail: ParsedMail) -> tuple[ParsedMail | None, tuple[Attachment, ...]]:
    """The forwarded message and the staff mail's attachments not part of it."""
    for attachment in mail.attachments:
        if attachment.content_type in ENCLOSED:
            return parse(attachment.data), tuple(a for a in mail.attachments if not a.enclosed)
    files = tuple(a for a in mail.attachments if a.content_type not in ENCLOSED)
    inline = _inline_forward(mail.text, files)
    return (inline, ()) if inline is not None else (None, mail.attachments)


def _inline_forward(text: str, files: tuple[Attachment, ...]) -> ParsedMail | None:
    """An Outlook/Gmail inline forward: its From:/Od: header block and the text below it.

    Rebuilt as a message and parsed, so addresses, RFC 2047 words and the sender's own
    text are read by the same parser as any incoming mail. Outlook forwards the original's
    attachments as attachments of the forward, so they go with it.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    for i in range(len(lines)):
        headers, end = _header_block(lines, i)
        if "from" in headers:
            return parse(_rebuild(headers, "\n".join(lines[end:]).strip(), files))
    return None


def _header_block(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """Header lines at `start` (after an optional separator line) → (headers, first body line)."""
    i = start + 1 if FORWARD_START.match(lines[start]) else start
    found: dict[str, str] = {}
    while i < len(lines) and (match := FORWARD_HEADER.match(lines[i])):
        name = match.group("name").lower()
        found.setdefault(HEADER_NAMES.get(name, name), match.group("value").strip())
        i += 1
    # A lone "From:" line in prose is not a forward: a second header must follow.
    return (found if len(found) >= 2 else {}), i


def _rebuild(headers: dict[str, str], body: str, files: tuple[Attachment, ...]) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(headers["from"])
    for name in ("to", "cc"):  # the original's colleagues stay in copy (issue 12)
        if found := _addresses(headers.get(name, "")):
            msg[name.capitalize()] = ", ".join(found)
    if headers.get("subject"):
        msg["Subject"] = headers["subject"]
    msg.set_content(body or "\n")
    for file in files:
        main, _, sub = file.content_type.partition("/")
        msg.add_attachment(file.data, maintype=main, subtype=sub or "octet-stream",
                           filename=file.filename)  # fmt: skip
    return msg.as_bytes()


def _addresses(value: str) -> list[str]:
    """Every address of an Outlook `Do:`/`DW:` line (`;` or `,` between them)."""
    value = re.sub(r"\[mailto:([^\]\s]+)\]", r"<\1>", value, flags=re.IGNORECASE)
    return [formataddr(pair) for pair in parse_addresses(value.replace(";", ","))]


def _address(value: str) -> str:
    """Outlook writes `Jan Kowalski [mailto:jan@x.pl]`, `Jan <jan@x.pl>` or a bare address.

    The address comes from the address part only, never from the display name (issue 10).
    """
    value = re.sub(r"\[mailto:([^\]\s]+)\]", r"<\1>", value, flags=re.IGNORECASE)
    found = parse_addresses(value)
    return formataddr(found[0]) if found else ""
