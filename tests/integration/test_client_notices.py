"""What clients read: requests that ask only for what is missing, dates, language (issue 13).

Mail goes in through a real Dovecot mailbox, answers come out of a real SMTP server, on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from mailintake.config import settings_from
from mailintake.errors import ConfigError
from mailintake.services import outbox, sweeps
from tests.apps import REPO, make_app
from tests.integration.test_intake_flow import Desk as FlowDesk
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

KB_URL = "https://kb.log-systems.com/articles/KB-1902"

NO_FREQUENCY_BODY = """Dzień dobry,

Scenariusz powtórzenia błędu: uruchamiam raport R-12 na użytkowniku admin i program
zamyka się z komunikatem o błędzie krytycznym.
Wersja oprogramowania: 6.1.111.111

Logi w załączniku.

Pozdrawiam
Jan Kowalski
"""


class Desk(FlowDesk):
    """The deployed product of the intake flow tests, driven one mail and one pass at a time."""

    def mail(self, raw: bytes) -> None:
        """Deliver a mail to the mailbox and run one full pass of the daemon."""
        self.deliver(raw)
        self.run_once()

    def sent(self, n: int) -> list[EmailMessage]:
        """The mail to clients, oldest first (staff notices of client mail left out)."""
        staff = self.app.settings.internal
        mails = [m for m in super().sent(n) if str(m["To"]).lower() not in staff]
        assert len(mails) >= n, f"expected {n} mails, got {len(mails)}"
        return mails

    def ticket(self, key: str = "LOG-000001") -> dict:
        return super().ticket(key)


def make_desk(tmp_path, dovecot, smtp_server, database_url, **env: str) -> Desk:
    user = dovecot.new_user()
    app = make_app(
        tmp_path / "state",
        database_url=database_url,
        inbox_url=dovecot.url(user),
        imap_password=dovecot.password,
        smtp_url=smtp_server.url,
        imap_idle="false",
        **env,
    )
    return Desk(app, dovecot, user, smtp_server)


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    desk = make_desk(tmp_path, dovecot, smtp_server, database_url, kb_logs_url=KB_URL)
    yield desk
    desk.app.close()


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


# ---------------------------------------------------------------- the request asks only what is missing


def test_a_request_for_the_frequency_alone_does_not_ask_for_logs(desk):
    """Only the frequency is missing: the request asks for it and says nothing of log files."""
    desk.mail(client_mail(body=NO_FREQUENCY_BODY, attachments=logs_attachment()))
    assert desk.ticket()["missing"] == ["frequency"]
    body = text_of(desk.sent(1)[0])
    assert "Częstotliwość błędu" in body
    assert "Jednorazowy" in body and "Zawsze" in body
    assert "KB-1902" not in body
    assert "załącz" not in body.lower()
    assert "Wersja oprogramowania" not in body


def test_missing_logs_get_an_instruction_with_the_kb_link_not_a_fill_in_line(desk):
    """Missing logs are asked for as an attachment with the KB-1902 link, never as a form line."""
    desk.mail(client_mail(body=INCOMPLETE_BODY))
    body = text_of(desk.sent(1)[0])
    lines = [line.strip() for line in body.splitlines()]
    assert [line for line in lines if line.endswith("):")] == [
        "Wersja oprogramowania (np. 6.1.111.111):",
        "Częstotliwość błędu (Jednorazowy / Czasami / Często / Zawsze):",
    ]
    assert not [line for line in lines if line.startswith("Plik logów systemowych (KB-1902):")]
    assert KB_URL in body
    instruction = next(line for line in lines if KB_URL in line)
    assert "załącznik" in instruction


def test_the_form_filled_in_our_quote_completes_and_its_hints_are_never_answers(desk):
    """Answers typed after the form's lines count; the hints (an example version, the four
    frequencies) quoted back unfilled never do."""
    desk.mail(client_mail(body=INCOMPLETE_BODY, message_id="first@example.pl"))
    request = desk.sent(1)[0]
    quoted = [f"> {line}" for line in text_of(request).splitlines()]
    desk.mail(client_mail(subject="Re: " + request["Subject"], body="\n".join(quoted),
                          in_reply_to=request["Message-ID"].strip("<>")))  # fmt: skip
    assert desk.ticket()["missing"] == ["version", "logs", "frequency"]
    filled = [line + (" 6.1.114.207" if "Wersja" in line else " Zawsze" if "Częstotliwość" in line
                      else "") for line in quoted if not line.startswith("> Brakuje")]  # fmt: skip
    desk.mail(client_mail(subject="Re: " + request["Subject"], body="\n".join(filled),
                          in_reply_to=request["Message-ID"].strip("<>"),
                          attachments=logs_attachment()))  # fmt: skip
    ticket = desk.ticket()
    assert (ticket["fields"]["version"], ticket["fields"]["frequency"]) == ("6.1.114.207", "always")
    assert ticket["status"] == "ANALIZA"


def test_without_a_kb_link_the_request_names_the_article(
    tmp_path, dovecot, smtp_server, sqlite_url
):
    """With MAILINTAKE_KB_LOGS_URL unset the request still names KB-1902 in a full sentence."""
    desk = make_desk(tmp_path, dovecot, smtp_server, sqlite_url)
    try:
        desk.mail(client_mail(body=INCOMPLETE_BODY))
        body = text_of(desk.sent(1)[0])
    finally:
        desk.app.close()
    lines = body.splitlines()
    instruction = next(line for line in lines if "KB-1902" in line and "załącznik" in line)
    assert "None" not in body and "http" not in instruction


@pytest.mark.parametrize(
    "value", ["kb.log-systems.com/KB-1902", "ftp://kb.example.com/1902", "https://"]
)
def test_a_bad_kb_link_stops_the_program_naming_the_variable(value):
    """A KB-1902 link that is not an http(s) URL is refused at start, naming the variable."""
    env = {"MAILINTAKE_CLIENTS_FILE": str(REPO / "config" / "clients.toml")}
    with pytest.raises(ConfigError, match="^MAILINTAKE_KB_LOGS_URL"):
        settings_from({**env, "MAILINTAKE_KB_LOGS_URL": value})


def test_a_complete_mail_is_not_asked_for_anything(desk):
    """A complete first mail gets a confirmation, never a request."""
    desk.mail(client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    body = text_of(desk.sent(1)[0])
    assert "Brakuje" not in body and "formularz" not in body


# ---------------------------------------------------------------- dates people read

WARSAW = ZoneInfo("Europe/Warsaw")
# The test's own oracle (the product takes month names from Babel, never from a table).
PL_MONTHS = ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
             "września", "października", "listopada", "grudnia"]  # fmt: skip
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip
POLISH_LETTERS = re.compile("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")
STAFF = "anna.nowak@log-systems.com"


def warsaw(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(WARSAW)


def test_a_polish_request_gives_its_deadline_in_polish_words(desk):
    """The completion deadline in a Polish request reads "4 grudnia 2026 r., godz. 8:00"."""
    desk.mail(client_mail(body=INCOMPLETE_BODY))
    due = warsaw(desk.ticket()["completion_due"])
    expected = (
        f"{due.day} {PL_MONTHS[due.month - 1]} {due.year} r., godz. {due.hour}:{due.minute:02d}"
    )
    body = text_of(desk.sent(1)[0])
    assert f"do {expected};" in body
    assert not re.search(r"\d{4}-\d{2}-\d{2}", body)


def test_an_english_request_gives_its_deadline_in_english_words(desk):
    """An English client's request gives the deadline as "4 December 2026, 8:00 CET"."""
    desk.mail(client_mail(sender="john@acme.example.com", name="John Smith",
                          subject="Report fails", body="Hello, the report fails. Regards"))  # fmt: skip
    due = warsaw(desk.ticket()["completion_due"])
    body = text_of(desk.sent(1)[0])
    assert f"{due.day} {EN_MONTHS[due.month - 1]} {due.year}, {due.hour}:{due.minute:02d}" in body
    assert not re.search(r"\d{4}-\d{2}-\d{2}", body)


