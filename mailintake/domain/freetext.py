"""Unlabelled values from the client's own words (SPEC §3, step 3 of `extract`).

Owns: `read_free_text` — careful guesses from the client's own unquoted lines (never from
quotes or from lines of ours): a version next to the word wersja/version, a frequency as a
bare answer line or in a sentence about the error, an exception code, and, for the first
message of a ticket, its own text as the scenario when it is a real description rather than
a greeting. A labelled value always wins over a guess.

Must not: read labels (`domain.answers` does), do I/O or read the clock.
"""

from __future__ import annotations

import re

from mailintake.domain.frequency import bare_frequency, free_frequency
from mailintake.domain.lines import Line, is_break, is_closing
from mailintake.domain.version import find_version

# Conservative on purpose: Windows NTSTATUS/HRESULT codes, .NET/Java exception names,
# ERR-nnnn and Oracle codes. Our own keys (LOG-000123, KB-1902) never match.
_ERROR_CODE_RE = re.compile(
    r"\b0x[0-9A-Fa-f]{8}\b"
    r"|\b(?:[A-Za-z_]\w*\.)*[A-Z]\w*Exception\b"
    r"|\bERR(?:OR)?[-_]?\d{2,6}\b"
    r"|\bORA-\d{5}\b"
)
_GREETING_RE = re.compile(
    r"^(?:dzien dobry|dobry wieczor|witam\w*|witajcie|czesc|hej|szanown\w+ pan\w*"
    r"|hello|hi|hey|dear|good (?:morning|afternoon|evening))(?![a-z])[\s,!.:]*"
)
_MIN_SCENARIO_WORDS = 8
_MIN_SCENARIO_CHARS = 40


def read_free_text(
    own: list[Line], consumed: set[int], found: dict[str, object], first_message: bool
) -> None:
    """Unlabelled values from the client's own words (never from quotes or from us)."""
    client = [i for i, line in enumerate(own) if not line.quoted and not line.ours]
    mine = [own[i] for i in client]
    unlabelled = [own[i] for i in client if i not in consumed]
    text = "\n".join(line.text for line in mine)
    code = _ERROR_CODE_RE.search(text)
    guesses = {
        "version": find_version(text, labelled=False),
        "frequency": _own_frequency(mine, unlabelled),
        "error_code": code.group(0) if code else None,
        "scenario": _fallback_scenario(own, consumed) if first_message else None,
    }
    for field, value in guesses.items():
        if value is not None:
            found.setdefault(field, value)  # a labelled value always wins


def _own_frequency(mine: list[Line], unlabelled: list[Line]) -> str | None:
    """A bare answer line (not the answer to another label), else a sentence in free text."""
    for line in unlabelled:
        if code := bare_frequency(line.folded):
            return code
    return free_frequency(
        "\n".join(line.folded for line in unlabelled), "\n".join(line.folded for line in mine)
    )


def _fallback_scenario(own: list[Line], consumed: set[int]) -> str | None:
    """The first message's own text when it describes something, minus greeting and sign-off."""
    kept: list[str] = []
    for index, line in enumerate(own):
        if is_break(line) or is_closing(line):
            break  # everything below is signature or history
        if index in consumed or line.quoted or line.ours:
            continue
        greeting = _GREETING_RE.match(line.folded)
        rest = line.text[greeting.end() :] if greeting else line.text
        if greeting and not _ends_with_text(rest):
            continue  # "Dzień dobry," or "Dear John,"
        kept.append(rest.strip())
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    words = re.findall(r"\w+", body)
    if len(words) >= _MIN_SCENARIO_WORDS and len(body) >= _MIN_SCENARIO_CHARS:
        return body
    return None


def _ends_with_text(rest: str) -> bool:
    """Whether a greeting line goes on with a sentence ("Dzień dobry, mamy problem")."""
    return len(re.findall(r"\w+", rest)) >= 3
