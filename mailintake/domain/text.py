"""Folding text for matching Polish and English words regardless of case and diacritics.

Owns: `fold`, the one definition of "the same word" used by the field labels,
the staff tags and the mail rules (`Częstotliwość` ~ `czestotliwosc`), and
`one_line`, a text shortened to one line (a history reason, never a whole mail).
Pure: no I/O.
"""

from __future__ import annotations

import unicodedata


class _FoldTable(dict[int, str]):
    """`str.translate` table filled on first sight of each character."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold_char(char)
        self[code] = folded
        return folded


def _fold_char(char: str) -> str:
    if char in "łŁ":  # ł has no Unicode decomposition, so NFKD alone would keep it
        return "l"
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    for candidate in (base.lower(), char.lower()):
        if len(candidate) == 1:
            return candidate
    return char


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one, so indices still point into `text`."""
    return text.translate(_TABLE)


ONE_LINE_CHARS = 200


def one_line(text: str, limit: int = ONE_LINE_CHARS) -> str:
    """The first non-empty line of `text`, spaces collapsed, cut at a word to `limit`
    characters with " …" when anything was left out (issue 12: history reasons)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    first = lines[0] if lines else ""
    if len(first) <= limit and len(lines) <= 1:
        return first
    cut = first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0]
    return cut + " …"
