"""How the parser records a repair: one line of text in the message's defect list.

Owns: adding a defect note once, in the order found, to a list that may be absent
(callers that only want the decoded value pass None). Must not: raise, log or
decide anything from the notes; `ParsedMail.defects` is assembled elsewhere.
"""

from __future__ import annotations


def add_defect(defects: list[str] | None, text: str) -> None:
    """Append `text` to `defects` unless it is there already or there is no list."""
    if defects is not None and text not in defects:
        defects.append(text)
