"""Unit tests of the mail rules, bounce reports and client intents (SPEC sections 5 and 7)."""

from __future__ import annotations

import pytest

from mailintake.adapters.bounces import parse_bounce
from mailintake.domain.intents import client_intent, survey_rating
from mailintake.domain.mail import Attachment, ParsedMail
from mailintake.domain.mailrules import LOOP_HEADER, Kind, classify, is_out_of_office, may_autoreply

SUPPORT = "support@log-systems.com"
STAFF = frozenset({"anna.kowalska@log-systems.com"})


def mail(
    subject: str = "Błąd przy imporcie",
    from_addr: str | None = "jan@klient.pl",
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> ParsedMail:
    """A ParsedMail as `adapters.parse` would build it, with lower-case header names."""
    all_headers = {"return-path": f"<{from_addr or ''}>", **(headers or {})}
    return ParsedMail(
        message_id="m1@klient.pl",
        subject=subject,
        from_addr=from_addr,
        from_name="",
        headers={k.lower(): (v,) for k, v in all_headers.items()},
        **kwargs,  # type: ignore[arg-type]
    )


def kind_of(message: ParsedMail) -> Kind:
    return classify(message, support_address=SUPPORT, staff=STAFF).kind


# --- classify and may_autoreply -------------------------------------------------------------


def test_ordinary_client_mail_is_client_and_may_be_answered() -> None:
    """A plain message from a client is CLIENT and may get the automatic acknowledgement."""
    result = classify(mail(), support_address=SUPPORT, staff=STAFF)
    assert result.kind is Kind.CLIENT
    assert result.may_autoreply
    assert result.reasons == ()


def test_staff_address_is_staff() -> None:
    """Mail from a configured staff address is STAFF, whatever the case of the address."""
    assert kind_of(mail(from_addr="Anna.Kowalska@log-systems.com")) is Kind.STAFF


@pytest.mark.parametrize(
    "message",
    [
        mail(headers={LOOP_HEADER: SUPPORT}),
        mail(from_addr=SUPPORT),
        mail(from_addr="SUPPORT@log-systems.com"),
    ],
    ids=["loop-header", "from-support", "from-support-upper"],
)
def test_our_own_messages_are_loops_and_never_answered(message: ParsedMail) -> None:
    """Our loop header or our own From address make LOOP, never answered (SPEC section 5)."""
    result = classify(message, support_address=SUPPORT, staff=STAFF)
    assert result.kind is Kind.LOOP
    assert not result.may_autoreply


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto-Submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
        ({"Auto-Submitted": "auto-notified; owner-email=x@y"}, "Auto-Submitted: auto-notified"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "JUNK"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"List-Id": "<users.lists.example.org>"}, "List-Id present"),
        ({"List-Unsubscribe": "<mailto:leave@example.org>"}, "List-Unsubscribe present"),
        ({"Return-Path": "<>"}, "Return-Path: <>"),
        ({"X-Autoreply": "yes"}, "X-Autoreply present"),
        ({"X-Autorespond": "yes"}, "X-Autorespond present"),
        ({"X-Auto-Response-Suppress": "All"}, "X-Auto-Response-Suppress: All"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "X-Auto-Response-Suppress: AutoReply"),
        (
            {"X-MS-Exchange-Inbox-Rules-Loop": "jan@klient.pl"},
            "X-MS-Exchange-Inbox-Rules-Loop present",
        ),
    ],
)
def test_headers_that_forbid_an_automatic_answer(headers: dict[str, str], reason: str) -> None:
    """Each RFC 3834 / common-practice header forbids an automatic answer, and says why."""
    message = mail(headers=headers)
    allowed, why = may_autoreply(message, support_address=SUPPORT)
    assert not allowed
    assert why == reason
    assert not classify(message, support_address=SUPPORT, staff=STAFF).may_autoreply


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "no"},
        {"Precedence": "first-class"},
        {"X-Auto-Response-Suppress": "OOF"},
        {"X-Auto-Response-Suppress": "DR, RN, NRN"},
    ],
)
def test_harmless_headers_allow_an_answer(headers: dict[str, str]) -> None:
    """Auto-Submitted: no, other Precedence values and other suppress flags allow an answer."""
    assert may_autoreply(mail(headers=headers), support_address=SUPPORT) == (True, None)


@pytest.mark.parametrize(
    "sender",
    [
        "mailer-daemon@mx.klient.pl",
        "MAILER-DAEMON@mx.klient.pl",
        "postmaster@klient.pl",
        "noreply@klient.pl",
        "no-reply@klient.pl",
        "do-not-reply@klient.pl",
        "owner-users@lists.klient.pl",
        "users-request@lists.klient.pl",
        None,
    ],
)
def test_automatic_senders_are_never_answered(sender: str | None) -> None:
    """Mailer daemons, postmasters, list robots, no-reply and missing senders get no answer."""
    allowed, why = may_autoreply(mail(from_addr=sender), support_address=SUPPORT)
    assert not allowed
    assert why


