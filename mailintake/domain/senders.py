"""Who or what sent a message: machine evidence and machine-like senders (SPEC section 5).

Owns: the header evidence that a program, not a person, sent a message
(`machine_sent`: RFC 3834 `Auto-Submitted`, `X-Autoreply`, `Precedence`,
Microsoft's `X-Auto-Response-Suppress`, a null or mailer-daemon envelope) and the
sender addresses that only strengthen it (`is_daemon`, `is_postmaster`,
`is_role_sender`), read from the address, never from a display name (issue 10).

Must not: classify a message (`domain.mailrules` does, and wording or a role-looking
address alone never decides there), do I/O or read the clock.
"""

from __future__ import annotations

import re

from mailintake.domain.mail import ParsedMail
from mailintake.domain.text import fold


def first_token(value: str) -> str:
    """The keyword of a header such as `auto-replied (vacation)` or `bulk; x=1`."""
    return re.split(r"[\s;(]", value.strip(), maxsplit=1)[0].lower()


# Senders that only machines use for delivery reports (RFC 5321 section 4.5.1, common MTAs),
# matched on the address only, never on a display name (anyone can be "Postmaster ACME").
_DAEMON_SENDER = re.compile(
    r"^(?:mailer-?daemon|mail-daemon|double-bounce|mail\.delivery\.system"
    r"|microsoftexchange[0-9a-f]*)@"
)
# A postmaster is often a person (RFC 5321 section 4.5.1): evidence only with a machine's.
_POSTMASTER = re.compile(r"^(?:postmaster|post_master)@")
# The envelope sender of a bounce: null (`<>`) or the MTA itself (RFC 5321 section 4.5.5).
_DAEMON_ENVELOPE = re.compile(r"^<?\s*(?:mailer-?daemon|mail-daemon|double-bounce)\b")


def is_daemon(mail: ParsedMail) -> bool:
    """The From *address* names a mailer daemon (never the display name).

    Not evidence on its own: only with a delivery failure's wording or machine evidence.
    """
    return bool(_DAEMON_SENDER.match(fold(mail.from_addr or "")))


def is_postmaster(mail: ParsedMail) -> bool:
    """The From address is a mailer daemon's or a postmaster's."""
    return is_daemon(mail) or bool(_POSTMASTER.match(fold(mail.from_addr or "")))


def daemon_envelope(mail: ParsedMail) -> bool:
    """The envelope sender (Return-Path) is null or a mailer daemon: machine evidence."""
    return empty_return_path(mail) or bool(_DAEMON_ENVELOPE.match(return_path(mail)))


def machine_sent(mail: ParsedMail) -> bool:
    """Machine evidence that no person sent `mail` (issue 10): headers, never wording.

    RFC 3834 `Auto-Submitted` (not `no`), `X-Autoreply`/`X-Autorespond`, `Precedence`
    `auto_reply`/`bulk`/`junk`/`list`, Microsoft's `X-Auto-Response-Suppress`, Apple's
    `X-Apple-Action: vacation`, or a null or mailer-daemon envelope sender.
    """
    precedence = first_token(mail.header("precedence") or "")
    return (
        auto_submitted(mail) is not None
        or any(mail.header(h) for h in ("X-Autoreply", "X-Autorespond"))
        or precedence in ("auto_reply", "bulk", "junk", "list")
        or bool((mail.header("x-auto-response-suppress") or "").strip())
        or first_token(mail.header("x-apple-action") or "") == "vacation"
        or daemon_envelope(mail)
    )


def return_path(mail: ParsedMail) -> str:
    """The Return-Path header (the envelope sender our MTA stamped), folded; "" when none."""
    return fold(mail.header("return-path") or "")


def auto_submitted(mail: ParsedMail) -> str | None:
    """The Auto-Submitted keyword when it is not `no` (RFC 3834 section 5)."""
    value = mail.header("auto-submitted")
    if value is None or first_token(value) in ("", "no"):
        return None
    return first_token(value)


def empty_return_path(mail: ParsedMail) -> bool:
    """Return-Path is `<>`: the null reverse-path of bounces and auto-replies (RFC 5321 4.5.5)."""
    value = mail.header("return-path")
    return value is not None and value.strip().strip("<>").strip() == ""


def is_role_sender(local: str) -> bool:
    """List and no-reply addresses, which RFC 3834 section 2 says not to answer."""
    plain = local.replace("-", "").replace("_", "").replace(".", "")
    return (
        local.startswith("owner-")
        or local.endswith(("-request", "-owner", "-bounces", "-admin"))
        # Also inside a longer name: gmail-noreply@, dmarc-noreply@, noreply-alerts@.
        or any(word in plain for word in ("noreply", "donotreply", "donotrespond"))
    )
