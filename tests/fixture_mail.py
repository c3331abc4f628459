"""The project's own test mail (`tests/fixtures/mail/`) and what each message is.

Every file was written for this project (addresses under example.* and our own
log-systems.com; documentation IP ranges), so it ships with the repository and
every behaviour the external conformance corpus checks is also checked here.
`EXPECTED` says, per file, what the rules and the intake must make of it; a test
keeps the table and the folder in step. Must not parse mail itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailintake.domain.mailrules import Kind

MAIL = Path(__file__).resolve().parent / "fixtures" / "mail"

#: Our own outgoing Message-IDs that the bounces and automatic answers refer to.
OURS = {
    n: f"LOG-0000{n}.{tail}@log-systems.com"
    for n, tail in {
        42: "5f1c2a9e7d3b4c60a1e2f3d4c5b6a7e8",
        43: "0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f",
        44: "1a2b3c4d5e6f70819a0b1c2d3e4f5a6b",
        45: "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        46: "2b3c4d5e6f708192a3b4c5d6e7f8091a",
    }.items()
}


@dataclass(frozen=True)
class Expected:
    """What one fixture is: its kind, the intake outcome, and what a bounce or reply says."""

    kind: Kind | None  # None: not parseable at all
    outcome: str  # of intake.handle_message with the staff check authres:mx.log-systems.com
    failed: tuple[str, ...] = ()  # a bounce's failed recipients
    original: str | None = None  # a bounce's returned Message-ID
    permanent: bool | None = None  # a bounce's permanence
    own_text: str | None = None  # a reply's own text, history and signature removed


EXPECTED: dict[str, Expected] = {
    # Client mail: a ticket each, and the automatic answer is allowed.
    "client-thunderbird-8bit.eml": Expected(Kind.CLIENT, "created"),
    "client-outlook-complete.eml": Expected(Kind.CLIENT, "created"),
    "client-undelivered-goods.eml": Expected(Kind.CLIENT, "created"),
    "client-pgp-signed.eml": Expected(Kind.CLIENT, "created"),
    "client-blank-body-attachment.eml": Expected(Kind.CLIENT, "created"),
    # Replies from common mail clients: quoted history and signatures are not the sender's.
    "reply-gmail-en.eml": Expected(
        Kind.CLIENT, "created", own_text="Sure, the warehouse team can start at seven."
    ),
    "reply-iphone-en.eml": Expected(
        Kind.CLIENT, "created", own_text="Will check with the drivers."
    ),
    "reply-outlook-en.eml": Expected(
        Kind.CLIENT, "created", own_text="Noted, the new labels go out on Thursday."
    ),
    "reply-outlook-pl.eml": Expected(
        Kind.CLIENT, "created", own_text="Dzień dobry,\n\nzaczynamy o siódmej, skanery są gotowe."
    ),
    "reply-thunderbird-pl.eml": Expected(
        Kind.CLIENT, "created", own_text="Dziękuję, potwierdzam odbiór w poniedziałek."
    ),
    # Yahoo: the attribution and an unquoted header block share the block of the reply.
    "reply-yahoo-en.eml": Expected(
        Kind.CLIENT,
        "created",
        own_text="Hi Anna.\u00a0 Sounds good.\u00a0 Are there any slots left for the Friday "
        "delivery?\u00a0 Let me know what will work best and I will book the truck.\u00a0 "
        "Thanks so much.\n\nJoe Black",
    ),
    # Delivery-status reports, standard and not.
    "bounce-postfix-dsn.eml": Expected(
        Kind.BOUNCE, "bounce", ("tomasz.wisniewski@example.pl",), OURS[42], True
    ),
    "bounce-exim-autoreplied.eml": Expected(
        Kind.BOUNCE, "bounce", ("magazyn@example.com",), OURS[43], True
    ),
    "bounce-qmail.eml": Expected(
        Kind.BOUNCE, "bounce", ("adam.zielinski@example.org",), OURS[44], True
    ),
    "bounce-exchange-pl.eml": Expected(
        Kind.BOUNCE, "bounce", ("ksiegowosc@example.com.pl",), OURS[45], True
    ),
    "bounce-delayed.eml": Expected(Kind.BOUNCE, "bounce", ("biuro@example.net",), OURS[46], False),
    # A postmaster's notice that is no delivery report, sent automatically (Auto-Submitted,
    # Return-Path <>): still never answered.
    "bounce-postmaster-notice.eml": Expected(Kind.BOUNCE, "bounce"),
    # Out-of-office and challenge/response: no ticket, no answer.
    "autoreply-exchange-pl.eml": Expected(Kind.AUTOREPLY, "ignored"),
    "autoreply-rfc3834-en.eml": Expected(Kind.AUTOREPLY, "ignored"),
    # An out-of-office subject with no machine header: it may be a client's request, so a
    # ticket staff see, never answered automatically (issue 10).
    "autoreply-subject-only.eml": Expected(Kind.CLIENT, "created"),
    "autoreply-challenge.eml": Expected(Kind.AUTOREPLY, "ignored"),
    # Abuse reports, read receipts and list mail.
    "report-arf.eml": Expected(Kind.REPORT, "ignored"),
    "report-mdn.eml": Expected(Kind.REPORT, "ignored"),
    "bulk-newsletter.eml": Expected(Kind.BULK, "ignored"),
    # A forged staff command relayed through Gmail: only Google's Authentication-Results.
    "gmail-relayed-staff.eml": Expected(Kind.STAFF, "refused"),
    # Nothing at all.
    "degenerate-empty.eml": Expected(None, "quarantined"),
}


def read(name: str) -> bytes:
    """The bytes of one fixture, exactly as stored."""
    return (MAIL / name).read_bytes()


def names(*kinds: Kind) -> list[str]:
    """Fixture names of the given kinds (all parseable ones when none are given)."""
    return [n for n, e in EXPECTED.items() if e.kind is not None and (not kinds or e.kind in kinds)]