def test_all_reasons_are_listed() -> None:
    """The classification lists every reason found, not just the first."""
    message = mail(
        headers={"Precedence": "bulk", "List-Id": "<l.example.org>", "Return-Path": "<>"}
    )
    result = classify(message, support_address=SUPPORT, staff=STAFF)
    assert {"Precedence: bulk", "List-Id present", "Return-Path: <>"} <= set(result.reasons)


def test_staff_out_of_office_is_an_autoreply() -> None:
    """A staff member's out-of-office is AUTOREPLY, not a staff command."""
    message = mail(
        subject="Automatic reply: [LOG-000001] x",
        from_addr=next(iter(STAFF)),
        headers={"X-Auto-Response-Suppress": "All"},  # what Exchange's OOF carries
    )
    assert kind_of(message) is Kind.AUTOREPLY


def test_bulk_mail_is_bulk() -> None:
    """List and bulk mail is BULK."""
    assert kind_of(mail(headers={"List-Id": "<news.example.org>"})) is Kind.BULK
    assert kind_of(mail(headers={"Precedence": "bulk"})) is Kind.BULK


def test_exchange_rule_forward_stays_client_but_unanswered() -> None:
    """A client mail forwarded by an Exchange inbox rule is still CLIENT, but not answered."""
    result = classify(
        mail(headers={"X-MS-Exchange-Inbox-Rules-Loop": "jan@klient.pl"}),
        support_address=SUPPORT,
        staff=STAFF,
    )
    assert result.kind is Kind.CLIENT
    assert not result.may_autoreply


# --- out of office ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Automatyczna odpowiedź: Zgłoszenie [LOG-000001]",
        "[Automatyczna odpowiedź] test",
        "Odpowiedź automatyczna: x",
        "Odpowiedz automatyczna: x",
        "Poza biurem",
        "Nieobecność w dniach 1-5 maja",
        "NIEOBECNOSC",
        "Out of Office: x",
        "Out of the office",
        "Automatic reply: x",
        "AutoReply: x",
        "Autosvar: x",
        "Abwesenheitsnotiz: x",
        "Auto: x",
        "Re: blah (Automatic Response)",
    ],
)
def test_out_of_office_subject_is_an_autoreply_only_with_machine_evidence(subject: str) -> None:
    """An out-of-office subject (Polish, English, others) strengthens machine evidence only.

    Alone it is a client's mail (issue 10: "Poza biurem: raport..." is a real request), not
    answered automatically just in case; with an RFC 3834 or Microsoft header it is AUTOREPLY.
    """
    message = mail(subject=subject)
    assert not is_out_of_office(message)
    assert kind_of(message) is Kind.CLIENT
    assert not may_autoreply(message, support_address=SUPPORT)[0]
    for header in ({"X-Auto-Response-Suppress": "All"}, {"Precedence": "bulk"}):
        with_header = mail(subject=subject, headers=header)
        assert is_out_of_office(with_header)
        assert kind_of(with_header) is Kind.AUTOREPLY


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "auto-replied"}, {"X-Autoreply": "yes"}, {"X-Autorespond": "1"}],
)
def test_out_of_office_headers(headers: dict[str, str]) -> None:
    """RFC 3834 Auto-Submitted: auto-replied and X-Autoreply/X-Autorespond mark out-of-office."""
    message = mail(subject="Re: [LOG-000001] x", headers=headers)
    assert is_out_of_office(message)
    assert kind_of(message) is Kind.AUTOREPLY


def test_subject_mentioning_absence_later_is_not_out_of_office() -> None:
    """Only a subject that starts like an auto-reply counts; a client may mention it."""
    message = mail(subject="Re: [LOG-000001] problem z nieobecnością w grafiku")
    assert not is_out_of_office(message)
    assert kind_of(message) is Kind.CLIENT


def test_challenge_response_is_an_autoreply() -> None:
    """Challenge/response systems (Bluebottle) are AUTOREPLY and not answered."""
    message = mail(subject="RE: BLAH", headers={"X-Bluebottle-Request": "<1234>"})
    assert kind_of(message) is Kind.AUTOREPLY
    assert not may_autoreply(message, support_address=SUPPORT)[0]


# --- bounces and reports ------------------------------------------------------------------

