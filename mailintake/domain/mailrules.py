"""What kind of mail this is, and whether we may answer it automatically (SPEC sections 5 and 7).

Owns: the classification of an incoming `ParsedMail` (client, staff, auto-reply, bounce,
report, our own loop, bulk) with the reasons that decided it; the one "may we auto-reply?"
predicate; reading delivery-status reports (`parse_bounce`); and the client's words that
carry meaning: survey ratings and the intents REKLAMACJA / POTWIERDZAM / AKCEPTUJĘ.

Pure: no I/O, no clock, no database. Parsing bytes that are handed in with the standard
library `email` package (and `flufl.bounce`, Mailman's bounce detectors) is computation,
not I/O. Whether a staff sender is authentic is decided elsewhere (`staffcmd`).
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.policy import compat32
from enum import StrEnum

from flufl.bounce import all_failures

from mailintake.domain.mail import Attachment, ParsedMail
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


def _first_token(value: str) -> str:
    """The keyword of a header such as `auto-replied (vacation)` or `bulk; x=1`."""
    return re.split(r"[\s;(]", value.strip(), maxsplit=1)[0].lower()


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


def _report_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """ARF abuse reports (RFC 5965) and read receipts (RFC 8098 MDN)."""
    report_type = _report_type(mail)
    if report_type in ("feedback-report", "disposition-notification"):
        return (f"Content-Type: multipart/report; report-type={report_type}",)
    if _has_part(mail, "message/feedback-report", "message/disposition-notification"):
        return ("a message/feedback-report or message/disposition-notification part",)
    if _fold(mail.subject).startswith("complaint about message from "):
        return ("Subject: a Hotmail JMRP complaint",)  # Microsoft's pre-ARF feedback loop
    if mail.header("x-apple-unsubscribe"):
        return ("X-Apple-Unsubscribe present",)  # Apple Mail's automatic unsubscribe request
    return ()


# Senders that only machines use for delivery reports (RFC 5321 section 4.5.1, common MTAs).
_DAEMON_SENDER = re.compile(
    r"\b(?:mailer-?daemon|mail-daemon|postmaster|post_master|double-bounce"
    r"|mail\.delivery\.system|mail delivery (?:sub)?system|microsoftexchange[0-9a-f]*@)"
)

# Subjects that MTAs use word for word; enough on their own (after "Re:"/"Fwd:").
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


def _is_daemon(mail: ParsedMail) -> bool:
    """From or Return-Path names a mailer daemon or postmaster (by address or name)."""
    sender = _fold(" ".join((mail.header("from") or "", mail.from_addr or "", mail.from_name)))
    return bool(_DAEMON_SENDER.search(sender) or _DAEMON_SENDER.search(_return_path(mail)))


def _return_path(mail: ParsedMail) -> str:
    return _fold(mail.header("return-path") or "")


def _bounce_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Delivery-status reports: RFC 3464 DSNs and the common non-standard bounces."""
    if _report_type(mail) == "delivery-status":
        return ("Content-Type: multipart/report; report-type=delivery-status",)
    if mail.content_type == "message/delivery-status" or _has_part(mail, "message/delivery-status"):
        return ("a message/delivery-status part",)
    if mail.header("x-failed-recipients") is not None:
        return ("X-Failed-Recipients present",)  # exim
    if _is_daemon(mail):
        return ("From: a mailer daemon or postmaster",)
    return _bounce_wording(mail)


def _bounce_wording(mail: ParsedMail) -> tuple[str, ...]:
    """Non-standard bounces recognised by their words and an automatic sender."""
    subject = _fold(mail.subject)
    if _MTA_SUBJECT.search(subject):
        return ("Subject: a mail server's delivery failure notice",)
    body = _BOUNCE_BODY.search(_fold(mail.text[:10_000]))
    if _BOUNCE_SUBJECT.search(subject) and (body or _is_automatic(mail)):
        return ("Subject and body: a delivery failure notice",)
    if body and _is_automatic(mail):
        return ("Body: a delivery failure notice from an automatic sender",)
    return ()


