"""A support desk for the staff tests: one Dovecot mailbox, one aiosmtpd server, one app.

Mail goes in through the real IMAP server and one daemon pass; what the product sent is read
back from the real SMTP server, parsed as a mail client parses it. No product logic here.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

from mailintake import daemon
from mailintake.app import App
from mailintake.services import views
from tests.apps import make_app
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment
from tests.servers import DovecotServer, SmtpServer

STAFF = "anna.nowak@log-systems.com"
CLIENT = "jan.kowalski@example.pl"
OWN = "Przyczyną był uszkodzony indeks; proszę uruchomić naprawę bazy."
STAFF_BODY = (
    f"{OWN}\n\nPozdrawiam\nAnna Nowak\n\n"
    "W dniu 26.11.2026 o 10:00, Jan Kowalski pisze:\n> stary tekst klienta\n"
)


@dataclass
class Desk:
    """The product as deployed: `run` delivers one message and makes one daemon pass."""

    app: App
    dovecot: DovecotServer
    user: str
    smtp: SmtpServer

    def run(self, raw: bytes) -> dict[str, int]:
        self.dovecot.append(self.user, raw)
        return daemon.run_once(self.app).outcomes

    def mails(self, since: int = 0) -> list[EmailMessage]:
        """What our SMTP server received, oldest first (the flush is done when run_once returns)."""
        found = []
        for m in self.smtp.messages[since:]:
            msg = email.message_from_bytes(m.data, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            found.append(msg)
        return found

    def envelopes(self, since: int = 0) -> list[list[str]]:
        """The SMTP envelope recipients (To and Cc alike) of each mail, oldest first."""
        return [sorted(m.rcpt_tos) for m in self.smtp.messages[since:]]

    @property
    def sent(self) -> int:
        return len(self.smtp.messages)

    def ticket(self, key: str) -> dict:
        found = views.show_ticket(self.app, key)
        assert found is not None, key
        return found

    def keys(self) -> list[str]:
        return [t["key"] for t in views.list_tickets(self.app)]

    def open(self, *, complete: bool = True, **kw: object) -> str:
        """A client's ticket: complete (ANALIZA) or missing data (NOWY)."""
        body = COMPLETE_BODY if complete else INCOMPLETE_BODY
        files = logs_attachment() if complete else None
        self.run(client_mail(body=body, attachments=files, **kw))
        return self.keys()[-1]

    def staff(self, subject: str, body: str = STAFF_BODY, *, raw_prefix: bytes = b"", **kw):
        """A staff member's mail; `raw_prefix` puts header lines on top (as an MTA would)."""
        kw.setdefault("sender", STAFF)
        kw.setdefault("name", "Anna Nowak")
        raw = client_mail(subject=subject, body=body, **kw)
        return self.run(raw_prefix + raw)

    def to(self, address: str, since: int = 0) -> list[EmailMessage]:
        """The mails among `mails(since)` whose To names `address`."""
        return [m for m in self.mails(since) if address in str(m["To"])]


def make_desk(tmp_path, dovecot, smtp_server, url: str, **env: str) -> Desk:
    user = dovecot.new_user()
    app = make_app(tmp_path / "state", database_url=url, inbox_url=dovecot.url(user),
                   imap_password=dovecot.password, smtp_url=smtp_server.url,
                   imap_idle="false", **env)  # fmt: skip
    return Desk(app, dovecot, user, smtp_server)


@contextlib.contextmanager
def running_desk(tmp_path, dovecot, smtp_server, url: str, **env: str) -> Iterator[Desk]:
    """A desk for the length of a `with` block; its app is closed afterwards."""
    desk = make_desk(tmp_path, dovecot, smtp_server, url, **env)
    try:
        yield desk
    finally:
        desk.app.close()


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())
