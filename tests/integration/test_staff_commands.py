"""Staff drive tickets by e-mail through real Dovecot and aiosmtpd (issue 4, SPEC section 6)."""

from __future__ import annotations

import email
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailintake.adapters.timefmt import day_in_words
from tests.desk import CLIENT, OWN, STAFF, Desk, make_desk, running_desk, text_of
from tests.mails import INCOMPLETE_BODY, client_mail

AUTHSERV = "mx.log-systems.com"
PASS = f"{AUTHSERV}; dkim=pass header.d=log-systems.com; spf=pass smtp.mailfrom={STAFF}"


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, sqlite_url):
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url) as desk:
        yield desk


@pytest.fixture
def guarded_desk(tmp_path, dovecot, smtp_server, sqlite_url):
    """Staff commands count only with our MTA's Authentication-Results (SPEC section 6)."""
    auth = f"authres:{AUTHSERV}"
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url, staff_auth=auth) as desk:
        yield desk


def last_history(desk: Desk, key: str) -> dict:
    return desk.ticket(key)["history"][-1]


# -- every tag ----------------------------------------------------------------------------

MOVES = [
    ("[W TRAKCIE]", [], "W_TRAKCIE", "W TRAKCIE"),
    ("[w trakcie]", [], "W_TRAKCIE", "W TRAKCIE"),
    ("[In Progress]", [], "W_TRAKCIE", "W TRAKCIE"),
    ("[ANALIZA]", ["[W TRAKCIE]"], "ANALIZA", "ANALIZA"),
    ("[analysis]", ["[W TRAKCIE]"], "ANALIZA", "ANALIZA"),
    ("[POPRAWKA]", [], "CZEKA_NA_POPRAWKE", "CZEKA NA POPRAWKĘ"),
    ("[fix]", [], "CZEKA_NA_POPRAWKE", "CZEKA NA POPRAWKĘ"),
    ("[PUBLIKACJA]", [], "CZEKA_NA_PUBLIKACJE", "CZEKA NA PUBLIKACJĘ"),
    ("[release 2026-12-20]", [], "CZEKA_NA_PUBLIKACJE", "20 grudnia 2026 r."),
    ("[ROZWIĄZANY]", [], "ROZWIAZANY", "ROZWIĄZANY"),
    ("[ROZWIAZANY]", [], "ROZWIAZANY", "ROZWIĄZANY"),
    ("[resolved]", [], "ROZWIAZANY", "ROZWIĄZANY"),
    ("[OBEJŚCIE]", [], "ROZWIAZANY", "obejście"),
    ("[obejscie]", [], "ROZWIAZANY", "obejście"),
    ("[workaround]", [], "ROZWIAZANY", "obejście"),
    ("[ZAMKNIJ]", [], "ZAMKNIETY", "ZAMKNIĘTY"),
    ("[close]", [], "ZAMKNIETY", "ZAMKNIĘTY"),
]


@pytest.mark.parametrize(("tag", "before", "status", "shown"), MOVES)
def test_status_tag_moves_the_ticket_and_mails_the_client(desk, tag, before, status, shown):
    """Each status tag, Polish or English, with or without diacritics: status, history, mail."""
    key = desk.open()
    for earlier in before:
        desk.staff(f"[{key}] {earlier} Re: Błąd")
    sent = len(desk.smtp.messages)
    assert desk.staff(f"Re: [{key}] {tag} Błąd przy generowaniu raportu") == {"command": 1}
    detail = desk.ticket(key)
    assert detail["status"] == status
    assert last_history(desk, key)["by"] == STAFF
    assert status in {h["to"] for h in detail["history"] if h["by"] == STAFF}
    [mail] = desk.mails(sent)
    assert mail["To"] == CLIENT
    assert mail["Subject"].startswith(f"[{key}]")
    body = text_of(mail)
    assert shown in body
    assert OWN in body
    assert "stary tekst klienta" not in body
    # A person wrote it (SPEC section 5 marks only automatic answers, closures and surveys).
    assert mail["Auto-Submitted"] == ("auto-generated" if status == "ZAMKNIETY" else None)


def test_resolved_sets_resolution_and_auto_close(desk):
    """[OBEJŚCIE] records a workaround and schedules the automatic closing in 72 h."""
    key = desk.open()
    desk.staff(f"[{key}] [OBEJŚCIE]")
    detail = desk.ticket(key)
    assert (detail["resolution"], detail["auto_close_at"] is not None) == ("workaround", True)