# ---------------------------------------------------------------- English clients read English only


def english_mail(**kw: object) -> bytes:
    kw.setdefault("sender", "john@acme.example.com")
    kw.setdefault("name", "John Smith")
    kw.setdefault("subject", "Report fails")
    return client_mail(**kw)  # type: ignore[arg-type]


def test_an_english_client_reads_english_only_from_request_to_survey(desk):
    """Request, confirmation, status change, solution and survey of an English ticket are English."""
    desk.mail(english_mail(body="Hello,\nthe sales report fails after the update.\nRegards"))
    request = desk.sent(1)[0]
    desk.mail(english_mail(
        subject="Re: " + request["Subject"], in_reply_to=request["Message-ID"].strip("<>"),
        body="Steps to reproduce: open the sales report and press Generate, it crashes.\n"
             "Software version: 6.1.111.111\nError frequency: always\n",
        attachments=logs_attachment()))  # fmt: skip
    desk.mail(client_mail(sender=STAFF, name="Anna Nowak", subject="[LOG-000001] [in progress]",
                          body="We are looking into it."))  # fmt: skip
    desk.mail(client_mail(sender=STAFF, name="Anna Nowak", subject="[LOG-000001] [resolved]",
                          body="Please install hotfix 6.1.111.112."))  # fmt: skip
    desk.mail(english_mail(subject="Re: [LOG-000001] Report fails", body="CONFIRM\n"))
    mails = desk.sent(5)
    assert [m["To"] for m in mails] == ["john@acme.example.com"] * 5
    bodies = [text_of(m) for m in mails]
    assert "NEW" in bodies[0] and "ANALYSIS" in bodies[1]
    assert "ANALYSIS → IN PROGRESS" in bodies[2]
    assert "IN PROGRESS → RESOLVED" in bodies[3]
    survey = mails[4]
    assert "CLOSED" in bodies[4]
    assert "Rating%203" in bodies[4] and "Ocena" not in bodies[4]
    for msg, body in zip(mails, bodies, strict=True):
        assert not POLISH_LETTERS.search(body + msg["Subject"]), body
    assert "Ocena" not in survey.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize("subject", ["[LOG-000001] Rating 4", "[LOG-000001] Ocena 4"])
