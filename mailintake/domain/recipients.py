"""Who a mail goes to (SPEC sections 5 and 6, issues 10 and 12).

Owns: `is_deliverable` — the check every queued mail passes, so nothing is ever
sent to an address that cannot be delivered (`unknown@invalid`, a display
name, a bare local part, an `.invalid` or `.localhost` domain); `internal` — the
one rule for staff-only mail (the ticket's owner while they are staff, else the
notify list; never anyone outside staff); `client_side` — who is copied on mail
to the client (the client and their colleagues, each once, case-insensitively,
never our own addresses). Pure: no DNS, no I/O; it does not decide *whether* to
answer (`mailrules.may_autoreply`) or who is a colleague (`services.threads`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

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


def unique(addresses: Iterable[str], *, without: Collection[str] = ()) -> list[str]:
    """`addresses` stripped, each once (case-insensitively, first spelling kept), in order,
    leaving out empty ones and those in `without` (compared lower-case)."""
    seen = {a.strip().lower() for a in without}
    kept = []
    for address in addresses:
        folded = address.strip().lower()
        if folded and folded not in seen:
            seen.add(folded)
            kept.append(address.strip())
    return kept


def internal(owner: str | None, staff: Collection[str], notify: Iterable[str]) -> list[str]:
    """Who gets a staff-only notice: `owner` while still in `staff`, else `notify` (SPEC §6).

    A former staff member (no longer in `MAILINTAKE_STAFF`) is nobody's owner here, and
    only addresses of `staff` or `notify` are ever returned: never a client.
    """
    members = {a.lower() for a in staff}
    if owner and owner.strip().lower() in members:
        return [owner.strip().lower()]
    return sorted(unique(notify))


def client_side(
    to: Iterable[str], client: str, cc: Iterable[str], own: Collection[str]
) -> tuple[str, ...]:
    """Who is copied on a mail addressed `to`: the client and colleagues not already in `to`.

    Only mail to the client's side (the client or a colleague among `to`) copies anyone;
    each address once, case-insensitively; never one of `own` (staff, our support address).
    """
    addressed = {a.strip().lower() for a in to}
    side = unique([client, *cc], without=own)
    if not addressed & {a.lower() for a in side}:
        return ()
    return tuple(a for a in side if a.lower() not in addressed and is_deliverable(a))
