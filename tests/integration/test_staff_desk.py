"""What staff send reaches the client intact, once, with colleagues in copy (issue 12).

Real Dovecot and aiosmtpd: attachments relayed byte for byte, reply-all not doubled, the
client's colleagues kept in Cc, a silent status change, one greeting, duplicates merged,
split subjects, ownership and the tag guide.
"""

from __future__ import annotations

import pytest

from mailintake.domain import staffcmd
from mailintake.services import reports, views
from tests.desk import CLIENT, OWN, STAFF, STAFF_BODY, running_desk, text_of
from tests.mails import INCOMPLETE_BODY, client_mail

PDF_NAME = "Raport błędów – wrzesień.pdf"
PDF = b"%PDF-1.7\r\n" + bytes(range(256)) * 40 + b"\r\n%%EOF\r\n"
COLLEAGUE = "ewa.nowicka@example.pl"
OUTSIDER = "someone@other.example.org"


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    with running_desk(tmp_path, dovecot, smtp_server, database_url) as desk:
        yield desk


def _pdf() -> list[tuple[str, str, bytes]]:
    return [(PDF_NAME, "application/pdf", PDF)]


# -- attachments survive ------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["", "[PYTANIE]", "[ROZWIĄZANY]", "[W TRAKCIE]"])
def test_a_staff_attachment_reaches_the_client_byte_identical(desk, tag):
    """The PDF of a staff reply or tag mail goes to the client with the text, name and bytes kept."""
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"RE: [{key}] {tag} Błąd", attachments=_pdf()) == {"command": 1}
    [mail] = desk.to(CLIENT, sent)
    assert OWN in text_of(mail)
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == PDF_NAME
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == PDF


def test_attachments_over_the_limit_are_refused_to_the_sender(tmp_path, dovecot, smtp_server,
                                                                sqlite_url):  # fmt: skip
    """Staff files over the limit: the command is refused with the reason, nothing changes."""
    with running_desk(
        tmp_path, dovecot, smtp_server, sqlite_url, max_attachments_mb="0.005"
    ) as desk:
        key = desk.open()
        before = desk.ticket(key)
        sent = desk.sent
        assert desk.staff(f"RE: [{key}] [ROZWIĄZANY] Błąd", attachments=_pdf()) == {"refused": 1}
        [refusal] = desk.mails(sent)
        assert refusal["To"] == STAFF
        assert "MAILINTAKE_MAX_ATTACHMENTS_MB" in text_of(refusal) and PDF_NAME in text_of(refusal)
        after = desk.ticket(key)
        assert (after["status"], after["history"], after["owner"]) == (
            before["status"], before["history"], None
        )  # fmt: skip


# -- no double copies, colleagues in copy -------------------------------------------------


def test_a_reply_all_that_reached_the_client_is_not_relayed_again(desk):
    """Staff answered the client directly (client in Cc): recorded on the ticket, not resent."""
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"RE: [{key}] Błąd", to=f"support@log-systems.com, {CLIENT}") == {
        "command": 1
    }
    assert desk.mails(sent) == []
    detail = desk.ticket(key)
    assert detail["messages"][-1]["from"] == STAFF
    assert any("directly" in h["reason"] for h in detail["history"])
    assert detail["owner"] == STAFF
    assert detail["first_response_at"] is not None


def test_a_status_tag_with_the_client_in_copy_sends_the_notice_without_the_text(desk):
    """Reply-all with a status tag: the status notice goes, the staff text does not go twice."""
    key = desk.open()
    sent = desk.sent
    desk.staff(f"RE: [{key}] [W TRAKCIE] Błąd", headers={"Cc": CLIENT}, attachments=_pdf())
    [notice] = desk.to(CLIENT, sent)
    assert "W TRAKCIE" in text_of(notice) and OWN not in text_of(notice)
    assert list(notice.iter_attachments()) == []


