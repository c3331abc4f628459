"""Whether mail can be delivered to an address at all (SPEC section 5, issue 10).

Owns: `is_deliverable` — the check every queued mail passes, so nothing is ever
sent to an address that cannot be delivered (`unknown@invalid`, a display
name, a bare local part, an `.invalid` or `.localhost` domain). Pure: no DNS,
no I/O; it does not decide *whether* to answer (`mailrules.may_autoreply`).
"""

from __future__ import annotations

import re

_NOT = r"\s@<>()\[\],;:\"\\\x00-\x1f\x7f-\x9f"  # nor control characters (NUL, ESC, CR; issue 10)
_ADDRESS = re.compile(rf"[^{_NOT}]+@([^{_NOT}]+\.[^{_NOT}.]+)")
# RFC 6761 §6.4 and §6.3: names guaranteed never to reach a mail host. (`.example` and
# `.test` are for documentation and testing, where mail to them is the point.)
_RESERVED = ("invalid", "localhost")


def is_deliverable(address: str) -> bool:
    """`local@domain.tld`, no spaces, brackets or control characters, no reserved TLD."""
    match = _ADDRESS.fullmatch(address.strip(" \t"))
    if match is None or len(address) > 254:
        return False
    return match.group(1).lower().rstrip(".").rpartition(".")[2] not in _RESERVED