DSN_FAILED = b"""Reporting-MTA: dns; mx.log-systems.com

Final-Recipient: rfc822; Jan@Klient.pl
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <jan@klient.pl>:
    Recipient address rejected: User unknown
"""
DSN_DELAYED = b"""Reporting-MTA: dns; mx.log-systems.com

Original-Recipient: rfc822;jan@klient.pl
Final-Recipient: rfc822;jan@mail.klient.pl
Action: delayed
Status: 4.4.1
"""
RETURNED = b"""From: support@log-systems.com
To: jan@klient.pl
Message-ID: <out-1@log-systems.com>
Subject: [LOG-000001] x

"""


def dsn(status_part: bytes, *extra: Attachment, subject: str = "Delivery Status") -> ParsedMail:
    return mail(
        subject=subject,
        from_addr="mailer-daemon@mx.log-systems.com",
        headers={"Content-Type": "multipart/report; report-type=delivery-status; boundary=x"},
        content_type="multipart/report",
        attachments=(Attachment("details.txt", "message/delivery-status", status_part), *extra),
    )


def test_rfc3464_report_is_a_bounce_with_permanent_failure() -> None:
    """A DSN names the failed recipient, permanence from 5.x.x, and the diagnostic."""
    message = dsn(DSN_FAILED, Attachment("m.eml", "message/rfc822", RETURNED))
    assert kind_of(message) is Kind.BOUNCE
    bounce = parse_bounce(message)
    assert bounce is not None
    assert bounce.failed_recipients == ("jan@klient.pl",)
    assert bounce.permanent is True
    assert bounce.diagnostic is not None and "User unknown" in bounce.diagnostic
    assert bounce.original_message_id == "out-1@log-systems.com"


def test_delayed_report_is_temporary_and_prefers_original_recipient() -> None:
    """Action: delayed with 4.x.x is temporary; Original-Recipient names the address we used."""
    bounce = parse_bounce(dsn(DSN_DELAYED))
    assert bounce is not None
    assert bounce.failed_recipients == ("jan@klient.pl",)
    assert bounce.permanent is False


def test_original_message_id_from_returned_headers() -> None:
    """The returned original may come as text/rfc822-headers only."""
    headers_only = Attachment("h.txt", "text/rfc822-headers", RETURNED)
    bounce = parse_bounce(dsn(DSN_FAILED, headers_only))
    assert bounce is not None and bounce.original_message_id == "out-1@log-systems.com"


def test_original_message_id_from_body_text() -> None:
    """Without a returned part, a Message-ID line quoted in the body names the original."""
    message = mail(
        subject="Undelivered Mail Returned to Sender",
        from_addr="mailer-daemon@mx.klient.pl",
        text="Sorry.\n\n   Message-ID: <out-2@log-systems.com>\n   Subject: x\n",
    )
    bounce = parse_bounce(message)
    assert bounce is not None and bounce.original_message_id == "out-2@log-systems.com"


NON_STANDARD_BOUNCE = b"""Return-Path: <>
From: MAILER-DAEMON@mx.klient.pl
To: support@log-systems.com
Subject: failure notice
Message-ID: <qmail-1@mx.klient.pl>

Hi. This is the qmail-send program at mx.klient.pl.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<jan@klient.pl>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Message-ID: <out-3@log-systems.com>
Subject: [LOG-000001] x
"""


def test_non_standard_bounce_is_read_from_raw() -> None:
    """A qmail bounce (no DSN part) is read from the raw bytes with Mailman's detectors."""
    message = mail(
        subject="failure notice",
        from_addr="mailer-daemon@mx.klient.pl",
        headers={"Return-Path": "<>"},
        text=NON_STANDARD_BOUNCE.split(b"\n\n", 1)[1].decode(),
    )
    assert kind_of(message) is Kind.BOUNCE
    bounce = parse_bounce(message, NON_STANDARD_BOUNCE)
    assert bounce is not None
    assert bounce.failed_recipients == ("jan@klient.pl",)
    assert bounce.permanent is True
    assert bounce.original_message_id == "out-3@log-systems.com"


def test_exim_failed_recipients_header_without_raw() -> None:
    """Without raw bytes, exim's X-Failed-Recipients header still names the recipient."""
    message = mail(
        subject="Mail delivery failed: returning message to sender",
        from_addr="mailer-daemon@mx.klient.pl",
        headers={"X-Failed-Recipients": "jan@klient.pl", "Auto-Submitted": "auto-replied"},
    )
    assert kind_of(message) is Kind.BOUNCE
    assert not is_out_of_office(message)
    bounce = parse_bounce(message)
    assert bounce is not None and bounce.failed_recipients == ("jan@klient.pl",)


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "Niedostarczone: [LOG-000001] x",
        "Returned mail: see transcript for details",
        "failure notice",
        "Undeliverable: [LOG-000001] x",
        "DELIVERY FAILURE: User jan not listed",
    ],
)
def test_mail_server_bounce_subjects(subject: str) -> None:
    """The common non-standard bounce subjects make a BOUNCE from a null envelope only.

    From an ordinary address with no machine evidence, the same subject is client mail.
    """
    null = {"Return-Path": "<>"}
    assert kind_of(mail(subject=subject, from_addr="system@mx.klient.pl", headers=null)) is (
        Kind.BOUNCE
    )
    assert kind_of(mail(subject=subject, from_addr="system@mx.klient.pl")) is Kind.CLIENT


