"""What kind of mail this is, and whether we may answer it automatically (SPEC section 5).

Owns: the classification of an incoming `ParsedMail` (client, staff, auto-reply, bounce,
report, our own loop, bulk) with the reasons that decided it; the one "may we auto-reply?"
predicate; the evidence that a message is a delivery-status report (`bounce_reasons`) and
the `Bounce` value that tells what one reports.

Rule (issue 10): a kind other than client needs machine evidence — headers
(`domain.senders.machine_sent`), a report's MIME structure, a null or daemon envelope;
subject or body wording, a role-looking local part or a display name only strengthen
it, so a client's mail never vanishes for how it reads.

Must not: do I/O, read the clock, or read raw MIME: it sees only the `ParsedMail` the
adapters built. Reading a report's contents from the raw bytes is `adapters.bounces`; the
client's words that carry meaning (survey ratings, REKLAMACJA / POTWIERDZAM / AKCEPTUJĘ)
are `domain.intents`; whether a staff sender is authentic is `domain.staffauth`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mailintake.domain import senders
from mailintake.domain.mail import ParsedMail
from mailintake.domain.text import fold

LOOP_HEADER = "X-Mailintake-Loop"
"""Our own loop header (SPEC section 5); its value is our support address."""


class Kind(StrEnum):
    """What an incoming message is, as far as the intake is concerned."""

    CLIENT = "client"
    STAFF = "staff"
    AUTOREPLY = "autoreply"  # out-of-office, vacation, challenge/response
    BOUNCE = "bounce"  # delivery-status report, standard or not
    REPORT = "report"  # ARF abuse/feedback report (RFC 5965), MDN read receipt (RFC 8098)
    LOOP = "loop"  # a message we sent ourselves
    BULK = "bulk"  # list, bulk or junk mail
    SPAM = "spam"  # our border MTA's spam verdict


@dataclass(frozen=True)
class Classification:
    """The kind of a message, why, and whether an automatic answer is allowed."""

    kind: Kind
    reasons: tuple[str, ...]
    may_autoreply: bool


@dataclass(frozen=True)
class Bounce:
    """What a delivery-status report says about the message it returns.

    `permanent` is True when any recipient failed permanently (5.x.x, or a non-standard
    bounce with a permanent failure), False when every failure is temporary (4.x.x,
    `Action: delayed`), None when the report does not say.
    """

    failed_recipients: tuple[str, ...]
    original_message_id: str | None
    permanent: bool | None
    diagnostic: str | None


# --- text helpers -------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower-case `text` without diacritics."""
    return fold(text)


def _local_part(address: str | None) -> str:
    return (address or "").rpartition("@")[0] or (address or "")


def _report_type(mail: ParsedMail) -> str | None:
    """The `report-type` parameter of a top-level `multipart/report` (RFC 6522)."""
    content_type = mail.header("content-type") or mail.content_type
    if not content_type.lower().lstrip().startswith("multipart/report"):
        return None
    match = re.search(r"report-type\s*=\s*\"?([\w.-]+)", content_type, re.IGNORECASE)
    return match.group(1).lower() if match else None


def _has_part(mail: ParsedMail, *content_types: str) -> bool:
    return any(a.content_type.lower() in content_types for a in mail.attachments)


# --- evidence: each function returns the reasons it found, empty when none -----------------

Rule = Callable[[ParsedMail], tuple[str, ...]]


def _loop_reasons(mail: ParsedMail, support_address: str) -> tuple[str, ...]:
    """Our own message came back (SPEC section 5: a loop header of our own)."""
    reasons = []
    if mail.header(LOOP_HEADER) is not None:
        reasons.append(f"{LOOP_HEADER} present")
    if mail.from_addr and mail.from_addr.lower() == support_address.lower():
        reasons.append("From: our support address")
    return tuple(reasons)


def _spam_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Our border MTA's spam verdict (SpamAssassin, rspamd and kin; SPEC section 5)."""
    reasons = []
    for name in ("X-Spam-Flag", "X-Spam-Status", "X-Spam"):
        if any(re.match(r"\s*yes\b", v, re.IGNORECASE) for v in mail.header_all(name)):
            reasons.append(f"{name}: Yes")
    return tuple(reasons)


