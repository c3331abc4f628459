"""Builders of realistic incoming mail for tests (bytes, as a mail server would deliver them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

SAMPLE_LOG = b"2026-11-26 10:00:01 ERROR ReportService: NullReferenceException\r\n" * 20

COMPLETE_BODY = """Dzień dobry,

Scenariusz powtórzenia błędu: Podczas uruchamiania raportu R-12 na użytkowniku admin
program zamyka się z komunikatem o błędzie krytycznym.
Wersja oprogramowania: 6.1.111.111
Częstotliwość błędu: Zawsze

Logi w załączniku.

Pozdrawiam
Jan Kowalski
"""

INCOMPLETE_BODY = """Dzień dobry,

po aktualizacji nie działa nam generowanie raportów sprzedaży w module LOG System:
po kliknięciu "Generuj" aplikacja zawiesza się na kilka minut i kończy pracę.

Pozdrawiam
Jan Kowalski
"""


def client_mail(
    *,
    sender: str = "jan.kowalski@example.pl",
    name: str = "Jan Kowalski",
    to: str = "support@log-systems.com",
    subject: str = "Błąd przy generowaniu raportu",
    body: str = COMPLETE_BODY,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A client's message; attachments are (filename, content type, data)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((name, sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{message_id or uuid.uuid4().hex + '@example.pl'}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    for key, value in (headers or {}).items():
        msg[key] = value
    if html is not None and body is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def logs_attachment() -> list[tuple[str, str, bytes]]:
    return [("LOGSystem_logs.zip", "application/zip", b"PK\x03\x04" + SAMPLE_LOG)]


def delivery_status_for(ours: EmailMessage, recipient: str) -> bytes:
    """A real RFC 3464 report from Postfix's MAILER-DAEMON returning `ours` to us:
    `recipient` is unknown (5.1.1), our message's headers are enclosed."""
    headers = "".join(f"{k}: {v}\r\n" for k, v in ours.items())
    return (
        "From: MAILER-DAEMON@mx.example.pl (Mail Delivery System)\r\n"
        f"To: {ours['From']}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.pl')}\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.pl\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}--B--\r\n"
    ).encode()
