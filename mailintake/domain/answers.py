"""Reading the value the client wrote after a field's label (SPEC §3, step 1 of `extract`).

Owns: `read_labels` — for each label line, its value: on the same line, or (after an empty
label) the client's unquoted answer on the next non-empty line, skipping a few lines of
ours. A scenario takes the whole block up to the next label, quote change, reply header or
sign-off; other fields take one short line. "brak", "nie wiem", "n/a" are no value. The
first value found for a field wins; logs and screenshots come from attachments, so their
labels only end other blocks.

Must not: guess unlabelled values (`domain.freetext` does), do I/O or read the clock.
"""

from __future__ import annotations

import re

from mailintake.domain.frequency import labelled_frequency
from mailintake.domain.lines import Line, is_break, is_closing
from mailintake.domain.text import fold
from mailintake.domain.version import find_version

_NO_VALUE_RE = re.compile(r"^\W*(?:brak\w*|nie dotyczy|nie wiem|nie ma|n/?[ad]|none|-+|\?+)\W*$")
_LOOKAHEAD_OURS = 3  # our lines skipped between an empty label and the client's answer
_MAX_SHORT_VALUE = 100


def _ends_value(line: Line, quoted: bool) -> bool:
    """Whether `line` is past the end of a value block whose lines are `quoted` or not."""
    if line.blank:
        return False
    return (
        line.quoted != quoted
        or line.ours
        or line.label is not None
        or is_break(line)
        or is_closing(line)
    )


def _answer_start(lines: list[Line], start: int) -> int | None:
    """Index of the client's unquoted answer to an empty label, skipping blanks and ours."""
    skipped = 0
    for index in range(start, len(lines)):
        line = lines[index]
        if line.blank:
            continue
        if line.ours and line.label is None and skipped < _LOOKAHEAD_OURS:
            skipped += 1
            continue
        return None if _ends_value(line, quoted=False) else index
    return None


def _block(lines: list[Line], start: int, quoted: bool) -> list[int]:
    """Indices of the value block from `start` to the next label, quote or signature."""
    taken: list[int] = []
    for index in range(start, len(lines)):
        if _ends_value(lines[index], quoted):
            break
        taken.append(index)
    while taken and lines[taken[-1]].blank:
        taken.pop()
    return taken


def read_labels(lines: list[Line], found: dict[str, object]) -> set[int]:
    """Labelled values into `found` (first wins); returns the indices of lines used."""
    consumed: set[int] = set()
    for index, line in enumerate(lines):
        hit = line.label
        if hit is None or index in consumed:
            continue
        code, inline = hit
        consumed.add(index)
        value, used = _labelled_value(code, inline, lines, index, line.quoted)
        if value is not None:
            consumed.update(used)
            found.setdefault(code, value)
    return consumed


def _labelled_value(
    code: str, inline: str, lines: list[Line], index: int, quoted: bool
) -> tuple[object | None, list[int]]:
    if code in ("logs", "screenshots"):
        return None, []  # these come from attachments; the label only ends other blocks
    if code == "scenario":
        return _scenario_value(inline, lines, index, quoted)
    if inline:
        return _parse_value(code, inline), []
    answer = _answer_start(lines, index + 1)
    if answer is None or len(lines[answer].text) > _MAX_SHORT_VALUE:
        return None, []
    return _parse_value(code, lines[answer].text), [answer]


def _scenario_value(
    inline: str, lines: list[Line], index: int, quoted: bool
) -> tuple[str | None, list[int]]:
    if inline and _NO_VALUE_RE.match(fold(inline)):
        return None, []
    if inline:
        used = _block(lines, index + 1, quoted)
        parts = [inline, *(lines[i].text for i in used)]
    else:
        start = _answer_start(lines, index + 1)
        used = [] if start is None else _block(lines, start, quoted=False)
        parts = [lines[i].text for i in used]
    value = "\n".join(parts).strip()
    if not value or _NO_VALUE_RE.match(fold(value)):
        return None, []
    return value, used


def _parse_value(code: str, value: str) -> object | None:
    """The value of a labelled field from what the client wrote after its label."""
    if code == "version":
        return find_version(value, labelled=True)
    if code == "frequency":
        return labelled_frequency(value)
    if _NO_VALUE_RE.match(fold(value)):
        return None
    return value  # error code and service states: kept as the client wrote them
