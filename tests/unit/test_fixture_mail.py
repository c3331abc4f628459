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
    assert result.may_autoreply, result.reasons


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
        ("autoreply-subject-only.eml", True),
    ],
)
def test_a_bounce_saying_auto_replied_is_no_out_of_office(name: str, out_of_office: bool) -> None:
    """Out-of-office is read from headers or the subject alone, but a bounce never is one."""
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
