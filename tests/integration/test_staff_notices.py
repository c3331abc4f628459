"""Staff see every client message in their mailbox (issue 12), through real Dovecot and aiosmtpd.

A notice carries the client's own text, the fields it filled in, its attachments and what
mailintake did; it goes to the ticket's owner, else to `MAILINTAKE_STAFF_NOTIFY`; it is
threaded on the ticket's staff thread and its subject never carries a command tag.
"""

from __future__ import annotations

import pytest

from mailintake.domain import staffcmd
from tests.desk import CLIENT, STAFF, running_desk, text_of
from tests.mails import client_mail, logs_attachment

PIOTR = "piotr.zielinski@log-systems.com"
VERSION_ONLY = "Wersja oprogramowania: 6.1.111.111\nCzęstotliwość błędu: Zawsze\n"


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, sqlite_url):
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url) as desk:
        yield desk


@pytest.fixture
def team(tmp_path, dovecot, smtp_server, sqlite_url):
    """Two staff members; only Piotr gets the notices of tickets nobody owns."""
    env = {"staff": f"{STAFF},{PIOTR}", "staff_notify": PIOTR}
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url, **env) as desk:
        yield desk


def _reply(desk, key: str, body: str, **kw) -> dict[str, int]:
    """The client answers our last mail on the ticket (threaded, key in the subject)."""
    last = desk.to(CLIENT)[-1]
    return desk.run(client_mail(subject=f"Re: [{key}] Błąd przy generowaniu raportu", body=body,
                                in_reply_to=last["Message-ID"][1:-1], **kw))  # fmt: skip


def _outlook_reply(text: str, notice) -> str:
    """A staff member's Outlook answer: their text, signature, then the notice quoted."""
    return (
        f"{text}\n\nPozdrawiam\nAnna Nowak\n\n"
        "From: LOG Systems Support <support@log-systems.com>\n"
        "Sent: Thursday, November 26, 2026 10:00 AM\n"
        f"To: Anna Nowak <{STAFF}>\nSubject: {notice['Subject']}\n\n{text_of(notice)}"
    )


def _assert_no_command(subject: str) -> None:
    """A staff member answering this subject sends no command (SPEC section 6)."""
    assert staffcmd.parse_command(f"RE: {subject}").action is staffcmd.Action.RELAY


def test_a_client_answer_on_a_nowy_ticket_reaches_staff(desk):
    """An answer to our request on a NOWY ticket: staff get its text, fields and what is missing."""
    key = desk.open(complete=False)
    sent = desk.sent
    assert _reply(desk, key, "Uzupełniam dane.\n\n" + VERSION_ONLY) == {"updated": 1}
    [notice] = desk.to(STAFF, sent)
    assert notice["Subject"].startswith(f"[{key}] ")
    _assert_no_command(notice["Subject"])
    body = text_of(notice)
    assert "Uzupełniam dane." in body
    assert "Wersja oprogramowania: 6.1.111.111" in body
    assert "Częstotliwość błędu: Zawsze" in body and "always" not in body
    assert "still missing: Plik logów systemowych (KB-1902)" in body
    assert [m["To"] for m in desk.mails(sent)] == [CLIENT, STAFF]  # the request, the notice


def test_a_client_close_request_on_a_nowy_ticket_reaches_staff_without_its_tag(desk):
    """A client's `[ZAMKNIJ]` is told to staff, and never reaches a staff subject as a command."""
    key = desk.open(complete=False)
    sent = desk.sent
    desk.run(client_mail(subject=f"Re: [{key}] [ZAMKNIJ] proszę zamknąć", message_id="c@example.pl",
                         body="Proszę zamknąć zgłoszenie, już działa.\n"))  # fmt: skip
    [notice] = desk.to(STAFF, sent)
    assert "[ZAMKNIJ]" not in notice["Subject"]
    _assert_no_command(notice["Subject"])
    assert "Proszę zamknąć zgłoszenie, już działa." in text_of(notice)
    # Answering the notice relays to the client; it does not close the ticket.
    sent = desk.sent
    desk.staff(f"RE: {notice['Subject']}", in_reply_to=notice["Message-ID"][1:-1],
               body=_outlook_reply("Dziękujemy, zamkniemy po potwierdzeniu.", notice))  # fmt: skip
    assert desk.ticket(key)["status"] == "NOWY"
    [relay] = desk.mails(sent)
    assert relay["To"] == CLIENT and "zamkniemy po potwierdzeniu" in text_of(relay)
    assert "mailintake" not in text_of(relay)  # the quoted notice stays behind
    assert relay["Subject"] == f"[{key}] Błąd przy generowaniu raportu"


