"""What a Polish client on Outlook and an English one really get, re-checked (issue 13, R13).

A mail goes into the real mailbox, one daemon pass runs, and the mail that reaches the
client over SMTP is read: a frequency stated in the client's own words is not asked for
again, and a Polish mail quoting English error text is answered in Polish.
"""

from __future__ import annotations

import pytest

from tests.integration.test_client_notices import KB_URL, make_desk, text_of
from tests.mails import client_mail, logs_attachment


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    desk = make_desk(tmp_path, dovecot, smtp_server, database_url, kb_logs_url=KB_URL)
    yield desk
    desk.app.close()


FIRST = """Dzień dobry,
program wiesza się przy wydruku faktury po kliknięciu Drukuj. Wersja 6.1.114.207.
Pozdrawiam
Jan Kowalski
"""


def outlook_reply(request, answer: str) -> bytes:
    """Our request answered above Outlook's header block, the request quoted unindented."""
    body = (
        f"Dzień dobry,\n\n{answer}\n\nPozdrawiam\nJan Kowalski\n\n"
        "Od: LOG Systems Support <support@log-systems.com>\n"
        "Wysłane: wtorek, 1 grudnia 2026 09:12\n"
        "Do: Jan Kowalski <jan.kowalski@example.pl>\n"
        f"Temat: {request['Subject']}\n\n{text_of(request)}"
    )
    return client_mail(subject="RE: " + request["Subject"], body=body,
                       in_reply_to=request["Message-ID"].strip("<>"),
                       attachments=logs_attachment())  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Częstotliwość: co drugi dzień, logi w załączniku.", "often"),
        ("Zawsze po zalogowaniu.", "always"),
        ("Bardzo rzadko.", "sometimes"),
        ("Jak dotąd tylko raz.", "once"),
    ],
)
def test_a_frequency_in_the_clients_own_words_completes_the_ticket(desk, answer, code):
    """The reply states the frequency its own way: the ticket completes, nothing asked again."""
    desk.mail(client_mail(body=FIRST))
    [request] = desk.sent(1)
    assert "Częstotliwość błędu (Jednorazowy" in text_of(request)
    desk.mail(outlook_reply(request, answer))
    ticket = desk.ticket()
    assert ticket["fields"]["frequency"] == code
    assert ticket["status"] == "ANALIZA"
    assert all("Brakuje jeszcze" not in text_of(m) for m in desk.sent(1)[1:])


MIXED = """Dzień dobry,

mamy error: NullReferenceException at ReportService.Run when printing.

Pozdrawiam
Ola
"""


@pytest.mark.parametrize(
    "body",
    [
        MIXED,
        "Witam,\nError when saving invoice: Object reference not set to an instance.\nPozdrawiam\n",
    ],
)
def test_a_polish_mail_quoting_english_error_text_gets_polish(desk, body):
    """Polish greeting and sign-off around an English error message: the client is Polish."""
    desk.mail(client_mail(sender="ola@firma-y.example", subject="Problem", body=body))
    assert desk.ticket()["language"] == "pl"
    assert text_of(desk.sent(1)[0]).startswith("Dzień dobry,")


FORM_LINE = "Częstotliwość błędu (Jednorazowy / Czasami / Często / Zawsze):"


@pytest.mark.parametrize(
    "answered",
    [
        "Częstotliwość błędu (Jednorazowy / Czasami / [X] Często / Zawsze):",
        "Częstotliwość błędu (Jednorazowy / Czasami / *Często* / Zawsze):",
        "Częstotliwość błędu (Jednorazowy / Czasami / Często <-- / Zawsze):",
        "Częstotliwość błędu (Często):",
        "Częstotliwość błędu (Jednorazowy / Czasami / Często ✔ / Zawsze):",
    ],
)
def test_an_option_marked_in_our_form_is_the_answer(desk, answered):
    """Outlook users answer the form in place: one option marked, or the others deleted."""
    desk.mail(client_mail(body=FIRST, attachments=logs_attachment()))
    [request] = desk.sent(1)
    assert FORM_LINE in text_of(request)
    body = "Dzień dobry,\nuzupełniam poniżej.\nJan\n\n" + text_of(request).replace(
        FORM_LINE, answered
    )
    desk.mail(client_mail(subject="RE: " + request["Subject"], body=body,
                          in_reply_to=request["Message-ID"].strip("<>")))  # fmt: skip
    ticket = desk.ticket()
    assert ticket["fields"]["frequency"] == "often"
    assert ticket["status"] == "ANALIZA"


def test_our_form_left_as_it_was_answers_nothing(desk):
    """The four options quoted back unmarked are no answer: the client is asked again."""
    desk.mail(client_mail(body=FIRST, attachments=logs_attachment()))
    [request] = desk.sent(1)
    body = "Dzień dobry,\nw załączeniu.\nJan\n\n" + text_of(request)
    desk.mail(client_mail(subject="RE: " + request["Subject"], body=body,
                          in_reply_to=request["Message-ID"].strip("<>")))  # fmt: skip
    assert desk.ticket()["fields"].get("frequency") is None
