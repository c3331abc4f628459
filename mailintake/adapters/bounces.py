"""What a delivery-status report says, read from the parsed mail and its raw bytes (SPEC section 5).

Owns: `parse_bounce` — the failed recipients, the Message-ID of the returned original,
permanent or temporary, and the diagnostic, as the domain's `Bounce`. Reads RFC 3464
`message/delivery-status` blocks and returned headers with the standard library `email`
package, and non-standard bounces with Mailman's `flufl.bounce` detectors.

Must not: decide whether a message is a bounce (`domain.mailrules.bounce_reasons` does, and
this reads only what it accepts), touch the database or the outbox, or raise on a malformed
report.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.policy import compat32

from flufl.bounce import all_failures

from mailintake.adapters.parse.headers import bounded_id
from mailintake.adapters.parse.mime import subparts
from mailintake.domain.mail import Attachment, ParsedMail
from mailintake.domain.mailrules import Bounce, bounce_reasons


def parse_bounce(mail: ParsedMail, raw: bytes | None = None) -> Bounce | None:
    """What a delivery-status report says, or None when `mail` is not a bounce.

    Failed recipients come from the `message/delivery-status` part (RFC 3464): blocks with
    `Action: failed` (or `delayed`), `Final-Recipient`/`Original-Recipient`, `Status`
    5.x.x permanent and 4.x.x temporary. Non-standard bounces are read from `raw` with
    Mailman's `flufl.bounce` detectors, then from `X-Failed-Recipients`. The Message-ID of
    the returned original comes from its `message/rfc822` or `text/rfc822-headers` part,
    else from a `Message-ID:` line in the body.
    """
    if not bounce_reasons(mail):
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
            yield from subparts(part)


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
            failed = tuple(sorted(a.decode("ascii", errors="replace").lower() for a in found))
            return failed, bool(permanent)
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
    return bounded_id(match.group(1)) if match else None


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
            yield subparts(part)[0]
        elif content_type in _RETURNED_TYPES[1:]:
            payload = part.get_payload(decode=True)  # bytes for a leaf part, else None
            data = payload if isinstance(payload, bytes) else b""
            yield BytesHeaderParser(policy=compat32).parsebytes(data.lstrip())


def _bare_id(value: object) -> str | None:
    if value is None:
        return None
    match = re.search(r"<([^>\s]+)>", str(value))
    bare = match.group(1) if match else "".join(str(value).split())
    return bounded_id(bare) if bare else None  # as the parser stores ids (issue 10)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