def _is_automatic(mail: ParsedMail) -> bool:
    return (
        not mail.from_addr
        or _empty_return_path(mail)
        or _auto_submitted(mail) is not None
        or _is_role_sender(_local_part(mail.from_addr).lower())
    )


# Out-of-office subjects (SPEC section 5), matched at the start, folded (no diacritics).
_OOO_SUBJECT = re.compile(
    r"^\W*(?:automatyczna odpowiedz|odpowiedz automatyczna|poza biurem|nieobecnosc"
    r"|out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?respon[sd]"
    r"|autosvar|abwesenheitsnotiz|automatische antwort|reponse automatique"
    r"|respuesta automatica|risposta automatica|auto:)"
)
_OOO_SUFFIX = re.compile(r"\((?:automatic response|auto(?:matic)? reply)\)\s*$")


def _auto_submitted(mail: ParsedMail) -> str | None:
    """The Auto-Submitted keyword when it is not `no` (RFC 3834 section 5)."""
    value = mail.header("auto-submitted")
    if value is None or _first_token(value) in ("", "no"):
        return None
    return _first_token(value)


def _empty_return_path(mail: ParsedMail) -> bool:
    value = mail.header("return-path")
    return value is not None and value.strip().strip("<>").strip() == ""


def _ooo_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Out-of-office and vacation replies, by header or by subject alone."""
    reasons = []
    if _auto_submitted(mail) == "auto-replied":
        reasons.append("Auto-Submitted: auto-replied")
    reasons += [f"{h} present" for h in ("X-Autoreply", "X-Autorespond") if mail.header(h)]
    if _first_token(mail.header("precedence") or "") == "auto_reply":
        reasons.append("Precedence: auto_reply")
    if _first_token(mail.header("x-apple-action") or "") == "vacation":
        reasons.append("X-Apple-Action: VACATION")
    folded = _fold(mail.subject)
    if _OOO_SUBJECT.search(folded) or _OOO_SUFFIX.search(folded):
        reasons.append("Subject: out-of-office")
    return tuple(reasons)


# Challenge/response systems that ask the sender to prove they are human.
_CHALLENGE_HEADERS = ("X-Bluebottle-Request", "X-Boxbe-Notice")


def _autoreply_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Out-of-office, challenge/response, and any other automatically submitted message."""
    reasons = list(_ooo_reasons(mail))
    reasons += [f"{h} present (challenge/response)" for h in _CHALLENGE_HEADERS if mail.header(h)]
    keyword = _auto_submitted(mail)
    if keyword and keyword != "auto-replied":
        reasons.append(f"Auto-Submitted: {keyword}")
    if _is_role_sender(_local_part(mail.from_addr).lower()):
        reasons.append("From: a list robot or no-reply address")
    return tuple(reasons)


def _bulk_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """List, bulk and junk mail (RFC 2369, RFC 2919, the de-facto Precedence header)."""
    reasons = []
    precedence = _first_token(mail.header("precedence") or "")
    if precedence in ("bulk", "junk", "list"):
        reasons.append(f"Precedence: {precedence}")
    reasons += [f"{h} present" for h in ("List-Id", "List-Unsubscribe") if mail.header(h)]
    return tuple(reasons)


def _suppression_reasons(mail: ParsedMail) -> tuple[str, ...]:
    """Headers that forbid an automatic answer without saying what the message is."""
    reasons = []
    if _empty_return_path(mail):
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
    elif _is_daemon(mail):
        reasons.append("From: a mailer daemon or postmaster")
    elif _is_role_sender(local):
        reasons.append(f"From: {local} (automated sender)")
    return tuple(reasons)


def _is_role_sender(local: str) -> bool:
    """List and no-reply addresses, which RFC 3834 section 2 says not to answer."""
    plain = local.replace("-", "").replace("_", "").replace(".", "")
    return (
        local.startswith("owner-")
        or local.endswith(("-request", "-owner", "-bounces", "-admin"))
        # Also inside a longer name: gmail-noreply@, dmarc-noreply@, noreply-alerts@.
        or any(word in plain for word in ("noreply", "donotreply", "donotrespond"))
    )


