"""Folding text for matching Polish and English words regardless of case and diacritics.

Owns: `fold`, the one definition of "the same word" used by the field labels,
the staff tags and the mail rules (`Częstotliwość` ~ `czestotliwosc`).
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