def test_the_clients_colleagues_stay_in_copy(desk):
    """Colleagues of the client's organisation in To/Cc become the ticket's cc and get our mail."""
    raw = client_mail(body=INCOMPLETE_BODY,
                      headers={"Cc": f"Ewa Nowicka <{COLLEAGUE}>, {OUTSIDER}, {STAFF}"})  # fmt: skip
    desk.run(raw)
    [key] = desk.keys()
    assert desk.ticket(key)["cc"] == [COLLEAGUE]
    [request] = desk.mails()
    assert request["To"] == CLIENT and request["Cc"] == COLLEAGUE
    assert desk.envelopes() == [sorted([CLIENT, COLLEAGUE])]
    sent = desk.sent
    desk.staff(f"RE: [{key}] Błąd")
    [relay] = desk.mails(sent)
    assert relay["Cc"] == COLLEAGUE and desk.envelopes(sent) == [sorted([CLIENT, COLLEAGUE])]


# -- what the client reads ---------------------------------------------------------------


@pytest.mark.parametrize("tags", ["[W TRAKCIE] [NOTATKA]", "[note] [in progress]"])
def test_a_status_tag_with_a_note_changes_the_status_silently(desk, tags):
    """Status tag + [NOTATKA]: the status changes, the client gets the bare notice, the text stays."""
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"RE: [{key}] {tags} Błąd", attachments=_pdf()) == {"command": 1}
    detail = desk.ticket(key)
    assert detail["status"] == "W_TRAKCIE"
    assert any(h["reason"].startswith("note: Przyczyną") for h in detail["history"])
    [notice] = desk.mails(sent)
    assert notice["To"] == CLIENT
    assert "W TRAKCIE" in text_of(notice)
    assert OWN not in text_of(notice) and list(notice.iter_attachments()) == []


@pytest.mark.parametrize(
    ("greeting", "sender", "template_greeting"),
    [
        ("Dzień dobry Panie Janie,", CLIENT, "Dzień dobry"),
        ("Witam,", CLIENT, "Dzień dobry"),
        ("Szanowni Państwo,", CLIENT, "Dzień dobry"),
        ("Hello John,", "john.smith@acme.example.com", "Hello"),
        ("Hi,", "john.smith@acme.example.com", "Hello"),
    ],
)
def test_a_staff_text_with_its_own_greeting_gets_no_second_one(desk, greeting, sender,
                                                               template_greeting):  # fmt: skip
    """The template drops its greeting when the staff text opens with one."""
    key = desk.open(sender=sender)
    sent = desk.sent
    desk.staff(f"RE: [{key}] [W TRAKCIE] Błąd", body=f"{greeting}\n\n{STAFF_BODY}")
    [mail] = desk.to(sender, sent)
    body = text_of(mail)
    assert body.lstrip().startswith(greeting)
    assert body.count(template_greeting) == (1 if greeting.startswith(template_greeting) else 0)
    # An English client reads the English status name (issue 13).
    status = "IN PROGRESS" if sender.endswith("acme.example.com") else "W TRAKCIE"
    assert status in body and OWN in body


def test_without_its_own_greeting_the_template_greets(desk):
    """A staff text without a greeting keeps the template's one."""
    key = desk.open()
    sent = desk.sent
    desk.staff(f"RE: [{key}] [W TRAKCIE] Błąd")
    [mail] = desk.to(CLIENT, sent)
    assert text_of(mail).startswith("Dzień dobry,")


# -- duplicates and splits ---------------------------------------------------------------


def test_a_duplicate_is_merged_into_the_ticket_that_stays(desk):
    """[DUPLIKAT]: the duplicate's logs complete the target, the client is told its key."""
    target = desk.open(complete=False, message_id="first@example.pl")
    assert desk.ticket(target)["missing"] == ["version", "logs", "frequency"]
    duplicate = desk.open(subject="Ten sam błąd raportu", message_id="second@example.pl")
    sent = desk.sent
    assert desk.staff(f"RE: [{duplicate}] [DUPLIKAT {target}] Ten sam błąd") == {"command": 1}
    kept = desk.ticket(target)
    assert (kept["status"], kept["missing"]) == ("ANALIZA", [])
    assert kept["fields"]["logs"] == ["LOGSystem_logs.zip"]
    assert [a["filename"] for a in kept["attachments"]] == ["LOGSystem_logs.zip"]
    closed = desk.ticket(duplicate)
    assert (closed["status"], closed["close_reason"]) == ("ZAMKNIETY", "duplicate")
    assert closed["linked"] == [target] and kept["linked"] == [duplicate]
    to_client = desk.to(CLIENT, sent)
    assert any(target in text_of(m) and m["Subject"].startswith(f"[{duplicate}]")
               for m in to_client)  # fmt: skip
    assert any(m["Subject"].startswith(f"[{target}]") and "ANALIZA" in text_of(m)
               for m in to_client)  # fmt: skip
    # The client answers on the duplicate's thread: it lands on the ticket that stays.
    assert desk.run(client_mail(subject=f"Re: [{duplicate}] Ten sam błąd raportu",
                                in_reply_to="second@example.pl",
                                body="Czy są już wyniki?\n")) == {"updated": 1}  # fmt: skip
    inbound = [m for m in desk.ticket(target)["messages"] if m["direction"] == "in"]
    assert inbound[-1]["subject"].endswith("Ten sam błąd raportu")
    assert len(desk.keys()) == 2


