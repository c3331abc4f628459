"""Words of a subject around the command tags (SPEC sections 5 and 6, issue 12).

Owns: reply and forward prefixes (`RE:`, `Odp:`, `PD:`, `Fwd:`, `WG:` …), whether a
subject forwards a message (`is_forward`), and the one tolerant rule for a note written
other than `[NOTATKA]` (`note_marker`, `is_note`). Pure: no I/O; the tags themselves
are `staffcmd`'s.
"""

from __future__ import annotations

import re

from mailintake.domain.text import fold

REPLY_PREFIX = re.compile(
    r"^\s*(?:re|odp|aw|antw|fwd?|pd|wg|tr|sv|vs)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.IGNORECASE
)
FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|pd|wg|tr)\b", re.IGNORECASE)
BRACKET = re.compile(r"\[([^\[\]]*)\]")
PARENS = re.compile(r"\(([^()]*)\)")
# A note, however written (folded): "notatka", "internal note", "notatka wewnętrzna:".
NOTE_WORDS = re.compile(
    r"\s*(?:(?:internal|wewnetrzna)\s+)?(?:notatka|note)(?:\s+(?:internal|wewnetrzna))?\s*:?\s*"
)
BARE_NOTE = re.compile(r"\s*(notatka|note)\b\s*(:)?", re.IGNORECASE)


def without_reply_prefixes(subject: str) -> str:
    """`subject` with spaces collapsed and its leading `Re:`/`Odp:`/`PD:`… prefixes removed."""
    rest = " ".join(subject.split())
    while (match := REPLY_PREFIX.match(rest)) is not None:
        rest = rest[match.end() :]
    return rest.strip()


def is_note(folded: str) -> bool:
    """`folded` (`text.fold`) names a note: "notatka", "note:", "internal note"."""
    return NOTE_WORDS.fullmatch(" ".join(folded.split())) is not None


def is_forward(subject: str) -> bool:
    """Does `subject` say the mail forwards another (`PD:`, `Fwd:`, `WG:`, `TR:`, `FW:`),
    behind any reply prefixes and tags (`RE: [LOG-000123] PD: …`)?"""
    rest = " ".join(BRACKET.sub(" ", subject).split())
    while (match := REPLY_PREFIX.match(rest)) is not None:
        if FORWARD_PREFIX.match(match.group(0)):
            return True
        rest = rest[match.end() :]
    return False


def note_marker(subject: str) -> str | None:
    """A note tag written other than `[NOTATKA]`, as written; None when there is none.

    One tolerant rule, so a note never leaks to the client for its spelling (issue 12):
    `(NOTATKA)`, `(internal note)` anywhere; `NOTATKA:` / `note:` (any case) or a bare
    upper-case `NOTATKA` / `NOTE` first after the reply prefixes, keys and tags.
    Bracketed spellings (`[internal note]`, `[Notatka:]`) are tags (`_read_tag`).
    """
    for match in PARENS.finditer(subject):
        if is_note(fold(match.group(1))):
            return match.group(0)
    rest = without_reply_prefixes(BRACKET.sub(" ", subject))
    bare = BARE_NOTE.match(rest)
    if bare is not None and (bare.group(2) or bare.group(1).isupper()):
        return bare.group(0).strip()
    return None
