"""What staff keep among themselves never reaches the client (issue 12, round 2).

Real Dovecot, aiosmtpd, SQLite and PostgreSQL: an untagged reply to a staff-only notice
is an internal note, staff-only notices go to current staff only, and a note tag in any
spelling keeps the staff text internal.
"""

from __future__ import annotations

import pytest

from mailintake.services import views
from tests.apps import make_app
from tests.desk import CLIENT, OWN, STAFF, Desk, running_desk, text_of
from tests.mails import client_mail, delivery_status_for

pytestmark = pytest.mark.dovecot

PIOTR = "piotr.zielinski@log-systems.com"
AUTHSERV = "mx.log-systems.com"
PASS = f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=log-systems.com\r\n".encode()


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    with running_desk(tmp_path, dovecot, smtp_server, database_url) as desk:
        yield desk


@pytest.fixture
def guarded(tmp_path, dovecot, smtp_server, database_url):
    """Staff commands count only with a passing Authentication-Results of our server."""
    with running_desk(tmp_path, dovecot, smtp_server, database_url,
                      staff_auth=f"authres:{AUTHSERV}") as desk:  # fmt: skip
        yield desk


def _assert_internal(desk: Desk, key: str, sent: int) -> None:
    """The staff text reached nobody outside staff and stays on the ticket as a note."""
    for mail in desk.mails(sent):
        assert CLIENT not in str(mail["To"]) + str(mail["Cc"] or "")
        assert OWN not in text_of(mail)
    assert all(CLIENT not in rcpts for rcpts in desk.envelopes(sent))
    detail = desk.ticket(key)
    assert any(h["reason"].startswith("note: Przyczyną") for h in detail["history"])
    assert not any("relayed" in h["reason"] for h in detail["history"])


# -- 1a. an untagged reply to a staff-only notice is an internal note --------------------


def test_an_untagged_reply_to_a_refusal_is_a_note(desk):
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"RE: [{key}] [ROZWIAZNY] Błąd") == {"refused": 1}
    [refusal] = desk.mails(sent)
    sent = desk.sent
    desk.staff(f"RE: {refusal['Subject']}", in_reply_to=refusal["Message-ID"][1:-1])
    _assert_internal(desk, key, sent)


def test_an_untagged_reply_to_an_unverified_sender_alert_is_a_note(guarded):
    desk = guarded
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"[{key}] [ZAMKNIJ] Błąd", body="x\n") == {"refused": 1}
    [alert] = desk.mails(sent)
    assert alert["To"] == STAFF
    sent = desk.sent
    desk.staff(f"Re: {alert['Subject']}", in_reply_to=alert["Message-ID"][1:-1],
               raw_prefix=PASS)  # fmt: skip
    _assert_internal(desk, key, sent)
    assert desk.ticket(key)["status"] == "ANALIZA"


def test_an_untagged_reply_to_a_bounce_alert_is_a_note(desk):
    key = desk.open()
    [ours] = desk.to(CLIENT)
    sent = desk.sent
    desk.run(delivery_status_for(ours, CLIENT))
    [alert] = desk.to(STAFF, sent)
    sent = desk.sent
    desk.staff(f"RE: {alert['Subject']}", in_reply_to=alert["Message-ID"][1:-1])
    _assert_internal(desk, key, sent)


def test_a_reply_to_a_notice_of_client_mail_still_reaches_the_client(desk):
    """The notice of a client's message is meant to be answered: that answer is relayed."""
    key = desk.open(complete=False)
    [request] = desk.to(CLIENT)
    desk.run(client_mail(subject=f"Re: [{key}] Błąd", body="Dopisuję szczegóły.\n",
                         in_reply_to=request["Message-ID"][1:-1]))  # fmt: skip
    notice = desk.to(STAFF)[-1]
    sent = desk.sent
    desk.staff(f"RE: {notice['Subject']}", in_reply_to=notice["Message-ID"][1:-1])
    [relay] = desk.mails(sent)
    assert relay["To"] == CLIENT and OWN in text_of(relay)


# -- 1b. staff-only notices go to current staff only --------------------------------------


def test_a_notice_for_a_former_owner_goes_to_current_staff_only(desk, tmp_path, database_url):
    key = desk.open()
    desk.staff(f"RE: [{key}] [W TRAKCIE] Błąd")
    assert desk.ticket(key)["owner"] == STAFF
    app = make_app(tmp_path / "state2", database_url=database_url,
                   inbox_url=desk.dovecot.url(desk.user), imap_password=desk.dovecot.password,
                   smtp_url=desk.smtp.url, imap_idle="false", staff=PIOTR)  # fmt: skip
    later = Desk(app, desk.dovecot, desk.user, desk.smtp)
    try:
        sent = later.sent
        last = desk.to(CLIENT)[-1]
        later.run(client_mail(subject=f"Re: [{key}] Błąd", body="Nadal nie działa.\n",
                              in_reply_to=last["Message-ID"][1:-1]))  # fmt: skip
        mails = later.mails(sent)
        assert mails, "staff must be told of the client's reply"
        for mail in mails:
            assert CLIENT not in str(mail["Cc"] or "") and STAFF not in str(mail["To"])
        assert later.envelopes(sent) == [[PIOTR]]
    finally:
        app.close()


# -- 1c. a note tag in any spelling keeps the text internal -------------------------------


@pytest.mark.parametrize(
    "tags",
    ["[in progress] [internal note]", "[W TRAKCIE] (NOTATKA)", "[W TRAKCIE] NOTATKA:",
     "[w trakcie] [Notatka:]", "(notatka) [W TRAKCIE]"],
)  # fmt: skip
def test_a_note_tag_in_any_spelling_changes_the_status_silently(desk, tags):
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"RE: [{key}] {tags} Błąd") == {"command": 1}
    detail = desk.ticket(key)
    assert detail["status"] == "W_TRAKCIE"
    assert any(h["reason"].startswith("note: Przyczyną") for h in detail["history"])
    [notice] = desk.to(CLIENT, sent)
    assert OWN not in text_of(notice)


@pytest.mark.parametrize("tags", ["[internal note]", "(NOTATKA)", "NOTATKA:", "[Note:]"])
def test_a_note_in_any_spelling_stays_internal(desk, tags):
    key = desk.open()
    sent = desk.sent
    assert desk.staff(f"RE: [{key}] {tags} Błąd") == {"note": 1}
    _assert_internal(desk, key, sent)
    assert views.show_ticket(desk.app, key)["status"] == "ANALIZA"