@pytest.mark.parametrize(
    "subject",
    [
        "Zamówienie niedostarczone do klienta - błąd w LOG System",
        "Niedostarczone zamówienia w raporcie",
        "Delivery failed status shown for every order",
        "Undeliverable parcels list is empty",
    ],
)
def test_client_writing_about_failed_deliveries_is_a_client(subject: str) -> None:
    """A client's subject about undelivered goods is no bounce without an automatic sender."""
    message = mail(subject=subject, text="Od wczoraj raport pokazuje błędne dane.")
    assert kind_of(message) is Kind.CLIENT
    assert parse_bounce(message) is None


def test_parse_bounce_is_none_for_client_mail() -> None:
    """parse_bounce returns None when the mail is not a bounce."""
    assert parse_bounce(mail()) is None


@pytest.mark.parametrize("report_type", ["feedback-report", "disposition-notification"])
def test_arf_and_mdn_are_reports(report_type: str) -> None:
    """ARF feedback reports and MDN read receipts are REPORT, never answered."""
    message = mail(
        headers={"Content-Type": f'multipart/report; report-type={report_type}; boundary="b"'},
        content_type="multipart/report",
    )
    result = classify(message, support_address=SUPPORT, staff=STAFF)
    assert result.kind is Kind.REPORT
    assert not result.may_autoreply


# --- survey (SPEC section 7) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("[LOG-000123] Ocena 5", "", (5, "")),
        ("Re: [LOG-000123] Ocena 4", "Szybko i sprawnie.\n", (4, "Szybko i sprawnie.")),
        ("Re: [LOG-000123] Ankieta", "5\nDziękuję", (5, "Dziękuję")),
        ("Re: [LOG-000123] Ankieta", "Ocena: 3 - mogło być szybciej", (3, "mogło być szybciej")),
        ("Re: ankieta", "4/5 szybko", (4, "szybko")),
        ("Re: ankieta", "rating 2", (2, "")),
        ("Re: ankieta", "  5.  \n\nSuper", (5, "Super")),
    ],
)
def test_survey_rating_is_read(subject: str, text: str, expected: tuple[int, str]) -> None:
    """A rating in the subject or first line is read with the rest as comment."""
    assert survey_rating(subject, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1. Program się zawiesza\n2. Potem błąd",
        "Dzień dobry, nadal nie działa",
        "6",
        "10 razy dziennie",
        "3,5",
        "",
    ],
)
def test_no_survey_rating(text: str) -> None:
    """Numbered lists, out-of-range numbers, decimals and prose are not ratings."""
    assert survey_rating("Re: [LOG-000123] Zgłoszenie zamknięte", text) is None


# --- client intents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "subject", "intent"),
    [
        ("REKLAMACJA\nNadal nie działa.", "Re: x", "complaint"),
        ("reklamacja", "Re: x", "complaint"),
        ("", "Re: [LOG-000001] [REKLAMACJA]", "complaint"),
        ("This is a complaint, it still fails.", "Re: x", "complaint"),
        ("Potwierdzam, działa.", "Re: x", "confirm"),
        ("I CONFIRM", "Re: x", "confirm"),
        ("AKCEPTUJĘ", "Re: x", "accept"),
        ("akceptuje termin", "Re: x", "accept"),
        ("Accept.", "Re: x", "accept"),
        ("POTWIERDZAM ale REKLAMACJA drugiej części", "Re: x", "complaint"),
    ],
)
def test_client_intent_words(text: str, subject: str, intent: str) -> None:
    """REKLAMACJA/COMPLAINT, POTWIERDZAM/CONFIRM, AKCEPTUJĘ/ACCEPT, any case or diacritics."""
    assert client_intent(text, subject) == intent


@pytest.mark.parametrize(
    "text",
    [
        "Reklamacje zgłaszamy osobno.",  # a different word
        "Niepotwierdzam",  # not a whole word
        "Nie potwierdzam, nadal błąd.",  # negated
        "Please confirm the release date.",  # a request to us
        "Can you confirm it is fixed in 6.2?",  # a question
        "We accepted the workaround",  # a different word
        "",
    ],
)
def test_no_client_intent(text: str) -> None:
    """Other words, negations, requests and questions carry no intent."""
    assert client_intent(text, "Re: [LOG-000001] Rozwiązane") is None