# --- public rules -------------------------------------------------------------------------


def classify(mail: ParsedMail, *, support_address: str, staff: frozenset[str]) -> Classification:
    """Say what `mail` is and why (SPEC section 5).

    The first kind whose evidence is present wins, in this order: LOOP (our own message),
    REPORT (ARF, MDN), BOUNCE (delivery status), AUTOREPLY (out-of-office, challenge/response,
    other Auto-Submitted mail), BULK (Precedence bulk/junk/list, List-Id, List-Unsubscribe),
    STAFF (From is a staff address; its authenticity is checked elsewhere), CLIENT.
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
        (Kind.REPORT, _report_reasons),
        (Kind.BOUNCE, _bounce_reasons),
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
        *_report_reasons(mail),
        *_bounce_reasons(mail),
        *_autoreply_reasons(mail),
        *_bulk_reasons(mail),
        *_suppression_reasons(mail),
    )
    unique = tuple(dict.fromkeys(refusals))
    return not unique, unique


def is_out_of_office(mail: ParsedMail) -> bool:
    """Whether `mail` is an out-of-office or vacation reply (by header or by subject alone).

    A delivery-status report is never one, even when it says `Auto-Submitted: auto-replied`
    (exim and Postfix do).
    """
    return bool(_ooo_reasons(mail)) and not _bounce_reasons(mail)


# --- bounces ------------------------------------------------------------------------------


def parse_bounce(mail: ParsedMail, raw: bytes | None = None) -> Bounce | None:
    """What a delivery-status report says, or None when `mail` is not a bounce.

    Failed recipients come from the `message/delivery-status` part (RFC 3464): blocks with
    `Action: failed` (or `delayed`), `Final-Recipient`/`Original-Recipient`, `Status`
    5.x.x permanent and 4.x.x temporary. Non-standard bounces are read from `raw` with
    Mailman's `flufl.bounce` detectors, then from `X-Failed-Recipients`. The Message-ID of
    the returned original comes from its `message/rfc822` or `text/rfc822-headers` part,
    else from a `Message-ID:` line in the body.
    """
    if not _bounce_reasons(mail):
        return None
    message = email.message_from_bytes(raw, policy=compat32) if raw else None
    blocks = [*_attachment_dsn_blocks(mail)] or [*_raw_dsn_blocks(message)]
    recipients = _dsn_recipients(blocks)
    if recipients:
        return _bounce_from_dsn(recipients, _original_message_id(mail, message))
    failed, permanent = _heuristic_failures(mail, message)
    return Bounce(
        failed_recipients=failed,
        original_message_id=_original_message_id(mail, message),
        permanent=permanent,
        diagnostic=_first_diagnostic(blocks),
    )


@dataclass(frozen=True)
class _Recipient:
    address: str
    status: str
    action: str
    diagnostic: str | None


def _attachment_dsn_blocks(mail: ParsedMail) -> Iterator[Message]:
    for attachment in mail.attachments:
        if attachment.content_type.lower() == "message/delivery-status":
            yield from _dsn_text_blocks(_decode(attachment.data))


def _dsn_text_blocks(text: str) -> Iterator[Message]:
    """RFC 3464 section 2.1: groups of header fields separated by blank lines."""
    for chunk in re.split(r"\r?\n[ \t]*\r?\n", text.replace("\r\n", "\n")):
        if chunk.strip():
            yield HeaderParser(policy=compat32).parsestr(chunk.strip() + "\n")


def _raw_dsn_blocks(message: Message | None) -> Iterator[Message]:
    for part in message.walk() if message else ():
        if part.get_content_type() == "message/delivery-status" and part.is_multipart():
            yield from part.get_payload()


def _dsn_recipients(blocks: Iterable[Message]) -> list[_Recipient]:
    recipients = []
    for block in blocks:
        address = _dsn_address(block)
        action = (block.get("action") or "").strip().lower()
        # Only failures and delays are bounces; `delivered`, `relayed`, `expanded` are not.
        # opensmtpd writes the non-standard `Action: error`.
        if address and action.startswith(("fail", "error", "delayed")):
            status = (block.get("status") or "").strip()
            recipients.append(_Recipient(address, status, action, _diagnostic(block)))
    return recipients


def _dsn_address(block: Message) -> str | None:
    for name in ("original-recipient", "final-recipient", "x-actual-recipient"):
        value = str(block.get(name) or "")
        address = value.partition(";")[2] if ";" in value else value
        address = address.strip().strip("<>").strip().lower()
        if "@" in address:
            return address
    return None


def _diagnostic(block: Message) -> str | None:
    value = block.get("diagnostic-code")
    return " ".join(str(value).split()) if value else None


def _bounce_from_dsn(recipients: list[_Recipient], original_id: str | None) -> Bounce:
    failed = tuple(dict.fromkeys(r.address for r in recipients))
    return Bounce(
        failed_recipients=failed,
        original_message_id=original_id,
        permanent=_dsn_permanence(recipients),
        diagnostic=next((r.diagnostic for r in recipients if r.diagnostic), None),
    )


def _dsn_permanence(recipients: list[_Recipient]) -> bool | None:
    """5.x.x or `Action: failed` is permanent; 4.x.x or `delayed` is temporary (RFC 3463)."""
    classes = {r.status[:1] for r in recipients if r.status[:1] in ("4", "5")}
    if "5" in classes:
        return True
    if classes == {"4"} or all(r.action.startswith("delayed") for r in recipients):
        return False
    return True if any(r.action.startswith(("fail", "error")) for r in recipients) else None


def _first_diagnostic(blocks: list[Message]) -> str | None:
    return next((d for d in map(_diagnostic, blocks) if d), None)


def _heuristic_failures(
    mail: ParsedMail, message: Message | None
) -> tuple[tuple[str, ...], bool | None]:
    """Non-standard bounces: Mailman's MTA-specific detectors, then exim's header."""
    if message is not None:
        temporary, permanent = _flufl_failures(message)
        if permanent or temporary:
            found = permanent or temporary
            failed = sorted(a.decode("ascii", errors="replace").lower() for a in found)
            return tuple(failed), bool(permanent)
    header = mail.header("x-failed-recipients") or ""
    failed = tuple(a.strip().lower() for a in header.split(",") if "@" in a)
    return failed, (True if failed else None)


def _flufl_failures(message: Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """flufl.bounce's detectors; one that crashes on a malformed bounce (it re-raises, e.g.
    Yale's on an empty From) means "not recognised", never a lost message (SPEC section 5)."""
    try:
        return all_failures(message)
    except Exception:
        return frozenset(), frozenset()