@pytest.mark.parametrize("tag", ["[PYTANIE]", "[question]"])
def test_question_goes_to_the_client_and_waits(desk, tag):
    """[PYTANIE] mails the staff text as a question; the ticket awaits the client."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    assert desk.staff(f"[{key}] {tag}") == {"command": 1}
    assert desk.ticket(key)["awaiting_client"] is True
    [mail] = desk.mails(sent)
    assert mail["To"] == CLIENT and OWN in text_of(mail)
    assert mail["Auto-Submitted"] is None


def test_closing_a_ticket_whose_question_is_unanswered_says_no_response(desk):
    """[ZAMKNIJ] while our question waits for the client closes it as `no_response`."""
    key = desk.open()
    assert desk.staff(f"[{key}] [PYTANIE]") == {"command": 1}
    assert desk.staff(f"[{key}] [ZAMKNIJ]") == {"command": 1}
    assert desk.ticket(key)["close_reason"] == "no_response"
    other = desk.open()
    assert desk.staff(f"[{other}] [ZAMKNIJ]") == {"command": 1}
    assert desk.ticket(other)["close_reason"] == "staff"


@pytest.mark.parametrize("tag", ["[NOTATKA]", "[note]", "[Notatka]"])
def test_note_stays_internal(desk, tag):
    """[NOTATKA] is recorded in the history and nothing is sent to anyone."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    assert desk.staff(f"[{key}] {tag}") == {"note": 1}
    assert desk.mails(sent) == []
    detail = desk.ticket(key)
    assert detail["status"] == "ANALIZA"
    assert last_history(desk, key)["reason"].startswith("note: Przyczyną")
    assert detail["messages"][-1]["kind"] == "note"


@pytest.mark.parametrize("tag", ["[KOMPLETNE]", "[complete]"])
def test_complete_moves_nowy_to_analiza_with_a_confirmation(desk, tag):
    """[KOMPLETNE] accepts an incomplete ticket's data: ANALIZA and the client's confirmation."""
    key = desk.open(complete=False)
    sent = len(desk.smtp.messages)
    assert desk.staff(f"[{key}] {tag}") == {"command": 1}
    assert desk.ticket(key)["status"] == "ANALIZA"
    assert last_history(desk, key)["by"] == STAFF
    [mail] = desk.mails(sent)
    assert mail["To"] == CLIENT and "ANALIZA" in text_of(mail)


@pytest.mark.parametrize("word", ["DUPLIKAT", "duplicate"])
def test_duplicate_closes_and_links_both_ways(desk, word):
    """[DUPLIKAT LOG-…] closes with reason duplicate; both tickets name each other."""
    first = desk.open()
    second = desk.open()
    sent = len(desk.smtp.messages)
    assert desk.staff(f"[{second}] [{word} {first}]") == {"command": 1}
    detail = desk.ticket(second)
    assert (detail["status"], detail["close_reason"]) == ("ZAMKNIETY", "duplicate")
    assert detail["linked"] == [first]
    assert desk.ticket(first)["linked"] == [second]
    assert desk.ticket(first)["status"] == "ANALIZA"
    [mail] = desk.mails(sent)
    assert mail["To"] == CLIENT


