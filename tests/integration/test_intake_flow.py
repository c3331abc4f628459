"""A client's mail through real Dovecot, the intake, the database and a real SMTP server (issue 2)."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from mailintake import daemon
from mailintake.app import App
from mailintake.services import views
from tests.apps import make_app
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment


@dataclass
class Desk:
    """One support mailbox on Dovecot, one SMTP server, one app: the product as deployed."""

    app: App
    dovecot: object
    user: str
    smtp: object

    def deliver(self, raw: bytes) -> None:
        self.dovecot.append(self.user, raw)

    def run_once(self) -> daemon.PassResult:
        return daemon.run_once(self.app)

    def sent(self, n: int) -> list[email.message.EmailMessage]:
        received = self.smtp.wait_for(n)
        return [email.message_from_bytes(m.data, policy=email.policy.default) for m in received]

    def ticket(self, key: str) -> dict:
        return views.show_ticket(self.app, key)

    def tickets(self) -> list[dict]:
        return views.list_tickets(self.app)


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    user = dovecot.new_user()
    app = make_app(
        tmp_path / "state",
        database_url=database_url,
        inbox_url=dovecot.url(user),
        imap_password=dovecot.password,
        smtp_url=smtp_server.url,
        imap_idle="false",
    )
    yield Desk(app, dovecot, user, smtp_server)
    app.close()


def text_of(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def test_complete_first_mail_goes_to_analiza_with_a_confirmation(desk):
    """A first mail with scenario, version, logs and frequency is complete: ANALIZA and a confirmation."""
    desk.deliver(client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    result = desk.run_once()
    assert result.outcomes == {"created": 1}
    [ticket] = desk.tickets()
    detail = desk.ticket(ticket["key"])
    assert detail["status"] == "ANALIZA"
    assert detail["missing"] == []
    assert detail["fields"]["version"] == "6.1.111.111"
    assert detail["fields"]["frequency"] == "always"
    assert detail["fields"]["logs"] == ["LOGSystem_logs.zip"]
    [reply, notice] = desk.sent(2)  # the client's confirmation, staff's notice (issue 12)
    assert notice["To"] == "anna.nowak@log-systems.com"
    assert reply["To"] == "jan.kowalski@example.pl"
    assert reply["Subject"] == f"[{ticket['key']}] Błąd przy generowaniu raportu"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert "ANALIZA" in text_of(reply)
    assert desk.dovecot.list_uids(desk.user, "INBOX") == []
    assert len(desk.dovecot.list_uids(desk.user, "Processed")) == 1


def test_incomplete_mail_gets_a_request_listing_exactly_what_is_missing(desk):
    """A description without version, logs and frequency: NOWY and a request naming those three."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    [ticket] = desk.tickets()
    assert ticket["status"] == "NOWY"
    assert ticket["missing"] == ["version", "logs", "frequency"]
    [request] = desk.sent(1)
    body = text_of(request)
    missing_block = body.split("Brakuje jeszcze:")[1].split("Prosimy")[0]
    assert "Wersja oprogramowania" in missing_block
    assert "Plik logów systemowych" in missing_block
    assert "Częstotliwość błędu" in missing_block
    assert "Scenariusz" not in missing_block
    assert desk.ticket(ticket["key"])["attempts"] == 1