_BODY_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*<([^>\s]+)>", re.IGNORECASE | re.MULTILINE)


def _original_message_id(mail: ParsedMail, message: Message | None) -> str | None:
    """The Message-ID of the returned message, bare (no angle brackets)."""
    for headers in (*_attachment_returned_headers(mail), *_raw_returned_headers(message)):
        found = _bare_id(headers.get("message-id"))
        if found:
            return found
    match = _BODY_MESSAGE_ID.search(mail.text)
    return match.group(1) if match else None


_RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")


def _attachment_returned_headers(mail: ParsedMail) -> Iterator[Message]:
    for attachment in mail.attachments:
        if attachment.content_type.lower() in _RETURNED_TYPES:
            yield _header_block(attachment)


def _header_block(attachment: Attachment) -> Message:
    return BytesHeaderParser(policy=compat32).parsebytes(attachment.data.lstrip())


def _raw_returned_headers(message: Message | None) -> Iterator[Message]:
    for part in message.walk() if message else ():
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part.is_multipart():
            yield part.get_payload(0)
        elif content_type in _RETURNED_TYPES[1:]:
            payload = part.get_payload(decode=True) or b""
            yield BytesHeaderParser(policy=compat32).parsebytes(payload.lstrip())


def _bare_id(value: object) -> str | None:
    if value is None:
        return None
    match = re.search(r"<([^>\s]+)>", str(value))
    bare = match.group(1) if match else "".join(str(value).split())
    return bare or None


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