def _report_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """ARF abuse reports (RFC 5965) and read receipts (RFC 8098 MDN)."""
    report_type = _report_type(mail)
    if report_type in ("feedback-report", "disposition-notification"):
        return (f"Content-Type: multipart/report; report-type={report_type}",)
    if _has_part(mail, "message/feedback-report", "message/disposition-notification"):
        return ("a message/feedback-report or message/disposition-notification part",)
    if _fold(mail.subject).startswith("complaint about message from ") and senders.machine_sent(
        mail
    ):
        return ("Subject: a Hotmail JMRP complaint",)  # Microsoft's pre-ARF feedback loop
    if mail.header("x-apple-unsubscribe"):
        return ("X-Apple-Unsubscribe present",)  # Apple Mail's automatic unsubscribe request
    return ()


# Subjects that MTAs use word for word (after "Re:"/"Fwd:"); like all wording, they only
# strengthen machine evidence: a client may well write "Returned mail: ..." (issue 10).
_MTA_SUBJECT = re.compile(
    r"^(?:(?:re|fwd?|aw|wg|tr)\s*:\s*)*(?:undelivered mail returned to sender"
    r"|delivery status notification|returned mail:|mail delivery failed|failure notice"
    r"|undeliverable:|undeliverable mail|delivery failure:|message delivery has failed"
    r"|warning: could not send message|mail delivery warning|niedostarczon[a-z]*:)"
)
# Wider subject and body wording, trusted only together with other evidence, since a
# client may well write "the delivery failed" (LOG Systems serves logistics).
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|deliver(?:y|ed|ing)? (?:status|report|failure|failed|problem|notification)"
    r"|mail delivery|failure (?:notice|delivery)|failed delivery|returned mail"
    r"|returned to sender|returning to sender|non[- ]?deliver|not (?:be )?delivered"
    r"|niedostarcz|nie (?:zostala |moze byc )?dostarcz|unzustellbar|nicht zustellbar"
    r"|non remis|bounce notification|mail system error|could not send|delayed mail"
)
_BOUNCE_BODY = re.compile(
    r"could ?n[o']t (?:be )?deliver|undeliverable|not (?:be )?delivered|delivery (?:has )?failed"
    r"|failed recipient|permanent (?:error|failure)|user unknown|unknown user|no such user"
    r"|mailbox unavailable|recipient address rejected|returned to sender"
    r"|delivery to the following recipient|n'a pas pu etre delivre"
    r"|\"notificationtype\"\s*:\s*\"bounce|nie (?:zostala|mogla zostac) dostarczona"
)


def bounce_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Why `mail` is a delivery-status report (RFC 3464 DSN or a common non-standard bounce).

    Empty when it is not one. Public because `adapters.bounces` reads only what this says
    is a bounce.
    """
    if _report_type(mail) == "delivery-status":
        return ("Content-Type: multipart/report; report-type=delivery-status",)
    if mail.content_type == "message/delivery-status" or _has_part(mail, "message/delivery-status"):
        return ("a message/delivery-status part",)
    if mail.header("x-failed-recipients") is not None:
        return ("X-Failed-Recipients present",)  # exim
    if (senders.machine_sent(mail) or not mail.from_addr) and senders.is_postmaster(mail):
        return ("From: a mailer daemon or postmaster, sent automatically",)
    return _bounce_wording(mail)


def _bounce_wording(mail: ParsedMail) -> tuple[str, ...]:
    """Non-standard bounces: a delivery failure's words *and* an automatic sender.

    Wording alone never makes a bounce (a logistics client writes "not delivered"), nor
    does a postmaster-looking sender alone (issue 10): it takes both, and the sender must
    show in the headers (`senders.machine_sent`, no From) or be a daemon's or postmaster's address
    (archived bounces lack the Return-Path <> that the delivering MTA stamps).
    """
    if not (senders.machine_sent(mail) or not mail.from_addr or senders.is_postmaster(mail)):
        return ()
    subject = _fold(mail.subject)
    if _MTA_SUBJECT.search(subject):
        return ("Subject: a mail server's delivery failure notice",)
    body = _BOUNCE_BODY.search(_fold(mail.text[:10_000]))
    if _BOUNCE_SUBJECT.search(subject) or body:
        return ("Subject or body: a delivery failure notice from an automatic sender",)
    return ()


# Out-of-office subjects (SPEC section 5), matched at the start, folded (no diacritics).
_OOO_SUBJECT = re.compile(
    r"^\W*(?:automatyczna odpowiedz|odpowiedz automatyczna|poza biurem|nieobecnosc"
    r"|out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?respon[sd]"
    r"|autosvar|abwesenheitsnotiz|automatische antwort|reponse automatique"
    r"|respuesta automatica|risposta automatica|auto:)"
)
_OOO_SUFFIX = re.compile(r"\((?:automatic response|auto(?:matic)? reply)\)\s*$")


def _ooo_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Out-of-office and vacation replies: by header, or by subject *with* machine evidence."""
    reasons = []
    if senders.auto_submitted(mail) == "auto-replied":
        reasons.append("Auto-Submitted: auto-replied")
    reasons += [f"{h} present" for h in ("X-Autoreply", "X-Autorespond") if mail.header(h)]
    if senders.first_token(mail.header("precedence") or "") == "auto_reply":
        reasons.append("Precedence: auto_reply")
    if senders.first_token(mail.header("x-apple-action") or "") == "vacation":
        reasons.append("X-Apple-Action: VACATION")
    if _ooo_subject(mail) and (reasons or senders.machine_sent(mail)):
        reasons.append("Subject: out-of-office")
    return tuple(reasons)


