"""The lines of a message as required-data recognition reads them (SPEC §3).

Owns: `Line` (one line without its quote markers, folded for matching, whether it was
quoted, whether it is one of ours, the label it starts with), `read_lines`, the
`normalize_line` used to compare a line with our own outgoing ones, and the lines that end
a value block: reply headers and separators (`is_break`) and sign-offs (`is_closing`), and
a text cut before its signature (`without_signature`).

A line equal to one of ours (`our_lines`, normalised) is ours; a quoted line that is a long
fragment of one of ours (re-wrapped by the client's mailer) is ours too.

Must not: decide what a value is (`domain.answers`, `domain.freetext` do), do I/O or read
the clock.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from mailintake.domain.labels import match_label
from mailintake.domain.text import fold

_QUOTE_RE = re.compile(r"^[ \t]*>[> \t]*")
_MIN_FRAGMENT = 16


def normalize_line(line: str) -> str:
    """A line as compared with `our_lines`: no quote markers, one space, case-folded."""
    line = unicodedata.normalize("NFC", line)
    line = _QUOTE_RE.sub("", line, count=1)
    return " ".join(line.split()).casefold()


@dataclass(frozen=True)
class Line:
    """One line of a message; `label` is (field code, value on the line) or None."""

    text: str  # quote markers removed, stripped
    folded: str
    quoted: bool
    ours: bool

    @property
    def blank(self) -> bool:
        return not self.text

    @functools.cached_property
    def label(self) -> tuple[str, str] | None:
        return match_label(self.text, self.folded, ours=self.ours)


def read_lines(text: str, our_lines: frozenset[str]) -> list[Line]:
    """The lines of `text`, each marked quoted or not and ours or not."""
    out = []
    for raw in unicodedata.normalize("NFC", text).splitlines():
        marker = _QUOTE_RE.match(raw)
        content = (raw[marker.end() :] if marker else raw).strip()
        ours = _is_ours(normalize_line(raw), our_lines, quoted=bool(marker))
        out.append(Line(content, fold(content), bool(marker), ours))
    return out


def _is_ours(norm: str, our_lines: frozenset[str], *, quoted: bool) -> bool:
    """Our line, or a quoted fragment of one that the client's mailer re-wrapped."""
    if not norm:
        return False
    if norm in our_lines:
        return True
    # Only quoted lines are re-wrapped, and a short answer ("Za każdym razem") may well
    # appear inside our prose, so fragments must be quoted and long.
    return quoted and len(norm) >= _MIN_FRAGMENT and any(norm in ours for ours in our_lines)


# Lines that end a value: reply headers, separators, signatures (folded text).
_BREAK_RE = re.compile(
    r"^(?:-{2,}$|_{5,}|-{3,}.*(?:original message|wiadomosc oryginalna|forwarded|przekazan)"
    r"|(?:from|od|sent|wyslano|wyslane|date|data|to|do|subject|temat|cc|dw):(?:\s|$)"
    r"|on\s.{0,200}\swrote:$|(?:w dniu|dnia|dn\.)\s.{0,200}\s(?:pisze|napisal\S*):?$)"
)
_CLOSING_RE = re.compile(
    r"^(?:z\s+)?(?:pozdrawiam\w*|pozdrowienia|serdeczn\w+ pozdr\w*|z powazaniem"
    r"|(?:z gory )?dziekuj\w*|dzieki|(?:best |kind |warm )?regards|thanks|thank you"
    r"|many thanks|cheers|br|sincerely|yours sincerely)(?![a-z])"
)


def is_break(line: Line) -> bool:
    """A reply header ("From:", "W dniu … pisze:") or a separator: history or signature follows."""
    return bool(_BREAK_RE.match(line.folded))


def is_closing(line: Line) -> bool:
    """A short sign-off line ("Pozdrawiam", "Best regards")."""
    return len(line.text) <= 60 and bool(_CLOSING_RE.match(line.folded))


def without_signature(text: str) -> str:
    """`text` up to its sign-off ("Pozdrawiam", "Best regards") or reply header, stripped.

    A sign-off on the first line is the text itself ("Dziękuję" as a whole comment).
    """
    kept: list[str] = []
    for line in read_lines(text, frozenset()):
        if is_break(line) or (is_closing(line) and any(kept)):
            break
        kept.append(line.text if not line.quoted else "")
    return "\n".join(kept).strip()
