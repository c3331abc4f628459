"""Whether a staff message really comes from our organisation (SPEC section 6).

Owns: the sender-check setting (`parse_auth_mode` reads `MAILINTAKE_STAFF_AUTH` into an
`AuthMode`) and the verdict on one message (`verify_sender`: trusted or not, with a short
reason for the log). Pure: no I/O, no clock; it reads the header values it is handed. It
does not decide who is staff (the From address against the staff list) or what a subject
commands (`domain.staffcmd`).

Decisions worth knowing:

- A message carrying a single-instance field of RFC 5322 section 3.6 (`SINGLETONS`) more than
  once is never trusted, in any mode: DKIM signs the bottom-most instance while readers show
  the top one, so a replayed staff mail with one more `Subject:` on top still verifies
  (RFC 6376 section 8.15, "DKIM replay").

- `none` trusts the From address alone; `exchange` trusts a message only when every
  `X-MS-Exchange-Organization-AuthAs` says `Internal` (Exchange removes that header from
  mail arriving from outside the organisation).
- `authres:<id>`: only the topmost `Authentication-Results` header is read, and it must
  carry our authserv-id. Our border MTA adds its header on top; anything below may have
  come with the message and be forged (RFC 8601 section 7.2), and a run of headers with
  our id is not safe either when the MTA does not strip look-alikes. An MTA
  that writes several headers must write the one with the DMARC result last (OpenDMARC
  does) or combine them. Alignment of a `dkim=pass` (`header.d`, else the domain of
  `header.i`) or `spf=pass` (`smtp.mailfrom`) with the From domain: the same domain or a
  parent of it (whose owner controls the child). A sibling or child domain, which may be
  delegated to a mailing service, does not count; no public-suffix list is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum

import authres


class AuthKind(StrEnum):
    NONE = "none"
    EXCHANGE = "exchange"
    AUTHRES = "authres"


@dataclass(frozen=True)
class AuthMode:
    """How staff senders are verified (`MAILINTAKE_STAFF_AUTH`, SPEC section 6)."""

    kind: AuthKind
    authserv_id: str | None = None  # lower case; only for AUTHRES

    def __str__(self) -> str:
        return f"authres:{self.authserv_id}" if self.kind is AuthKind.AUTHRES else self.kind


@dataclass(frozen=True)
class Verdict:
    """Whether a staff message may run a command, and why (a short English phrase for logs)."""

    trusted: bool
    reason: str


# RFC 5322 section 3.6, the table's "max number" 1 (issue 10, SPEC section 6).
SINGLETONS = (
    "date", "from", "sender", "reply-to", "to", "cc", "subject", "message-id", "in-reply-to",
    "references",
)  # fmt: skip


def duplicated_singletons(headers: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The single-instance fields (lower case) that `headers` carries more than once."""
    counts = {name: 0 for name in SINGLETONS}
    for key, values in headers.items():
        if key.lower() in counts:
            counts[key.lower()] += 1 if isinstance(values, str) else len(values)
    return tuple(name for name, count in counts.items() if count > 1)


AUTHSERV_ID = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


def parse_auth_mode(value: str) -> AuthMode:
    """`none`, `exchange` or `authres:<authserv-id>`; `ValueError` naming the variable."""
    kind, colon, authserv_id = value.strip().partition(":")
    kind, authserv_id = kind.strip().lower(), authserv_id.strip().lower()
    if kind in (AuthKind.NONE, AuthKind.EXCHANGE) and not colon:
        return AuthMode(AuthKind(kind))
    if kind == AuthKind.AUTHRES and AUTHSERV_ID.fullmatch(authserv_id):
        return AuthMode(AuthKind.AUTHRES, authserv_id)
    raise ValueError(
        f"MAILINTAKE_STAFF_AUTH must be 'none', 'exchange' or 'authres:<authserv-id>' "
        f"(e.g. authres:mx.log-systems.com), got {value!r}"
    )


def verify_sender(mode: AuthMode, from_addr: str, headers: Mapping[str, Sequence[str]]) -> Verdict:
    """May this staff message run a command? See the module docstring for the rules."""
    duplicated = duplicated_singletons(headers)
    if duplicated:
        names = ", ".join(duplicated)
        return Verdict(False, f"header fields allowed once appear more than once: {names}")
    if mode.kind is AuthKind.NONE:
        return Verdict(True, "sender check off (MAILINTAKE_STAFF_AUTH=none)")
    if mode.kind is AuthKind.EXCHANGE:
        return _verify_exchange(headers)
    return _verify_authres(mode.authserv_id or "", from_addr, headers)