def _ooo_subject(mail: ParsedMail) -> bool:
    folded = _fold(mail.subject)
    return bool(_OOO_SUBJECT.search(folded) or _OOO_SUFFIX.search(folded))


# Challenge/response systems that ask the sender to prove they are human.
_CHALLENGE_HEADERS = ("X-Bluebottle-Request", "X-Boxbe-Notice")


def _autoreply_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Out-of-office, challenge/response, and any other automatically submitted message."""
    reasons = list(_ooo_reasons(mail))
    reasons += [f"{h} present (challenge/response)" for h in _CHALLENGE_HEADERS if mail.header(h)]
    keyword = senders.auto_submitted(mail)
    if keyword and keyword != "auto-replied":
        reasons.append(f"Auto-Submitted: {keyword}")
    return tuple(reasons)


def _bulk_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """List, bulk and junk mail (RFC 2369, RFC 2919, the de-facto Precedence header)."""
    reasons = []
    precedence = senders.first_token(mail.header("precedence") or "")
    if precedence in ("bulk", "junk", "list"):
        reasons.append(f"Precedence: {precedence}")
    reasons += [f"{h} present" for h in ("List-Id", "List-Unsubscribe") if mail.header(h)]
    return tuple(reasons)


def _suppression_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Headers that forbid an automatic answer without saying what the message is."""
    reasons = []
    if senders.empty_return_path(mail):
        reasons.append("Return-Path: <>")
    suppress = {
        v.strip().lower() for v in (mail.header("x-auto-response-suppress") or "").split(",")
    }
    reasons += [
        f"X-Auto-Response-Suppress: {v}" for v in ("All", "AutoReply") if v.lower() in suppress
    ]
    if mail.header("x-ms-exchange-inbox-rules-loop"):
        # Exchange stamps mail redirected, forwarded or auto-answered by an inbox rule.
        reasons.append("X-MS-Exchange-Inbox-Rules-Loop present")
    local = _local_part(mail.from_addr).lower()
    if not mail.from_addr:
        reasons.append("no sender address")
    elif senders.is_postmaster(mail):
        reasons.append("From: a mailer daemon or postmaster")
    elif senders.is_role_sender(local):
        reasons.append(f"From: {local} (automated sender)")
    if _ooo_subject(mail):  # no classification, but no answer to what may be an OOO note
        reasons.append("Subject: reads like an out-of-office note")
    return tuple(reasons)


# --- public rules -------------------------------------------------------------------------


