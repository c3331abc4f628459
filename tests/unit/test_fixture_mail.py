"""The mail rules (SPEC sections 5 and 6) on the project's own real-shaped mail (tests/fixtures/mail).

Each file is parsed with `adapters.parse`, as the intake does, and then classified,
read as a bounce, stripped to the sender's own text or shown to the staff sender
check. The same rules on other projects' real mail: tests/integration/test_corpus_rules.py.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from mailintake.adapters.bounces import parse_bounce
from mailintake.adapters.parse import parse
from mailintake.domain.fields import REQUIRED, extract, missing
from mailintake.domain.mailrules import Kind, classify, is_out_of_office, may_autoreply
from mailintake.domain.staffauth import parse_auth_mode, verify_sender
from tests.fixture_mail import EXPECTED, MAIL, names, read

SUPPORT = "support@log-systems.com"
STAFF = frozenset({"anna.nowak@log-systems.com"})


def classified(name: str):
    mail = parse(read(name))
    return mail, classify(mail, support_address=SUPPORT, staff=STAFF)


def test_every_fixture_is_described() -> None:
    """Each file in tests/fixtures/mail has its expectation, and each expectation its file."""
    assert sorted(p.name for p in MAIL.iterdir() if p.suffix == ".eml") == sorted(EXPECTED)


@pytest.mark.parametrize("name", names())
def test_each_fixture_is_the_kind_it_stands_for(name: str) -> None:
    """Client and staff mail keep their kind; bounces, auto-replies, reports and lists are recognised."""
    _, result = classified(name)
    assert result.kind is EXPECTED[name].kind, result


@pytest.mark.parametrize("name", names(Kind.BOUNCE, Kind.AUTOREPLY, Kind.REPORT, Kind.BULK))
def test_machine_mail_is_never_answered_and_says_why(name: str) -> None:
    """No automatic answer goes to a bounce, an auto-reply, a report or list mail, and a reason is given."""
    mail, result = classified(name)
    allowed, reason = may_autoreply(mail, support_address=SUPPORT)
    assert (result.may_autoreply, allowed) == (False, False)
    assert reason and reason in result.reasons


@pytest.mark.parametrize("name", names(Kind.CLIENT))
def test_client_mail_may_be_acknowledged(name: str) -> None:
    """Ordinary client mail, even about goods that were not delivered, may get the acknowledgement."""
    _, result = classified(name)
    # An out-of-office subject opens a ticket but is not answered, just in case (issue 10).
    assert result.may_autoreply is (name != "autoreply-subject-only.eml"), result.reasons


@pytest.mark.parametrize("name", names(Kind.BOUNCE))
def test_bounces_name_the_failed_recipient_our_message_and_permanence(name: str) -> None:
    """A DSN, exim, qmail or Exchange bounce yields who failed, which of our messages, and for good or not."""
    raw = read(name)
    bounce = parse_bounce(parse(raw), raw)
    want = EXPECTED[name]
    assert bounce is not None
    assert (bounce.failed_recipients, bounce.original_message_id, bounce.permanent) == (
        want.failed,
        want.original,
        want.permanent,
    )


@pytest.mark.parametrize(
    ("name", "out_of_office"),
    [
        ("bounce-exim-autoreplied.eml", False),
        ("bounce-postfix-dsn.eml", False),
        ("autoreply-exchange-pl.eml", True),
        ("autoreply-rfc3834-en.eml", True),
        ("autoreply-subject-only.eml", False),  # no machine header: no evidence (issue 10)
    ],
)
def test_a_bounce_saying_auto_replied_is_no_out_of_office(name: str, out_of_office: bool) -> None:
    """Out-of-office is read from headers (the subject only strengthens), never a bounce."""
    assert is_out_of_office(parse(read(name))) is out_of_office


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if e.own_text is not None])
def test_replies_are_stripped_to_the_senders_own_text(name: str) -> None:
    """Gmail, Outlook, Thunderbird and iPhone replies lose their quoted history and signature."""
    assert parse(read(name)).own_text == EXPECTED[name].own_text


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if e.own_text is not None])
def test_replies_from_mail_clients_fill_no_required_data(name: str) -> None:
    """Quoted history, attributions and signatures of ordinary replies are not read as ticket data."""
    mail = parse(read(name))
    assert missing(extract(mail.text, "Hello", [], first_message=True)) == list(REQUIRED)


# --- client mail: what the parser reads from it -------------------------------------------


def test_8bit_thunderbird_forward_keeps_its_text_and_survives_a_broken_html_line() -> None:
    """Raw 8-bit UTF-8 decodes, a folded two-word subject joins, and bad bytes become a defect."""
    mail = parse(read("client-thunderbird-8bit.eml"))
    assert (mail.subject, mail.from_addr) == (
        "Fwd: Błąd przy generowaniu raportu sprzedaży",
        "jan.kowalski@example.pl",
    )
    assert ".kropka na początku linii ma zostać kropką\n" in mail.text
    assert "Raport R-12 zawiesza się po kliknięciu „Generuj”." in mail.text
    assert "\ufffd" in (mail.html or "")
    assert any("undecodable" in d for d in mail.defects)


def test_outlook_html_in_windows_1250_gives_every_required_field() -> None:
    """HTML-only windows-1250 mail with RFC 2231 names and an inline logo yields a complete ticket."""
    mail = parse(read("client-outlook-complete.eml"))
    assert (mail.subject, mail.from_name) == (
        "Raport R-12 zamyka program – magazyn Łódź",
        "Małgorzata Wójcik",
    )
    assert [(a.filename, a.inline) for a in mail.attachments] == [
        ("image001.png", True),
        ("logi_łódź.zip", False),
    ]
    found = extract(mail.text, mail.own_text, mail.attachments, first_message=True)
    assert missing(found) == []
    assert (found["version"], found["frequency"]) == ("6.1.114.208", "often")


def test_pgp_signed_mail_is_its_text_and_the_signature_a_file() -> None:
    """multipart/signed: the quoted-printable text is the body, signature.asc an attachment."""
    mail = parse(read("client-pgp-signed.eml"))
    assert mail.text.startswith("Dzień dobry,\n\npo aktualizacji do wersji 6.1.114.208 moduł")
    [signature] = mail.attachments
    assert signature.filename == "signature.asc"
    assert signature.data.startswith(b"-----BEGIN PGP SIGNATURE-----")


def test_mail_with_only_an_attachment_has_empty_text_and_its_whole_subject() -> None:
    """No body at all is no error; a long subject in three encoded words comes back as one line."""
    mail = parse(read("client-blank-body-attachment.eml"))
    assert mail.text == "" and mail.own_text == ""
    assert mail.subject.startswith("Załącznik bez treści – logi")
    assert mail.subject.endswith("dokumentów WZ ani przesunięć MM") and len(mail.subject) > 200
    assert [a.filename for a in mail.attachments] == ["LOGSystem_logi_2026-11-24.zip"]


# --- Gmail-style headers and the staff sender check (SPEC section 6) ---------------------------


def all_headers(raw: bytes) -> dict[str, list[str]]:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    found: dict[str, list[str]] = {}
    for key, value in message.items():
        found.setdefault(key.lower(), []).append(str(value))
    return found


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("authres:mx.log-systems.com", "no Authentication-Results from mx.log-systems.com"),
        ("authres:mx.google.com", "dmarc=fail; spf=softfail"),
        ("exchange", "no X-MS-Exchange-Organization-AuthAs (not from inside)"),
    ],
)
def test_a_staff_address_relayed_through_gmail_is_not_trusted(mode: str, reason: str) -> None:
    """Google's Authentication-Results are not ours, its failures stay failures, and ARC results never count."""
    raw = read("gmail-relayed-staff.eml")
    headers = all_headers(raw)
    assert "arc-authentication-results" in headers  # says dmarc=pass: must not be taken
    verdict = verify_sender(parse_auth_mode(mode), "anna.nowak@log-systems.com", headers)
    assert verdict.__dict__ == {"trusted": False, "reason": reason}
    parsed = verify_sender(parse_auth_mode(mode), "anna.nowak@log-systems.com", parse(raw).headers)
    assert parsed == verdict