def test_untagged_staff_reply_is_relayed_to_the_client(desk):
    """Without a tag the staff member's own words go to the client, signed by no machine."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    assert desk.staff(f"Re: [{key}] Błąd przy generowaniu raportu") == {"command": 1}
    [mail] = desk.mails(sent)
    assert mail["To"] == CLIENT
    assert mail["Auto-Submitted"] is None
    assert OWN in text_of(mail) and "stary tekst klienta" not in text_of(mail)
    assert desk.ticket(key)["status"] == "ANALIZA"


def test_reply_found_by_threading_headers_alone(desk):
    """A staff reply to our mail, with the key removed from the subject, still finds the ticket."""
    key = desk.open()
    [confirmation] = desk.to(CLIENT)
    sent = desk.sent
    desk.staff("Re: Błąd", in_reply_to=confirmation["Message-ID"].strip("<>"))
    assert [m["To"] for m in desk.mails(sent)] == [CLIENT]
    assert desk.ticket(key)["messages"][-1]["from"] == STAFF


# -- ETA and the SLA ----------------------------------------------------------------------


def test_fix_with_a_date_within_the_sla_sets_the_eta_without_asking(desk):
    """[POPRAWKA date] inside the SLA resolution target sets the ETA; no acceptance asked."""
    key = desk.open()
    today = date.today().isoformat()
    sent = len(desk.smtp.messages)
    desk.staff(f"[{key}] [poprawka {today}]")
    assert desk.ticket(key)["eta"] == today
    body = text_of(desk.mails(sent)[0])
    assert day_in_words(date.today(), "pl") in body and "AKCEPTUJĘ" not in body


def test_fix_past_the_sla_asks_the_client_to_accept(desk):
    """An ETA later than the client's SLA resolution target asks the client to accept it."""
    key = desk.open()
    eta = (date.today() + timedelta(days=60)).isoformat()
    sent = len(desk.smtp.messages)
    desk.staff(f"[{key}] [fix {eta}]")
    detail = desk.ticket(key)
    assert (detail["status"], detail["eta"]) == ("CZEKA_NA_POPRAWKE", eta)
    assert "AKCEPTUJĘ" in text_of(desk.mails(sent)[0])
    assert "acceptance asked" in last_history(desk, key)["reason"]


def test_client_acceptance_of_a_late_eta_is_recorded(desk):
    """The client's AKCEPTUJĘ to a late ETA is recorded in the history (SPEC section 4)."""
    key = desk.open()
    eta = (date.today() + timedelta(days=60)).isoformat()
    desk.staff(f"[{key}] [POPRAWKA {eta}]")
    desk.run(client_mail(subject=f"Re: [{key}] Błąd", body="AKCEPTUJĘ\n"))
    assert any("accept" in h["reason"].lower() for h in desk.ticket(key)["history"])


# -- refusals -----------------------------------------------------------------------------