def test_a_survey_answer_is_accepted_as_rating_or_ocena(desk, subject):
    """A survey answer whose subject says "Rating N" or "Ocena N" is recorded and thanked once."""
    desk.mail(english_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    desk.mail(client_mail(sender=STAFF, name="Anna Nowak", subject="[LOG-000001] [resolved]",
                          body="Please install hotfix 6.1.111.112."))  # fmt: skip
    desk.mail(english_mail(subject="Re: [LOG-000001] Report fails", body="CONFIRM\n"))
    desk.mail(english_mail(subject=subject, body="Fast and friendly.\n\nBest regards\nJohn Smith"))
    assert desk.ticket()["survey"] == {"rating": 4, "comment": "Fast and friendly."}
    thanks = desk.sent(4)[3]
    assert "4/5" in text_of(thanks)


# ---------------------------------------------------------------- no re-quoting of our own lines


def test_a_question_reminder_quotes_the_question_only(desk):
    """The reminder of an unanswered question quotes the staff's words, not our own notice lines."""
    desk.mail(client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    desk.mail(client_mail(sender=STAFF, name="Anna Nowak", subject="[LOG-000001] [PYTANIE]",
                          body="Czy błąd występuje też na drugim serwerze?\n\nPozdrawiam\nAnna"))  # fmt: skip
    later = datetime.now(WARSAW) + timedelta(days=7)
    sweeps.run_sweeps(desk.app, later)
    outbox.flush(desk.app, now=later, limit=None)
    reminder = text_of(desk.sent(3)[2])
    assert "> Czy błąd występuje też na drugim serwerze?" in reminder
    assert "czeka na Państwa odpowiedź" not in reminder
    assert "Anna" not in reminder.split("Nasze pytanie:")[1].split("Prosimy")[0]


def test_a_split_ticket_keeps_the_language_of_its_ticket(desk):
    """A ticket split from an English client's ticket mails that client in English."""
    body = ("Hello,\nthe sales report crashes every time we open it after the update.\n"
            "Software version: 6.1.111.111\n\nBest regards\nMike")  # fmt: skip
    desk.mail(english_mail(sender="mike@globex.example", body=body, attachments=logs_attachment()))
    desk.mail(client_mail(sender=STAFF, name="Anna Nowak", subject="[LOG-000001] [split] Printing",
                          body="Printing labels fails too.\n\nRegards\nAnna"))  # fmt: skip
    assert desk.ticket("LOG-000002")["language"] == "en"
    mails = desk.sent(3)
    # The split ticket's subject is the first line of the split text (issue 12).
    assert {m["Subject"] for m in mails[1:]} >= {"[LOG-000002] Printing labels fails too."}
    for msg in mails:
        assert not POLISH_LETTERS.search(text_of(msg)), text_of(msg)


# ---------------------------------------------------------------- the language of a first mail

ENGLISH_FIRST = """Hello,

after yesterday's update the sales report crashes every time we open it. Could you
please have a look?

Best regards
Mike Brown
"""


def test_an_english_first_mail_from_an_unknown_organisation_gets_english(desk):
    """A first mail in English from outside clients.toml is answered in English, kept on the ticket."""
    desk.mail(client_mail(sender="mike@globex.example", name="Mike Brown",
                          subject="Sales report crashes", body=ENGLISH_FIRST))  # fmt: skip
    request = desk.sent(1)[0]
    assert desk.ticket()["language"] == "en"
    assert text_of(request).startswith("Hello,")
    desk.mail(client_mail(sender="mike@globex.example", subject="Re: " + request["Subject"],
                          in_reply_to=request["Message-ID"].strip("<>"),
                          body="Wersja oprogramowania: 6.1.111.111\n"))  # fmt: skip
    assert desk.ticket()["language"] == "en"
    assert text_of(desk.sent(2)[1]).startswith("Hello,")


@pytest.mark.parametrize(
    "body",
    [INCOMPLETE_BODY, "OK\n", "6.1.111.111\n", "Raport nie dziala, prosze o pomoc. Pozdrawiam\n"],
)
def test_polish_or_unclear_first_mail_gets_polish(desk, body):
    """Polish, or too little to tell (a bare "OK", a version number), stays Polish."""
    desk.mail(client_mail(sender="someone@unknown.example", subject="Raport", body=body))
    assert desk.ticket()["language"] == "pl"
    assert text_of(desk.sent(1)[0]).startswith("Dzień dobry,")


def test_a_configured_organisation_keeps_its_language_whatever_it_writes(desk):
    """An organisation set to Polish in clients.toml gets Polish even when it writes English."""
    desk.mail(client_mail(sender="ola@example.pl", subject="Report", body=ENGLISH_FIRST))
    assert desk.ticket()["language"] == "pl"