def classify(mail: ParsedMail, *, support_address: str, staff: frozenset[str]) -> Classification:
    """Say what `mail` is and why (SPEC section 5).

    The first kind whose evidence is present wins, in this order: LOOP (our own message),
    SPAM (our border MTA's verdict), REPORT (ARF, MDN), BOUNCE (delivery status),
    AUTOREPLY (out-of-office, challenge/response, other Auto-Submitted mail), BULK
    (Precedence bulk/junk/list, List-Id, List-Unsubscribe), STAFF (From is a staff
    address; its authenticity is checked elsewhere), CLIENT. Every kind but the last two
    needs machine evidence: wording, a role-looking address or a display name alone
    never makes one (issue 10), so such mail is CLIENT and opens a ticket staff see.
    `reasons` lists the evidence for the kind followed by every reason not to auto-reply.
    """
    kind, evidence = _kind(mail, support_address, staff)
    allowed, refusals = _autoreply_verdict(mail, support_address)
    reasons = evidence + tuple(r for r in refusals if r not in evidence)
    return Classification(kind=kind, reasons=reasons, may_autoreply=allowed)


def _kind(
    mail: ParsedMail, support_address: str, staff: frozenset[str]
) -> tuple[Kind, tuple[str, ...]]:
    rules: tuple[tuple[Kind, Rule], ...] = (
        (Kind.LOOP, lambda m: _loop_reasons(m, support_address)),
        (Kind.SPAM, _spam_reasons),
        (Kind.REPORT, _report_reasons),
        (Kind.BOUNCE, bounce_reasons),
        (Kind.AUTOREPLY, _autoreply_reasons),
        (Kind.BULK, _bulk_reasons),
    )
    for kind, rule in rules:
        if evidence := rule(mail):
            return kind, evidence
    if mail.from_addr and mail.from_addr.lower() in {s.lower() for s in staff}:
        return Kind.STAFF, ("From: a staff address",)
    return Kind.CLIENT, ()


def may_autoreply(mail: ParsedMail, *, support_address: str) -> tuple[bool, str | None]:
    """Whether we may answer `mail` automatically, and the first reason when not.

    Like Mailman's `can_acknowledge`, there are several reasons not to, from RFC 3834 and
    common practice (SPEC section 5). We never answer automatically when:

    * the message is our own: it carries `X-Mailintake-Loop`, or From is our support address;
    * our border MTA marked it as spam (`X-Spam-Flag`, `X-Spam-Status` or `X-Spam`: Yes);
    * it has `Auto-Submitted` with any value other than `no` (RFC 3834 section 5);
    * it has `X-Autoreply` or `X-Autorespond`, or an out-of-office subject;
    * it has `Precedence: bulk`, `junk`, `list` or `auto_reply`;
    * it has `List-Id` (RFC 2919) or `List-Unsubscribe` (RFC 2369);
    * its `Return-Path` is empty (`<>`): the sender asked for no mail back (RFC 5321 4.5.5);
    * `X-Auto-Response-Suppress` contains `All` or `AutoReply` (Microsoft);
    * `X-MS-Exchange-Inbox-Rules-Loop` shows an Exchange inbox rule sent it on;
    * it is a delivery-status report, an ARF report or an MDN;
    * it comes from a challenge/response system;
    * its sender is MAILER-DAEMON, postmaster, an Exchange NDR sender, a list address
      (`owner-*`, `*-request`, `*-owner`, `*-bounces`), a no-reply address, or missing.
    """
    allowed, refusals = _autoreply_verdict(mail, support_address)
    return allowed, (None if allowed else refusals[0])


def _autoreply_verdict(mail: ParsedMail, support_address: str) -> tuple[bool, tuple[str, ...]]:
    refusals = (
        *_loop_reasons(mail, support_address),
        *_spam_reasons(mail),
        *_report_reasons(mail),
        *bounce_reasons(mail),
        *_autoreply_reasons(mail),
        *_bulk_reasons(mail),
        *_suppression_reasons(mail),
    )
    unique = tuple(dict.fromkeys(refusals))
    return not unique, unique


def is_out_of_office(mail: ParsedMail) -> bool:
    """Whether `mail` is an out-of-office or vacation reply: by header, or by its subject
    together with machine evidence (`domain.senders.machine_sent`), never the subject alone.

    A delivery-status report is never one, even when it says `Auto-Submitted: auto-replied`
    (exim and Postfix do).
    """
    return bool(_ooo_reasons(mail)) and not bounce_reasons(mail)
