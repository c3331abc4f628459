"""How the parser records a repair: one line of text in the message's defect list.

Owns: adding a defect note once, in the order found, to a list that may be absent
(callers that only want the decoded value pass None), and the bound on that list:
at most `MAX_DEFECTS` notes, so a message with 100,000 broken parts costs no
quadratic look-ups (issue 10). Must not: raise, log or decide anything from the
notes; `ParsedMail.defects` is assembled elsewhere.
"""

from __future__ import annotations

MAX_DEFECTS = 100


def add_defect(defects: list[str] | None, text: str) -> None:
    """Append `text` to `defects` unless it is there already, there is no list, or it is full."""
    if defects is not None and len(defects) < MAX_DEFECTS and text not in defects:
        defects.append(text)
