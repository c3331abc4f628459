"""The data a ticket must carry before analysis, and how it is found in a mail (SPEC §3).

Owns: the field codes (`REQUIRED`, `OPTIONAL`, `FIELDS`), the fill-in form lines of the
request mail, reading the field values of one client message (`extract`), accumulating
values over a thread (`merge`) and listing what is still missing. This is the face the
services use; the wording of the labels (`LABELS`) and of the frequency answers
(`FREQUENCY_LABELS`) and `normalize_line` are re-exported from the rooms that own them.

Must not: do I/O, read the clock, parse MIME or render templates. It receives text already
decoded by `adapters.parse` and the normalised lines of our own outgoing messages.

How a message is read (`extract`), one room per step:

1. `lines` — the text as lines: quote markers removed, folded; a line equal to one of ours
   (`our_lines`), or a long quoted fragment of one, is ours and never gives a value.
2. `answers` — labelled values (`labels` recognises a label in Polish or English), first in
   `own_text`, then in the whole `text` (quoted history and an Outlook-style unquoted
   original included). The first value found for a field wins (the newest text stands on
   top). A line of ours may still be the label of the client's unquoted answer below it.
3. `freetext` — unlabelled guesses from the client's own words only: a version
   (`version`), a frequency (`frequency`), an exception code, and the first message's own
   text as the scenario; a labelled value always wins.
4. `attachments` — logs and log archives by name; screenshots are images that are not
   signature logos.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mailintake.domain.answers import read_labels
from mailintake.domain.attachments import read_attachments
from mailintake.domain.freetext import read_free_text
from mailintake.domain.frequency import FREQUENCY_LABELS
from mailintake.domain.labels import LABELS
from mailintake.domain.lines import normalize_line, read_lines
from mailintake.domain.mail import Attachment

__all__ = [
    "ATTACHMENT_FIELDS",
    "FIELDS",
    "FREQUENCY_LABELS",
    "LABELS",
    "OPTIONAL",
    "REQUIRED",
    "extract",
    "form_lines",
    "merge",
    "missing",
    "normalize_line",
]

REQUIRED = ("scenario", "version", "logs", "frequency")
OPTIONAL = ("screenshots", "error_code", "service_log_system", "service_lsa", "service_qdesk")
FIELDS = REQUIRED + OPTIONAL
# Fields that arrive as files: a request asks for them with an instruction, never a form line.
ATTACHMENT_FIELDS = ("logs", "screenshots")


def form_lines(codes: Sequence[str], lang: str) -> list[str]:
    """The fill-in form of the request mail: one `Label: ` line per field typed in.

    Attachment fields (`ATTACHMENT_FIELDS`) get no line: a file cannot be typed in.
    """
    key = "en" if lang.lower().startswith("en") else "pl"  # SPEC §5: Polish by default
    return [f"{LABELS[code][key]}: " for code in codes if code not in ATTACHMENT_FIELDS]


def missing(fields: Mapping[str, object]) -> list[str]:
    """The required field codes that have no value yet, in `REQUIRED` order."""
    return [code for code in REQUIRED if _is_empty(fields.get(code))]


def merge(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, object]:
    """Values accumulated over a thread: new scalars win, lists are unioned (SPEC §3)."""
    out = {code: _copy(value) for code, value in old.items()}
    for code, value in new.items():
        if _is_empty(value):
            continue  # a later message that lacks a field keeps what came earlier
        if isinstance(value, list | tuple):
            prior = out.get(code)
            prior_items = list(prior) if isinstance(prior, list | tuple) else []
            out[code] = list(dict.fromkeys([*prior_items, *value]))
        else:
            out[code] = value
    return out


READ_CHARS = 200_000


def extract(
    text: str,
    own_text: str,
    attachments: Sequence[Attachment],
    *,
    our_lines: frozenset[str] = frozenset(),
    first_message: bool = False,
) -> dict[str, object]:
    """The field values one client message gives; absent fields are left out.

    Only the first `READ_CHARS` of each text are read: a client writes the data at the
    top, and 2 MB of pasted log lines must not cost seconds (issue 10).
    """
    own = read_lines(own_text[:READ_CHARS], our_lines)
    found: dict[str, object] = {}
    consumed = read_labels(own, found)
    read_labels(read_lines(text[:READ_CHARS], our_lines), found)
    read_free_text(own, consumed, found, first_message)
    read_attachments(attachments, found)
    return {code: found[code] for code in FIELDS if code in found}


# ---------------------------------------------------------------- values


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


def _copy(value: object) -> object:
    return list(value) if isinstance(value, list | tuple) else value