def test_reply_filling_the_form_without_diacritics_under_our_quote_completes(desk):
    """The client answers inline below our quoted request, without Polish letters: complete."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY, message_id="first@example.pl"))
    desk.run_once()
    [request] = desk.sent(1)
    quoted = "\n".join("> " + line for line in text_of(request).splitlines())
    answer = (
        "Dzien dobry, uzupelniam:\n\nWersja oprogramowania: 6.1.2.3\n"
        "Czestotliwosc bledu: czesto\n\nLogi w zalaczniku.\n\n"
        f"W dniu 26.11.2026 o 10:00, LOG Systems pisze:\n{quoted}\n"
    )
    desk.deliver(
        client_mail(
            subject="Re: " + request["Subject"],
            body=answer,
            in_reply_to=request["Message-ID"].strip("<>"),
            references=["first@example.pl", request["Message-ID"].strip("<>")],
            attachments=logs_attachment(),
        )
    )
    result = desk.run_once()
    assert result.outcomes == {"updated": 1}
    [ticket] = desk.tickets()
    detail = desk.ticket(ticket["key"])
    assert detail["status"] == "ANALIZA"
    assert detail["fields"]["version"] == "6.1.2.3"
    assert detail["fields"]["frequency"] == "often"
    assert [h["to"] for h in detail["history"]] == ["NOWY", "ANALIZA"]
    confirmation = desk.sent(2)[1]
    assert confirmation["In-Reply-To"] is not None


def test_quoting_our_empty_form_fills_nothing(desk):
    """A reply that only quotes our form back (no answers) leaves every field missing."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    [request] = desk.sent(1)
    quoted = "\n".join("> " + line for line in text_of(request).splitlines())
    desk.deliver(
        client_mail(
            subject="Re: " + request["Subject"],
            body=f"Dzien dobry, prosze o kontakt telefoniczny.\n\n{quoted}\n",
            in_reply_to=request["Message-ID"].strip("<>"),
        )
    )
    desk.run_once()
    [ticket] = desk.tickets()
    assert ticket["missing"] == ["version", "logs", "frequency"]
    assert desk.ticket(ticket["key"])["attempts"] == 2


def test_reply_found_by_subject_tag_alone(desk):
    """No threading headers, only [LOG-000001] in the subject: the reply joins that ticket."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    [ticket] = desk.tickets()
    desk.deliver(
        client_mail(
            subject=f"Odp: [{ticket['key']}] Błąd przy generowaniu raportu",
            body="Wersja oprogramowania: 6.1.111.111\nCzęstotliwość błędu: Czasami\n",
            attachments=logs_attachment(),
        )
    )
    assert desk.run_once().outcomes == {"updated": 1}
    assert desk.ticket(ticket["key"])["status"] == "ANALIZA"
    assert len(desk.tickets()) == 1


def test_stranger_with_a_ticket_tag_opens_a_new_ticket(desk):
    """Someone who is not a participant cannot join a ticket by copying its key."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    [first] = desk.tickets()
    desk.deliver(
        client_mail(
            sender="intruz@other.example",
            subject=f"[{first['key']}] Błąd przy generowaniu raportu",
            body=COMPLETE_BODY,
            attachments=logs_attachment(),
        )
    )
    assert desk.run_once().outcomes == {"created": 1}
    keys = [t["key"] for t in desk.tickets()]
    assert len(keys) == 2
    assert desk.ticket(first["key"])["status"] == "NOWY"
    assert desk.ticket(keys[1])["client_email"] == "intruz@other.example"


def _polish_attachment_mail(filename: str, charset: str, rfc2231: bool) -> bytes:
    msg = MIMEMultipart()
    msg["From"] = "jan.kowalski@example.pl"
    msg["To"] = "support@log-systems.com"
    msg["Subject"] = Header("Zrzut ekranu błędu", "iso-8859-2").encode()
    msg["Message-ID"] = f"<{charset}-{rfc2231}@example.pl>"
    msg.attach(MIMEText(INCOMPLETE_BODY, "plain", "utf-8"))
    part = MIMEApplication(b"\x89PNG\r\n\x1a\n" + b"\0" * 20000, "png")
    part.replace_header("Content-Type", "image/png")
    if rfc2231:
        part.add_header("Content-Disposition", "attachment", filename=(charset, "", filename))
    else:
        part.add_header(
            "Content-Disposition", "attachment", filename=Header(filename, charset).encode()
        )
    msg.attach(part)
    return msg.as_bytes()


@pytest.mark.parametrize("charset", ["windows-1250", "iso-8859-2"])
@pytest.mark.parametrize("rfc2231", [True, False], ids=["rfc2231", "rfc2047"])
def test_polish_attachment_names_in_legacy_charsets_are_decoded(desk, charset, rfc2231):
    """Outlook's windows-1250 and ISO-8859-2 names, RFC 2231 or RFC 2047: stored readable."""
    name = "zrzut_ekranu_żółć_ąę.png"
    desk.deliver(_polish_attachment_mail(name, charset, rfc2231))
    desk.run_once()
    [ticket] = desk.tickets()
    detail = desk.ticket(ticket["key"])
    assert [a["filename"] for a in detail["attachments"]] == [name]
    assert detail["fields"]["screenshots"] == [name]
    assert detail["subject"] == "Zrzut ekranu błędu"


