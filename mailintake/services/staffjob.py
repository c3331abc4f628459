"""One trusted staff command on its way (SPEC section 6): who, about which ticket, with what.

Owns: `Job` and what it derives from the staff mail — the staff member's own text, the
files that go to the client with it (signature logos left out, the size limit checked
before any write), and whether the client already has the mail (staff wrote to them
directly: the client in To/Cc), in which case nothing of it is sent a second time.
Must not write to the database or queue mail (the command handlers do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain.attachments import is_signature_image
from mailintake.domain.mail import Attachment
from mailintake.domain.staffcmd import Command
from mailintake.errors import Refusal
from mailintake.services.outcome import Incoming
from mailintake.services.tickets import human_size


@dataclass(frozen=True)
class Job:
    """One trusted staff command: the message, its command and its ticket (if any)."""

    session: Session
    app: App
    msg: Incoming
    command: Command
    ticket: db.Ticket | None

    @property
    def by(self) -> str:
        return self.msg.mail.from_addr or ""

    @property
    def text(self) -> str:
        """The staff member's own words: quoted history and signature removed (SPEC §6)."""
        return self.msg.mail.own_text.strip()

    @property
    def now(self) -> datetime:
        return self.msg.now

    @property
    def client_has_it(self) -> bool:
        """Staff wrote to the client directly (reply-all: the client in To or Cc)."""
        mail = self.msg.mail
        return self.ticket is not None and self.ticket.client_email in (*mail.to, *mail.cc)

    @property
    def relays(self) -> bool:
        """Does the staff text go to the client: the command says so and they lack it?"""
        return self.command.mails_staff_text and not self.client_has_it

    @property
    def for_client(self) -> str:
        """The staff text for the client's mail: empty when silent or already delivered."""
        return self.text if self.relays else ""

    @property
    def files(self) -> tuple[Attachment, ...]:
        """The staff mail's files that go to the client with the text."""
        return relayable(self.msg.mail.attachments) if self.relays else ()


def relayable(attachments: Sequence[Attachment]) -> tuple[Attachment, ...]:
    """The files a person attached: signature logos left out."""
    return tuple(a for a in attachments if not is_signature_image(a))


def check_files(job: Job) -> None:
    """Refuse, before any write, files too large to mail on together (issue 12)."""
    total = sum(a.size for a in job.files)
    limit = job.app.settings.max_attachments_bytes
    if total <= limit:
        return
    names = ", ".join(a.filename for a in job.files)
    size, most = human_size(total), human_size(limit)
    raise Refusal(
        f"załączniki ({names}) mają razem {size}, a do klienta można wysłać najwyżej {most} "
        f"(MAILINTAKE_MAX_ATTACHMENTS_MB): wyślij mniejsze pliki albo link (the attachments "
        f"total {size}, over the {most} that can be mailed to the client: send smaller files "
        "or a link)"
    )