def test_a_split_ticket_takes_its_subject_from_the_first_line_of_the_text(desk):
    """[PODZIEL] in a plain reply: the new ticket's subject is the split text's first line."""
    key = desk.open()
    body = "Dzień dobry,\n\nEksport do PDF nie działa od aktualizacji.\nWersja 6.1.111.111\n"
    assert desk.staff(f"RE: [{key}] [PODZIEL] Błąd przy generowaniu raportu",
                      body=body) == {"created": 1}  # fmt: skip
    new = desk.keys()[-1]
    assert desk.ticket(new)["subject"] == "Eksport do PDF nie działa od aktualizacji."


# -- ownership ------------------------------------------------------------------------------


def test_the_first_staff_member_who_acts_owns_the_ticket(desk):
    """A note does not make an owner; a status change does, and shows in JSON, list and R-2."""
    key = desk.open()
    desk.staff(f"RE: [{key}] [NOTATKA] Błąd")
    assert desk.ticket(key)["owner"] is None
    desk.staff(f"RE: [{key}] [W TRAKCIE] Błąd")
    assert desk.ticket(key)["owner"] == STAFF
    assert [t["owner"] for t in views.list_tickets(desk.app, owner=True)] == [STAFF]
    [row] = reports.r2(desk.app, desk.app.clock())
    assert row["owner"] == STAFF


def test_take_changes_the_owner_and_nothing_else(tmp_path, dovecot, smtp_server, sqlite_url):
    """[take] from another staff member moves the ticket to them: status kept, no client
    mailed; only the previous owner is told (issue 12, round 2)."""
    other = "piotr.zielinski@log-systems.com"
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url, staff=f"{STAFF},{other}") as desk:
        key = desk.open()
        desk.staff(f"RE: [{key}] [W TRAKCIE] Błąd")
        sent = desk.sent
        assert desk.staff(f"RE: [{key}] [take]", body="", sender=other) == {"command": 1}
        detail = desk.ticket(key)
        assert (detail["owner"], detail["status"]) == (other, "W_TRAKCIE")
        assert desk.envelopes(sent) == [[STAFF]]


# -- the tag guide ------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["[POMOC]", "[help]", "Re: [pomoc] jak to działa?"])
def test_help_mails_the_tag_guide_back(desk, subject):
    """[POMOC]/[help] needs no ticket: the guide with every tag comes back to the sender."""
    assert desk.staff(subject, body="") == {"command": 1}
    [guide] = desk.mails()
    assert guide["To"] == STAFF
    assert staffcmd.parse_command(f"RE: {guide['Subject']}").action is staffcmd.Action.RELAY
    body = text_of(guide)
    for polish, english in staffcmd.PHRASES.values():
        assert polish.upper() in body.upper() and english.upper() in body.upper()
    assert desk.keys() == []
    # Read as a person reads it: no raw Markdown in the text, real HTML beside it.
    assert "**" not in body and "`" not in body and "\n## " not in body
    html = guide.get_body(preferencelist=("html",)).get_content()
    assert "<h2>" in html and "<strong>" in html and "**" not in html


def test_help_from_an_unverified_sender_is_not_answered(tmp_path, dovecot, smtp_server,
                                                         sqlite_url):  # fmt: skip
    """A forged staff address asking for help gets nothing; staff are warned instead."""
    auth = "authres:mx.log-systems.com"
    with running_desk(tmp_path, dovecot, smtp_server, sqlite_url, staff_auth=auth) as desk:
        assert desk.staff("[POMOC]", body="") == {"refused": 1}
        [alert] = desk.mails()
        assert "unverified" in alert["Subject"]