def test_the_same_message_delivered_twice_makes_one_ticket(desk):
    """A redelivered copy (same Message-ID, other bytes) has no second effect."""
    raw = client_mail(body=INCOMPLETE_BODY, message_id="twice@example.pl")
    desk.deliver(raw)
    desk.deliver(b"Received: from relay2.example.pl\r\n" + raw)
    result = desk.run_once()
    assert result.outcomes == {"created": 1, "duplicate": 1}
    assert len(desk.tickets()) == 1
    assert len(desk.sent(1)) == 1
    assert desk.dovecot.list_uids(desk.user, "INBOX") == []


def test_html_only_mail_becomes_a_ticket_with_text(desk):
    """A mail with only an HTML part is read as text: labels inside it are recognised."""
    html = (
        "<html><body><p>Dzień dobry,</p><p><b>Wersja oprogramowania:</b> 6.1.111.111<br>"
        "<b>Częstotliwość błędu:</b> Często</p><p>Raport R-12 zawiesza aplikację po kliknięciu "
        "Generuj, a po kilku minutach program kończy pracę bez komunikatu.</p></body></html>"
    )
    desk.deliver(client_mail(body=None, html=html, attachments=logs_attachment()))
    desk.run_once()
    [ticket] = desk.tickets()
    detail = desk.ticket(ticket["key"])
    assert detail["fields"]["version"] == "6.1.111.111"
    assert detail["fields"]["frequency"] == "often"
    assert detail["status"] == "ANALIZA"


def test_outgoing_threading_headers_are_plain_and_unfolded(desk):
    """Our answer carries In-Reply-To/References as bare <ids>, never RFC 2047-encoded."""
    long_id = "a" * 90 + "@very-long-host-name.example.pl"
    desk.deliver(client_mail(body=INCOMPLETE_BODY, message_id=long_id))
    desk.run_once()
    raw = desk.smtp.wait_for(1)[0].data
    headers = raw.split(b"\r\n\r\n")[0].decode()
    assert f"In-Reply-To: <{long_id}>\r\n" in headers
    assert "=?" not in re.search(r"References: .*", headers).group(0)
    assert re.search(r"Message-ID: <LOG-000001\.[0-9a-f]+@log-systems\.com>", headers)


def test_outlook_reply_filled_in_inside_our_unquoted_request_completes(desk):
    """Outlook quotes nothing: the client types answers into our form below `Od:`/`Wysłane:`."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    [request] = desk.sent(1)
    ours = text_of(request).replace("\r\n", "\n")
    filled = ours.replace(
        "Wersja oprogramowania (np. 6.1.111.111): \n",
        "Wersja oprogramowania (np. 6.1.111.111): 6.1.111.111\n",
    ).replace(
        "Częstotliwość błędu (Jednorazowy / Czasami / Często / Zawsze): \n",
        "Częstotliwość błędu (Jednorazowy / Czasami / Często / Zawsze): Czasami\n",
    )
    assert filled != ours
    answer = (
        "Uzupełniłem formularz poniżej, logi w załączniku.\n\n"
        "Od: LOG Systems Support <support@log-systems.com>\n"
        "Wysłane: czwartek, 26 listopada 2026 10:20\n"
        "Do: Jan Kowalski <jan.kowalski@example.pl>\n"
        f"Temat: {request['Subject']}\n\n{filled}"
    )
    desk.deliver(client_mail(subject="ODP: " + request["Subject"], body=answer,
                             attachments=logs_attachment()))  # fmt: skip
    desk.run_once()
    [ticket] = desk.tickets()
    detail = desk.ticket(ticket["key"])
    assert detail["fields"]["version"] == "6.1.111.111"
    assert detail["fields"]["frequency"] == "sometimes"
    assert detail["status"] == "ANALIZA"