def missing_stamp(mode: AuthMode, headers: Mapping[str, Sequence[str]]) -> str | None:
    """Why this mail shows our border did not stamp it, or None (SPEC section 6, issue 10).

    The sender check assumes every mail passed our border: in `authres:<id>` mode it
    carries an `Authentication-Results` from `<id>`; in `exchange` mode an
    `X-MS-Exchange-Organization-AuthSource`. Mail without it means the MTA is not
    stamping or was bypassed, and no staff command can be trusted.
    """
    if mode.kind is AuthKind.NONE:
        return None
    if mode.kind is AuthKind.EXCHANGE:
        if _values(headers, "x-ms-exchange-organization-authsource"):
            return None
        return "no X-MS-Exchange-Organization-AuthSource"
    parsed = [_parse_ar(v) for v in _values(headers, "authentication-results")]
    if any(h is not None and h.authserv_id == mode.authserv_id for h in parsed):
        return None
    return f"no Authentication-Results from {mode.authserv_id}"


def _values(headers: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """Every value of header `name`, top first, whatever the case of the keys."""
    found: list[str] = []
    for key, values in headers.items():
        if key.lower() == name:
            found.extend([values] if isinstance(values, str) else values)
    return found


def _verify_exchange(headers: Mapping[str, Sequence[str]]) -> Verdict:
    # Exchange removes this header from mail arriving from outside the organisation.
    values = [v.strip() for v in _values(headers, "x-ms-exchange-organization-authas")]
    if not values:
        return Verdict(False, "no X-MS-Exchange-Organization-AuthAs (not from inside)")
    odd = [v for v in values if v.lower() != "internal"]
    if odd:
        return Verdict(False, f"X-MS-Exchange-Organization-AuthAs is {odd[0]!r}, not Internal")
    return Verdict(True, "X-MS-Exchange-Organization-AuthAs: Internal")


def _verify_authres(
    authserv_id: str, from_addr: str, headers: Mapping[str, Sequence[str]]
) -> Verdict:
    parsed = [_parse_ar(v) for v in _values(headers, "authentication-results")]
    ours = [h for h in parsed if h is not None and h.authserv_id == authserv_id]
    if not ours:
        return Verdict(False, f"no Authentication-Results from {authserv_id}")
    top = parsed[0]
    if top is None or top.authserv_id != authserv_id:  # the topmost header must be ours
        named = top.authserv_id if top is not None else "an unreadable header"
        return Verdict(
            False, f"Authentication-Results from {authserv_id} is not topmost (top: {named})"
        )
    domain = _domain(parseaddr(from_addr)[1])
    if not domain:
        return Verdict(False, f"From address {from_addr!r} has no domain")
    return _judge(ours[0].results, domain)


def _parse_ar(value: str) -> authres.AuthenticationResultsHeader | None:
    try:  # authres wants the value unfolded (RFC 5322 section 2.2.3)
        return authres.parse_value(" ".join(value.split()))
    except authres.AuthResError:  # e.g. Exchange's headers without an authserv-id
        return None


def _judge(results: Sequence[object], domain: str) -> Verdict:
    """Trusted on the first aligned pass, DMARC before DKIM before SPF."""
    notes: list[str] = []
    for method in ("dmarc", "dkim", "spf"):
        for result in results:
            if getattr(result, "method", None) == method:
                aligned, note = _weigh(result, domain)
                if aligned:
                    return Verdict(True, note)
                notes.append(note)
    return Verdict(False, "; ".join(notes) or f"no dmarc, dkim or spf result for {domain}")


def _weigh(result: object, domain: str) -> tuple[bool, str]:
    method, outcome = getattr(result, "method", ""), getattr(result, "result", "")
    if outcome != "pass":
        return False, f"{method}={outcome}"
    if method == "dmarc":
        # DMARC already checked alignment; header.from only guards against a mix-up.
        shown = _domain(_prop(result, "header", "from")) or domain
        return _noted(method, shown, shown == domain, domain)
    if method == "dkim":
        # A valid signature proves only its own d= domain (RFC 6376 section 3.5).
        signer = _domain(_prop(result, "header", "d") or _prop(result, "header", "i"))
    else:
        signer = _domain(_prop(result, "smtp", "mailfrom"))
    if not signer:
        return False, f"{method}=pass without a domain"
    return _noted(method, signer, _is_aligned(signer, domain), domain)


def _noted(method: str, signer: str, aligned: bool, domain: str) -> tuple[bool, str]:
    if aligned:
        return True, f"{method}=pass for {signer}"
    return False, f"{method}=pass for {signer}, not {domain}"


def _is_aligned(signer: str, domain: str) -> bool:
    """The From domain itself or a parent of it (`log-systems.com` for `pl.log-systems.com`)."""
    return domain == signer or domain.endswith("." + signer)


def _prop(result: object, ptype: str, name: str) -> str | None:
    for prop in getattr(result, "properties", []):
        if prop.type == ptype and prop.name == name:
            return str(prop.value) if prop.value else None
    return None


def _domain(address: str | None) -> str:
    """The domain of an address or bare domain, lower case, without a trailing dot."""
    return (address or "").rpartition("@")[2].strip().strip(".").lower()
