"""Addresses of a message: the sender and the To, Cc and Reply-To lists.

Owns: (display name, lower-case address) pairs read from mail-parser, with the
stdlib reading every occurrence of the header when mail-parser finds nothing
usable; which header names the sender (From, else Sender, else Reply-To, RFC
5322 §3.6.2); display names decoded (RFC 2047, raw 8-bit).

Must not: decide whether a sender is a client, staff or a robot
(`domain.mailrules`), or raise: an unusable address is left out.
"""

from __future__ import annotations

import email.utils
import re

from mailintake.adapters.parse.charsets import unsurrogate
from mailintake.adapters.parse.encoded_words import decode_words
from mailintake.adapters.parse.headers import one_line


def _addresses(
    mp: object, name: str, values: tuple[str, ...], hint: str | None = None
) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of header `name`.

    mail-parser reads the first occurrence; when it finds nothing usable the
    stdlib reads every occurrence (a broken first `From:` is followed by a good
    one in real mail).
    """
    pairs: list[tuple[str, str]] = []
    try:
        got = getattr(mp, name.replace("-", "_") + ("_" if name == "from" else ""), None)
        if isinstance(got, list):
            pairs = [(str(n), str(a)) for n, a in got]
    except Exception:  # noqa: BLE001 - mail-parser is best effort, stdlib below
        pairs = []
    found = [_address_pair(n, a, hint) for n, a in pairs]
    if not any(found):
        found = [_address_pair(n, a, None) for n, a in _stdlib_addresses(values)]
    return [pair for pair in found if pair]


def _stdlib_addresses(values: tuple[str, ...]) -> list[tuple[str, str]]:
    try:
        return email.utils.getaddresses(list(values))
    except Exception:  # noqa: BLE001
        return []


def _address_pair(name: str, addr: str, hint: str | None) -> tuple[str, str] | None:
    addr = unsurrogate(addr).strip().strip("<>").strip().lower()
    # A bare local part is kept for MAILER-DAEMON style senders (RFC 5322 obs-).
    if not re.fullmatch(r"[^\s@]+@[^\s@]+|[\w.+-]+", addr):
        return None
    # mail-parser escapes raw 8-bit bytes as "\udcXX" text and keeps encoded
    # words it finds invalid; recover both.
    name = re.sub(r"\\u(dc[89a-f][0-9a-f])", lambda m: chr(int(m.group(1), 16)), name)
    return one_line(decode_words(name, hint=hint)), addr


def sender(
    mp: object, headers: dict[str, tuple[str, ...]], defects: list[str], hint: str | None
) -> tuple[str, str]:
    """Who wrote it: From, else Sender, else Reply-To (what a reply would reach)."""
    for name in ("from", "sender", "reply-to"):
        found = _addresses(mp, name, headers.get(name, ()), hint)
        if found:
            if name != "from":
                defects.append(f"no usable From: sender taken from {name}")
            return found[0]
    return "", ""


def address_list(mp: object, name: str, headers: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The lower-case addresses of header `name` (e.g. "to"), each once, in order."""
    return tuple(dict.fromkeys(a for _, a in _addresses(mp, name, headers.get(name, ()))))