REFUSALS = {
    "unknown tag": ("[{key}] [ROZWIAZNY]", "ROZWIĄZANY"),
    "two status tags": ("[{key}] [W TRAKCIE] [ZAMKNIJ]", "jedno"),
    "transition": ("[{key}] [ANALIZA]", "ANALIZA"),
    "complete when not new": ("[{key}] [KOMPLETNE]", "NOWY"),
    "unknown ticket": ("[LOG-000999] [W TRAKCIE]", "nie znaleziono"),
    "no ticket at all": ("[W TRAKCIE] Błąd", "nie znaleziono"),
    "bad date": ("[{key}] [POPRAWKA 2026-13-45]", "2026-13-45"),
    "words as date": ("[{key}] [fix jutro]", "jutro"),
    "register without forward": ("[REJESTRUJ] Klient dzwonił", "REJESTRUJ"),
    "duplicate of itself": ("[{key}] [DUPLIKAT {key}]", "to samo"),
    "duplicate of unknown": ("[{key}] [duplicate LOG-000999]", "LOG-000999"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_command_answers_the_sender_and_changes_nothing(desk, case):
    """Each refused command yields one error mail to the staff sender and no ticket change."""
    key = desk.open()
    subject, reason_word = REFUSALS[case]
    before = desk.ticket(key)
    sent = len(desk.smtp.messages)
    assert desk.staff(subject.format(key=key)) == {"refused": 1}
    [notice] = desk.mails(sent)
    assert notice["To"] == STAFF
    assert "Odrzucono / refused" in notice["Subject"]
    assert reason_word in text_of(notice)
    after = desk.ticket(key)
    for field in ("status", "history", "eta", "linked", "resolution", "awaiting_client"):
        assert after[field] == before[field]
    assert desk.keys() == [key]


def test_question_without_text_is_refused(desk):
    """[PYTANIE] with nothing above the quote has no question to send: refused."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    assert desk.staff(f"[{key}] [PYTANIE]", body="> tylko cytat\n") == {"refused": 1}
    assert [m["To"] for m in desk.mails(sent)] == [STAFF]
    assert desk.ticket(key)["awaiting_client"] is False


# -- the sender check ---------------------------------------------------------------------

SPOOFS = {
    "no Authentication-Results": [],
    "another authserv-id": ["mx.attacker.example; dkim=pass header.d=log-systems.com"],
    "dkim=fail": [f"{AUTHSERV}; dkim=fail header.d=log-systems.com; spf=fail"],
    "pass for another domain": [
        f"{AUTHSERV}; dkim=pass header.d=attacker.example; "
        "spf=pass smtp.mailfrom=x@attacker.example"
    ],
    "ours only below": ["mx.attacker.example; none", PASS],
}


def _headers(values: list[str]) -> bytes:
    return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values)


@pytest.mark.parametrize("case", list(SPOOFS))
def test_forged_staff_command_changes_nothing(guarded_desk, case):
    """A staff From without our MTA's aligned pass runs nothing; staff are alerted."""
    desk = guarded_desk
    key = desk.open()
    before = desk.ticket(key)
    sent = len(desk.smtp.messages)
    assert desk.staff(f"[{key}] [ZAMKNIJ]", raw_prefix=_headers(SPOOFS[case])) == {"refused": 1}
    after = desk.ticket(key)
    assert (after["status"], after["history"]) == (before["status"], before["history"])
    assert [m["kind"] for m in after["messages"] if m["direction"] == "in"][-1] == "untrusted"
    [alert] = desk.mails(sent)
    assert alert["To"] == STAFF
    assert "unverified staff sender" in alert["Subject"]


def test_authenticated_staff_command_runs(guarded_desk):
    """The same command with our MTA's aligned DKIM pass on top is carried out."""
    key = guarded_desk.open()
    assert guarded_desk.staff(f"[{key}] [ZAMKNIJ]", raw_prefix=_headers([PASS])) == {"command": 1}
    assert guarded_desk.ticket(key)["status"] == "ZAMKNIETY"


def test_exchange_mode_without_authas_changes_nothing(tmp_path, dovecot, smtp_server, sqlite_url):
    """In `exchange` mode a command without X-MS-Exchange-Organization-AuthAs runs nothing."""
    desk = make_desk(tmp_path, dovecot, smtp_server, sqlite_url, staff_auth="exchange")
    try:
        key = desk.open()
        assert desk.staff(f"[{key}] [ZAMKNIJ]", raw_prefix=_headers([PASS])) == {"refused": 1}
        assert desk.ticket(key)["status"] == "ANALIZA"
        inside = b"X-MS-Exchange-Organization-AuthAs: Internal\r\n"
        assert desk.staff(f"[{key}] [close]", raw_prefix=inside) == {"command": 1}
        assert desk.ticket(key)["status"] == "ZAMKNIETY"
    finally:
        desk.app.close()


# -- registration on behalf and split ------------------------------------------------------

ORIGINAL_SENDER = "maria.wisniewska@acme.example.com"


def _client_original() -> bytes:
    return client_mail(sender=ORIGINAL_SENDER, name="Maria Wiśniewska",
                       subject="Report R-12 crashes", body=INCOMPLETE_BODY,
                       message_id="original-1@acme.example.com")  # fmt: skip


def _attached_forward() -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Anna Nowak <{STAFF}>"
    msg["To"] = "support@log-systems.com"
    msg["Subject"] = "[REJESTRUJ] PD: Report R-12 crashes"
    msg["Message-ID"] = "<fwd-attached@log-systems.com>"
    msg.set_content("Rejestruję zgłoszenie klienta.\n")
    msg.add_attachment(email.message_from_bytes(_client_original(), policy=SMTP))
    return msg.as_bytes()


OUTLOOK_INLINE = f"""Rejestruję w imieniu klienta.

Anna Nowak

-----Wiadomość oryginalna-----
Od: Maria Wiśniewska [mailto:{ORIGINAL_SENDER}]
Wysłano: czwartek, 26 listopada 2026 10:00
Do: Anna Nowak <{STAFF}>
Temat: Report R-12 crashes

{INCOMPLETE_BODY}"""

GMAIL_INLINE = f"""Please register.

---------- Forwarded message ---------
From: Maria Wiśniewska <{ORIGINAL_SENDER}>
Date: Thu, 26 Nov 2026 at 10:00
Subject: Report R-12 crashes
To: <{STAFF}>

{INCOMPLETE_BODY}"""


def _check_registered(desk: Desk, sent: int) -> None:
    [key] = desk.keys()
    detail = desk.ticket(key)
    assert detail["client_email"] == ORIGINAL_SENDER
    assert detail["subject"] == "Report R-12 crashes"
    assert detail["status"] == "NOWY"
    assert any(h["by"] == STAFF and "on behalf" in h["reason"] for h in detail["history"])
    [request] = desk.mails(sent)
    assert request["To"] == ORIGINAL_SENDER
    assert request["Subject"] == f"[{key}] Report R-12 crashes"


def test_register_attached_outlook_message(desk):
    """[REJESTRUJ] with the client's mail attached opens a ticket of the original sender."""
    assert desk.run(_attached_forward()) == {"created": 1}
    _check_registered(desk, 0)


@pytest.mark.parametrize("body", [OUTLOOK_INLINE, GMAIL_INLINE], ids=["outlook-pl", "gmail-en"])
def test_register_inline_forward(desk, body):
    """[REJESTRUJ]/[register] with an inline forward (Od:/From: lines) registers its sender."""
    tag = "[REJESTRUJ]" if "Od:" in body else "[register]"
    assert desk.staff(f"{tag} Fwd: Report R-12 crashes", body=body) == {"created": 1}
    _check_registered(desk, 0)


def test_split_opens_a_linked_ticket_for_the_same_client(desk):
    """[PODZIEL] opens a NOWY ticket from the body for the same client, linked, client told."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    body = "Drugi problem: eksport do PDF nie działa od aktualizacji.\nWersja 6.1.111.111\n"
    assert desk.staff(f"[{key}] [PODZIEL] Eksport PDF", body=body) == {"created": 1}
    new = desk.keys()[-1]
    detail = desk.ticket(new)
    assert (detail["client_email"], detail["status"]) == (CLIENT, "NOWY")
    assert detail["subject"] == "Drugi problem: eksport do PDF nie działa od aktualizacji."
    assert detail["fields"]["version"] == "6.1.111.111"
    assert detail["linked"] == [key] and desk.ticket(key)["linked"] == [new]
    assert desk.ticket(key)["status"] == "ANALIZA"
    mails = desk.mails(sent)
    assert [m["To"] for m in mails] == [CLIENT, CLIENT]
    assert new in text_of(mails[0])
    assert mails[1]["Subject"].startswith(f"[{new}]")


# -- the whole way, on both databases -------------------------------------------------------


def test_staff_take_a_ticket_from_nowy_to_zamkniety(tmp_path, dovecot, smtp_server, database_url):
    """NOWY → ANALIZA → W TRAKCIE → POPRAWKA → PUBLIKACJA → ROZWIĄZANY → ZAMKNIĘTY by mail."""
    desk = make_desk(tmp_path, dovecot, smtp_server, database_url)
    try:
        key = desk.open(complete=False)
        for tag in ["[KOMPLETNE]", "[W TRAKCIE]", "[POPRAWKA]", "[PUBLIKACJA]", "[ROZWIĄZANY]",
                    "[ZAMKNIJ]"]:  # fmt: skip
            assert desk.staff(f"[{key}] {tag}") == {"command": 1}
        detail = desk.ticket(key)
        assert detail["status"] == "ZAMKNIETY" and detail["close_reason"] == "staff"
        assert [h["to"] for h in detail["history"] if h["from"] != h["to"]] == [
            "NOWY", "ANALIZA", "W_TRAKCIE", "CZEKA_NA_POPRAWKE", "CZEKA_NA_PUBLIKACJE",
            "ROZWIAZANY", "ZAMKNIETY",
        ]  # fmt: skip
        assert len(desk.mails()) == 7  # the request, then one mail per command
    finally:
        desk.app.close()


def test_mail_to_the_client_threads_only_on_mail_the_client_saw(desk):
    """Staff-only notices on a ticket never become the In-Reply-To of our next mail to the client."""
    key = desk.open()
    confirmation = desk.to(CLIENT)[-1]
    desk.run(
        client_mail(
            subject=f"Re: [{key}] Błąd",
            body="Dodatkowo: błąd występuje też na kliencie.",
            message_id="more@example.pl",
            in_reply_to=confirmation["Message-ID"][1:-1],
        )
    )
    staff_notice = desk.mails()[-1]
    assert staff_notice["To"] == STAFF
    seen = len(desk.smtp.messages)
    desk.staff(f"Re: [{key}] Błąd [W TRAKCIE]")
    [status_mail] = [m for m in desk.mails(seen) if m["To"] == CLIENT]
    assert status_mail["In-Reply-To"] == "<more@example.pl>"
    assert staff_notice["Message-ID"] not in status_mail["References"]