# --- survey (SPEC section 7) --------------------------------------------------------------

_SUBJECT_RATING = re.compile(r"\bocena\s*[:=]?\s*([1-5])(?!\d|[.,]\d)", re.IGNORECASE)
# A rating on the first line: "Ocena: 4", "rating 5/5", "5", "4/5 szybko", "3 - ok".
_LABELLED_RATING = re.compile(
    r"^\W*(?:ocena|rating|score)\s*[:=-]?\s*([1-5])(?:\s*/\s*5)?(?!\d|[.,]\d)\W*(.*)$",
    re.IGNORECASE,
)
# Unlabelled, "1." or "1)" followed by text starts a numbered list, and "3,5" is no rating.
_BARE_RATING = re.compile(r"^([1-5])(?:\s*/\s*5)?(?!\d|[.,]\d|[.)]\s*\S)[\s:!.\-–—]*(.*)$")


def survey_rating(subject: str, own_text: str) -> tuple[int, str] | None:
    """The survey answer in a reply (SPEC section 7): `(rating 1–5, comment)` or None.

    The rating is read from the subject (`[LOG-000123] Ocena N`, what our `mailto:` links
    set), else from the first non-empty line of the client's own text ("5", "Ocena: 4",
    "4/5 szybko"; an unlabelled "1." or "1)" before text is a numbered list, not a rating).
    The comment is the rest of the client's own text, stripped.
    """
    text = own_text.strip()
    match = _SUBJECT_RATING.search(subject)
    if match:
        return int(match.group(1)), text
    first, _, rest = text.partition("\n")
    line = _LABELLED_RATING.match(first.strip()) or _BARE_RATING.match(first.strip())
    if not line:
        return None
    comment = "\n".join(part for part in (line.group(2).strip(), rest.strip()) if part)
    return int(line.group(1)), comment


# --- client intents (SPEC sections 4 and 5) -----------------------------------------------

_INTENT_WORDS = (
    ("complaint", frozenset({"reklamacja", "complaint"})),
    ("confirm", frozenset({"potwierdzam", "confirm"})),
    ("accept", frozenset({"akceptuje", "accept"})),
)
# A word after one of these is not the client's decision: "nie potwierdzam", "please confirm".
_NOT_A_DECISION = frozenset(
    {
        "nie",
        "not",
        "no",
        "dont",
        "don't",
        "cannot",
        "can't",
        "please",
        "pls",
        "prosze",
        "prosimy",
        "can",
        "could",
        "you",
    }
)


def client_intent(own_text: str, subject: str) -> str | None:
    """What the client decides in a reply: "complaint", "confirm", "accept" or None.

    Whole words, case- and diacritics-insensitive, in the subject or the client's own text
    (the caller passes text without quotes): REKLAMACJA, [REKLAMACJA] or COMPLAINT;
    POTWIERDZAM or CONFIRM; AKCEPTUJĘ, AKCEPTUJE or ACCEPT. A word after a negation or a
    request ("nie potwierdzam", "please confirm") or inside a question does not count.
    A complaint wins over a confirmation, which wins over an acceptance.
    """
    found = _decision_words(subject) | _decision_words(own_text)
    for intent, words in _INTENT_WORDS:
        if found & words:
            return intent
    return None


def _decision_words(text: str) -> set[str]:
    words: set[str] = set()
    for sentence in re.split(r"(?<=[.!?\n])", _fold(text)):
        if sentence.rstrip().endswith("?"):
            continue
        tokens = re.findall(r"[a-z0-9']+", sentence)
        words |= {t for i, t in enumerate(tokens) if i == 0 or tokens[i - 1] not in _NOT_A_DECISION}
    return words
