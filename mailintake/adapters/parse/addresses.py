"""Addresses of a message: the sender and the To, Cc and Reply-To lists.

Owns: (display name, lower-case address) pairs read from the raw, undecoded
header values with the RFC 5322 address grammar of the standard library's
`email.headerregistry` (every occurrence of the header, top first), and the
display names decoded (RFC 2047, raw 8-bit) only after the address was read.

Decisions worth knowing (issue 10, SPEC section 6):

- An address never comes from a display name, decoded or not: RFC 2047 words are
  decoded *after* parsing, as RFC 2047 section 5 says, so
  `=?utf-8?q?Anna:_anna@x?= <intern@x>` is `intern@x`.
- Nor from an RFC 2047 encoded word inside the addr-spec (RFC 2047 section 5: an
  encoded word may not appear there): `=?utf-8?q?anna?=@x` or
  `<=?utf-8?q?anna=40x?=>` is no address, though the standard library decodes it.
- Control characters (C0, DEL, C1: NUL, ESC, CR...) make an address invalid.
- The sender is the `From` field only (RFC 5322 section 3.6.2: the author);
  `Sender` and `Reply-To` are forgeable just the same and say nothing about who
  wrote. No parsable `user@domain` in `From`, or several authors in one `From`
  (a mailbox-list) or in several → no sender (the intake quarantines).
- A header value is read up to `MAX_HEADER_CHARS` and `MAX_ADDRESSES` addresses:
  the grammar is recursive descent, and a 1 MB To list must stay cheap.

Must not: decide whether a sender is a client, staff or a robot
(`domain.mailrules`), or raise: an unusable address is left out.
"""

from __future__ import annotations

import email.policy
import re
from email.message import Message

from mailintake.adapters.parse.charsets import unsurrogate
from mailintake.adapters.parse.encoded_words import decode_words
from mailintake.adapters.parse.headers import one_line, unfold

MAX_HEADER_CHARS = 16_384
MAX_ADDRESSES = 100
_ADDRESS = re.compile(
    r"[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f-\x9f]+@[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f-\x9f]+"
)
_NOT_IN_ADDR_SPEC = re.compile(r"[\s\"\\]+")
_HEADER_FACTORY = email.policy.default.header_factory
_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.)*\)')
_ANGLE_ADDR = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+?)\s*>")


def raw_values(msg: Message, name: str) -> list[str]:
    """Every raw value of header `name`, top first, unfolded and undecoded."""
    try:  # raw_items keeps raw 8-bit bytes as surrogates; get_all would replace them
        return [unfold(str(v)) for n, v in msg.raw_items() if n.strip().lower() == name]
    except Exception:  # noqa: BLE001 - an odd Header object
        return []


def parse_addresses(value: str, hint: str | None = None) -> list[tuple[str, str]]:
    """(display name, lower-case `user@domain`) pairs of one raw header value, in order."""
    value = unsurrogate(value[:MAX_HEADER_CHARS], None, hint)
    try:
        header = _HEADER_FACTORY("to", value)
        mailboxes = header.addresses[:MAX_ADDRESSES]
    except Exception:  # noqa: BLE001 - the stdlib grammar is best effort
        return []
    if any("invalid address" in str(d) for d in header.defects):
        return _angle_addresses(value)
    pairs = []
    for mailbox in mailboxes:
        addr = f"{mailbox.username}@{mailbox.domain}".lower()
        if mailbox.username and mailbox.domain and _usable(addr, value):
            pairs.append((_name(value, mailbox.display_name, len(mailboxes), hint), addr))
    return pairs


def _usable(addr: str, value: str) -> bool:
    """`addr` is a plain `user@domain` written as such in the raw `value`, not decoded."""
    if not _ADDRESS.fullmatch(addr) or "=?" in addr:
        return False
    return _NOT_IN_ADDR_SPEC.sub("", addr) in _NOT_IN_ADDR_SPEC.sub("", value.lower())


def _name(value: str, parsed: str, count: int, hint: str | None) -> str:
    """The display name, decoded by our decoder from the raw phrase (charset labels lie).

    Only the name: the address was read by the grammar before any decoding.
    """
    if count == 1 and value.count("<") == 1:
        raw = value.partition("<")[0].strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) > 1:
            raw = raw[1:-1].replace('\\"', '"')
    else:
        raw = str(parsed) or _comment_name(value, count)
    return one_line(decode_words(raw, hint=hint))


_TRAILING_COMMENT = re.compile(r"\(([^()]*)\)\s*$")


def _comment_name(value: str, count: int) -> str:
    """The old `addr (Name)` form (RFC 822): the comment is the name, for a lone address."""
    match = _TRAILING_COMMENT.search(value) if count == 1 else None
    return match.group(1).strip() if match else ""


def _angle_addresses(value: str) -> list[tuple[str, str]]:
    """A value the grammar cannot read (`anna@x <evil@y>`): only its `<addr>` parts count."""
    found = _ANGLE_ADDR.findall(_QUOTED_OR_COMMENT.sub(" ", value))[:MAX_ADDRESSES]
    return [
        (_name(value, "", len(found), None), a.lower()) for a in found if _usable(a.lower(), value)
    ]


def sender(msg: Message, defects: list[str], hint: str | None) -> tuple[str, str]:
    """(display name, address) of the one mailbox of `From`; ("", "") when there is none.

    Several `From` fields naming different addresses, or one `From` naming several
    (an RFC 5322 mailbox-list), leave the sender unknown: which one wrote is anyone's
    guess (a DKIM replay prepends one; issue 10).
    """
    values = raw_values(msg, "from")
    found = [pair for value in values for pair in parse_addresses(value, hint)]
    firsts = [pairs[0] for value in values if (pairs := parse_addresses(value, hint))]
    if len({addr for _, addr in found}) > 1:
        defects.append("several authors in From: sender unknown")
        return "", ""
    if values and not firsts:
        defects.append("From has no parsable address: sender unknown")
    return firsts[0] if firsts else ("", "")


def address_list(msg: Message, name: str, hint: str | None = None) -> tuple[str, ...]:
    """The lower-case addresses of header `name` (e.g. "to"), each once, in order."""
    found = (a for value in raw_values(msg, name) for _, a in parse_addresses(value, hint))
    return tuple(dict.fromkeys(found))