@pytest.mark.parametrize("subject", ["[ZAMKNIJ]", "Re: [close] [LOG-000077]", "[POMOC]"])
def test_a_new_ticket_named_only_by_a_tag_keeps_no_tag(tmp_path, dovecot, smtp_server,
                                                         sqlite_url, subject):  # fmt: skip
    """A client subject made of tags is stored without them; the new-ticket notice carries none."""
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url, notify_new="true") as desk:
        key = desk.open(complete=False, subject=subject)
        assert staffcmd.strip_tags(desk.ticket(key)["subject"]) == desk.ticket(key)["subject"]
        [notice] = desk.to(STAFF)
        _assert_no_command(notice["Subject"])
        assert notice["Subject"].startswith(f"[{key}] ")


def test_the_answer_that_completes_a_ticket_is_noticed_with_its_attachments(desk):
    """The client's logs arrive: ANALIZA, and staff get the notice with the logs attached."""
    key = desk.open(complete=False)
    sent = desk.sent
    _reply(desk, key, VERSION_ONLY, attachments=logs_attachment())
    assert desk.ticket(key)["status"] == "ANALIZA"
    [notice] = desk.to(STAFF, sent)
    assert "ANALIZA" in notice["Subject"]
    assert "ticket complete → ANALIZA" in text_of(notice)
    [(name, _type, data)] = logs_attachment()
    [part] = list(notice.iter_attachments())
    assert (part.get_filename(), part.get_content()) == (name, data)


def test_a_new_ticket_is_noticed_only_when_asked(desk, tmp_path, dovecot, smtp_server, sqlite_url):
    """An incomplete new ticket is not noticed by default; with MAILINTAKE_NOTIFY_NEW it is."""
    desk.open(complete=False)
    assert desk.to(STAFF) == []
    with running_desk(
        tmp_path / "eager", dovecot, smtp_server, sqlite_url, notify_new="true"
    ) as eager:
        sent = eager.sent
        key = eager.open(complete=False)
        [notice] = eager.to(STAFF, sent)
        assert notice["Subject"].startswith(f"[{key}] ")
        assert "still missing" in text_of(notice)


def test_a_complete_first_mail_is_noticed(desk):
    """A ticket complete at once is handed to staff: ANALIZA, and a notice with the logs."""
    key = desk.open()
    [notice] = desk.to(STAFF)
    assert notice["Subject"].startswith(f"[{key}] ") and "ANALIZA" in notice["Subject"]
    assert [p.get_filename() for p in notice.iter_attachments()] == ["LOGSystem_logs.zip"]


def test_notices_go_to_the_notify_list_then_to_the_owner(team):
    """Unowned: MAILINTAKE_STAFF_NOTIFY; after [PRZEJMIJ] the owner alone gets the notices."""
    key = team.open()
    assert [m["To"] for m in team.to("log-systems.com")] == [PIOTR]
    sent = team.sent
    assert team.staff(f"RE: [{key}] [PRZEJMIJ] Błąd", body="") == {"command": 1}
    assert team.mails(sent) == []  # nothing to the client, nothing to staff
    assert team.ticket(key)["owner"] == STAFF
    _reply(team, key, "Jeszcze jedno: błąd występuje też rano.\n")
    [notice] = team.mails(sent)
    assert notice["To"] == STAFF


def test_notices_form_the_tickets_staff_thread(desk):
    """Each notice answers the previous one; none names mail only the client had."""
    key = desk.open(complete=False)
    _reply(desk, key, "Dodaję wersję.\nWersja oprogramowania: 6.1.111.111\n")
    _reply(desk, key, "Częstotliwość błędu: Zawsze\n")
    first, second = desk.to(STAFF)
    assert first["Message-ID"].startswith(f"<{key}.")
    assert second["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in second["References"]
    client_ids = {m["Message-ID"] for m in desk.to(CLIENT)}
    assert not client_ids & set(str(second["References"]).split())


def test_a_complaint_is_flagged_to_staff_and_mailed_to_the_client(desk):
    """REKLAMACJA on a resolved ticket: ANALIZA, the client gets the status notice, staff a flag."""
    key = desk.open()
    desk.staff(f"[{key}] [ROZWIĄZANY]")
    sent = desk.sent
    assert _reply(desk, key, "REKLAMACJA\nNadal nie działa.\n") == {"updated": 1}
    assert desk.ticket(key)["status"] == "ANALIZA"
    [status] = desk.to(CLIENT, sent)
    assert "ROZWIĄZANY → ANALIZA" in text_of(status)
    [notice] = desk.to(STAFF, sent)
    assert "REKLAMACJA" in notice["Subject"]
    _assert_no_command(notice["Subject"])
