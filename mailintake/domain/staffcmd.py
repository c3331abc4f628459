"""Staff commands in the subject (SPEC section 6).

Owns: reading a command tag (`[W TRAKCIE]`, `[fix 2026-12-15]`, `[DUPLIKAT LOG-000120]`,
...) out of a subject into a `Command`, finding the ticket key `[LOG-000123]`, and cleaning
a subject of keys, tags and reply prefixes. Pure: no I/O, no clock; it does not look up
tickets, check transitions (see `domain.status`), decide who is staff, or decide whether a
staff message really comes from our organisation (`domain.staffauth` does).

Decisions worth knowing:

- Ticket key: `[LOG-000123]` anywhere in the subject, case-insensitive, spaces inside the
  brackets tolerated; `[LOG-123]` is read as `LOG-000123` (keys are `{prefix}-{n:06d}`,
  SPEC section 5). A bare `LOG-000123` outside brackets is not a key.
- Tags are matched case-, diacritics- and spacing-insensitively (`[w_trakcie]`,
  `[ fix: 2026-12-15 ]`). Dates are `YYYY-MM-DD` or the Polish `DD.MM.YYYY`.
- Unknown brackets: mail systems and clients put their own brackets in subjects
  (`[EXTERNAL]`, `[SPAM]`, `[Ticket#123]`, `[PILNE]`, `[REKLAMACJA]`), and a staff reply
  inherits them, so refusing every unknown bracket would make such tickets unanswerable.
  A bracket is therefore refused as an "unknown tag" only when it looks like a mistyped
  command: its first words are close to a tag (`[ROZWIAZNY]`, `[NOTKA]`, `[W TRAKICE]`)
  or name a status (`[ZAMKNIĘTY]`, `[CZEKA NA POPRAWKĘ]`). A known tag with a bad
  argument (`[POPRAWKA jutro]`, `[ZAMKNIJ teraz]`, `[DUPLIKAT]`) is always refused. Any
  other bracket is ordinary subject text. A typo never silently becomes a relay to the
  client, which matters most for `[NOTATKA]` (internal).
- The same command written twice (a reply keeping the tag of the mail it answers) counts
  once; two different commands are refused, except a status tag with `[NOTATKA]`: the
  status change made silently (the staff text stays an internal note).
- A note is recognised however it is written (one tolerant rule, `subjects.note_marker`):
  `[NOTATKA]`, `[note:]`, `[internal note]`, `(NOTATKA)`, or `NOTATKA:` right after the
  tags. Mistaking text for a note keeps it internal; the reverse would leak it.
- `strip_tags` leaves no bracket a staff reply would run or refuse (keys, tags, mistyped
  tags, tags with a bad argument), so a subject built from a cleaned one (a stored ticket
  subject, a staff notice) can never carry a command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from mailintake.domain import subjects
from mailintake.domain.status import CloseReason, Status
from mailintake.domain.subjects import BRACKET
from mailintake.domain.text import fold
from mailintake.errors import Refusal


class Action(StrEnum):
    ANALIZA = "ANALIZA"
    W_TRAKCIE = "W_TRAKCIE"
    POPRAWKA = "POPRAWKA"
    PUBLIKACJA = "PUBLIKACJA"
    ROZWIAZANY = "ROZWIAZANY"
    OBEJSCIE = "OBEJSCIE"
    PYTANIE = "PYTANIE"
    NOTATKA = "NOTATKA"
    KOMPLETNE = "KOMPLETNE"
    ZAMKNIJ = "ZAMKNIJ"
    DUPLIKAT = "DUPLIKAT"
    PODZIEL = "PODZIEL"
    REJESTRUJ = "REJESTRUJ"
    PRZEJMIJ = "PRZEJMIJ"
    POMOC = "POMOC"
    RELAY = "RELAY"  # no tag: the staff reply is relayed to the client


A = Action
# SPEC section 6: the tags as people write them, Polish first; written without diacritics.
PHRASES: dict[Action, tuple[str, str]] = {
    A.ANALIZA: ("analiza", "analysis"),
    A.W_TRAKCIE: ("w trakcie", "in progress"),
    A.POPRAWKA: ("poprawka", "fix"),
    A.PUBLIKACJA: ("publikacja", "release"),
    A.ROZWIAZANY: ("rozwiązany", "resolved"),
    A.OBEJSCIE: ("obejście", "workaround"),
    A.PYTANIE: ("pytanie", "question"),
    A.NOTATKA: ("notatka", "note"),
    A.KOMPLETNE: ("kompletne", "complete"),
    A.ZAMKNIJ: ("zamknij", "close"),
    A.DUPLIKAT: ("duplikat", "duplicate"),
    A.PODZIEL: ("podziel", "split"),
    A.REJESTRUJ: ("rejestruj", "register"),
    A.PRZEJMIJ: ("przejmij", "take"),
    A.POMOC: ("pomoc", "help"),
}
DATED = frozenset({A.POPRAWKA, A.PUBLIKACJA})  # the date is optional
KEYED = frozenset({A.DUPLIKAT})  # the key is required
TARGETS: dict[Action, tuple[Status, str | None]] = {
    A.ANALIZA: (Status.ANALIZA, None),
    A.W_TRAKCIE: (Status.W_TRAKCIE, None),
    A.POPRAWKA: (Status.CZEKA_NA_POPRAWKE, None),
    A.PUBLIKACJA: (Status.CZEKA_NA_PUBLIKACJE, None),
    A.ROZWIAZANY: (Status.ROZWIAZANY, "full"),
    A.OBEJSCIE: (Status.ROZWIAZANY, "workaround"),
    A.KOMPLETNE: (Status.ANALIZA, None),
    A.ZAMKNIJ: (Status.ZAMKNIETY, None),
    A.DUPLIKAT: (Status.ZAMKNIETY, None),
}
CLOSE_REASONS = {A.ZAMKNIJ: CloseReason.STAFF, A.DUPLIKAT: CloseReason.DUPLICATE}
# Commands whose staff text (and its attachments) goes to the client (SPEC section 6).
TEXT_TO_CLIENT = frozenset(TARGETS) - {A.KOMPLETNE} | {A.PYTANIE, A.PODZIEL, A.RELAY}
# Commands about no ticket in particular: they need no key (SPEC section 6).
KEYLESS = frozenset({A.REJESTRUJ, A.POMOC})
# The first staff member to do anything but these owns the ticket (SPEC section 6).
NOT_OWNING = KEYLESS | {A.NOTATKA}
# Status names people may type instead of the tag → the tag they meant.
STATUS_WORDS = {
    "zamkniety": "zamknij",
    "zamkniete": "zamknij",
    "closed": "close",
    "fixed": "fix",
    "czekanapoprawke": "poprawka",
    "czekanapublikacje": "publikacja",
}
TYPO_CUTOFF = 0.8  # difflib ratio; keeps [EXTERNAL], [SPAM], [PILNE], [REKLAMACJA] out


@dataclass(frozen=True)
class Command:
    """One staff command read from a subject; `target_status`/`resolution` follow `action`."""

    action: Action
    date: dt.date | None = None  # ETA for POPRAWKA, release date for PUBLIKACJA
    duplicate_of: str | None = None  # normalised key for DUPLIKAT, e.g. "LOG-000120"
    target_status: Status | None = None
    resolution: str | None = None  # "full" | "workaround" | None
    tag: str = ""  # the tag as written, brackets included, for messages
    silent: bool = False  # a status tag with [NOTATKA]: the staff text stays internal

    def __post_init__(self) -> None:
        target, resolution = TARGETS.get(self.action, (None, None))
        if self.target_status is None:
            object.__setattr__(self, "target_status", target)
        if self.resolution is None:
            object.__setattr__(self, "resolution", resolution)

    def close_reason(self, *, question_unanswered: bool) -> CloseReason | None:
        """Why this command closes a ticket (SPEC section 2), or None if it closes none.

        `duplicate` for DUPLIKAT; for ZAMKNIJ `no_response` when our question still waits
        for the client (awaiting or suspended), else `staff`.
        """
        if self.action == A.ZAMKNIJ and question_unanswered:
            return CloseReason.NO_RESPONSE
        return CLOSE_REASONS.get(self.action)

    @property
    def mails_staff_text(self) -> bool:
        """Does the staff text (with its attachments) go to the client (SPEC section 6)?"""
        return self.action in TEXT_TO_CLIENT and not self.silent

    @property
    def needs_ticket(self) -> bool:
        return self.action not in KEYLESS

    @property
    def takes_ownership(self) -> bool:
        """A status change, a message to the client or [PRZEJMIJ] makes the sender the owner."""
        return self.action not in NOT_OWNING


# --- subject tags -----------------------------------------------------------------------


def parse_command(subject: str, *, prefix: str = "LOG") -> Command:
    """The command in `subject`, `RELAY` when there is none; `Refusal` when it is unclear."""
    commands: list[Command] = []
    for written, inner in _brackets(subject):
        if _key_in(inner, prefix) is None:
            command = _read_tag(written, inner, prefix)
            if command is not None and not any(_same(command, c) for c in commands):
                commands.append(command)
    marker = subjects.note_marker(subject)
    if marker is not None and not any(c.action is A.NOTATKA for c in commands):
        commands.append(Command(A.NOTATKA, tag=marker))
    others = [c for c in commands if c.action is not A.NOTATKA]
    if len(others) == 1 and len(commands) > 1 and others[0].action in TARGETS:
        return dataclasses.replace(others[0], silent=True)  # a status tag with [NOTATKA]
    if len(commands) > 1:
        tags = ", ".join(c.tag for c in commands)
        raise Refusal(
            f"temat zawiera kilka poleceń ({tags}); dozwolone jest jedno "
            f"(the subject carries several commands ({tags}); only one is allowed)"
        )
    return commands[0] if commands else Command(Action.RELAY)


def find_ticket_key(subject: str, prefix: str = "LOG") -> str | None:
    """The first `[LOG-000123]` in `subject`, normalised (`[log-123]` → `LOG-000123`)."""
    for _written, inner in _brackets(subject):
        key = _key_in(inner, prefix)
        if key is not None:
            return key
    return None


def strip_tags(subject: str, prefix: str = "LOG") -> str:
    """`subject` without ticket keys, command tags and leading Re:/Odp:/AW:/Fwd:/PD: etc.

    Brackets a staff reply would refuse (`[ZAMKNIĘTY]`, `[ZAMKNIJ teraz]`) go too, and
    removing one is repeated until none is left, so `[ZAM[LOG-1]KNIJ]` leaves no tag.
    """
    rest = subject
    while (kept := BRACKET.sub(lambda m: _kept_bracket(m, prefix), rest)) != rest:
        rest = kept
    rest = " ".join(rest.split())
    return subjects.without_reply_prefixes(rest)


def without_commands(subject: str, prefix: str = "LOG") -> str:
    """`subject` with every bracket that reads as a command tag, or a mistyped one, in parentheses.

    For every subject we write to staff (issue 10): a reply to our notice must never run,
    or be refused for, a tag the notice quoted. Ticket keys and other brackets stay.
    """

    def defanged(match: re.Match[str]) -> str:
        inner = match.group(1)
        if _key_in(inner, prefix) is not None:
            return match.group(0)
        try:
            if _read_tag(match.group(0), inner, prefix) is None:
                return match.group(0)
        except Refusal:
            pass
        return f"({inner})"

    return BRACKET.sub(defanged, subject)


def _kept_bracket(match: re.Match[str], prefix: str) -> str:
    written, inner = match.group(0), match.group(1)
    if _key_in(inner, prefix) is not None:
        return " "
    try:
        command = _read_tag(written, inner, prefix)
    except Refusal:
        return " "
    return written if command is None else " "


def _brackets(subject: str) -> Iterator[tuple[str, str]]:
    for match in BRACKET.finditer(subject):
        yield match.group(0), match.group(1)


def _fold(text: str) -> str:
    """Lower case without diacritics, spaces collapsed: ` Rozwiązany ` → `rozwiazany`."""
    return " ".join(fold(text).split())


def _key_in(inner: str, prefix: str) -> str | None:
    match = re.fullmatch(rf"\s*{re.escape(prefix)}-(\d+)\s*", inner, re.IGNORECASE)
    return _key(prefix, match.group(1)) if match else None


def _key(prefix: str, digits: str) -> str:
    return f"{prefix}-{int(digits):06d}"


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # "w trakcie" also matches "wtrakcie", "w_trakcie", "w-trakcie".
    words = r"[\s_-]*".join(re.escape(w) for w in _fold(phrase).split())
    return re.compile(rf"{words}(?:[\s:=]+(?P<arg>.*?))?\s*")


PATTERNS = [(action, _phrase_pattern(p)) for action, pair in PHRASES.items() for p in pair]
# Each tag without spaces or diacritics ("wtrakcie") → as written in SPEC, for typo hints.
SQUASHED = {"".join(_fold(p).split()): p for pair in PHRASES.values() for p in pair}


def _match_phrase(folded: str) -> tuple[Action, str | None] | None:
    for action, pattern in PATTERNS:
        match = pattern.fullmatch(folded)
        if match is not None:
            return action, match.group("arg") or None
    return None


def _read_tag(written: str, inner: str, prefix: str) -> Command | None:
    folded = _fold(inner)
    if subjects.is_note(folded):
        return Command(A.NOTATKA, tag=written)
    found = _match_phrase(folded)
    if found is None:
        _refuse_if_mistyped(written, folded)
        return None
    action, argument = found
    if action in DATED:
        return Command(action, date=_date_argument(written, argument), tag=written)
    if action in KEYED:
        return Command(action, duplicate_of=_key_argument(written, argument, prefix), tag=written)
    if argument is not None:
        name = f"[{PHRASES[action][0].upper()}]"
        raise Refusal(
            f"tag {name} nie przyjmuje argumentu („{argument}” w {written}) "
            f"(tag {name} takes no argument, got '{argument}' in {written})"
        )
    return Command(action, tag=written)


def _same(one: Command, other: Command) -> bool:
    return (one.action, one.date, one.duplicate_of) == (
        other.action,
        other.date,
        other.duplicate_of,
    )


def _date_argument(written: str, argument: str | None) -> dt.date | None:
    if argument is None:
        return None
    parsed = _parse_date(argument)
    if parsed is None:
        raise Refusal(
            f"nieprawidłowa data „{argument}” w {written}; użyj RRRR-MM-DD lub DD.MM.RRRR "
            f"(bad date '{argument}' in {written}; use YYYY-MM-DD or DD.MM.YYYY)"
        )
    return parsed


def _parse_date(text: str) -> dt.date | None:
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    # Polish habit: 15.12.2026, sometimes followed by "r." (roku).
    polish = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s*r\.?)?", text)
    if iso is not None:
        year, month, day = iso.groups()
    elif polish is not None:
        day, month, year = polish.groups()
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:  # 2026-13-45: well-shaped but no such day
        return None


def _key_argument(written: str, argument: str | None, prefix: str) -> str:
    match = re.fullmatch(rf"{re.escape(prefix)}-(\d+)", argument or "", re.IGNORECASE)
    if match is None:
        example = _key(prefix, "120")
        raise Refusal(
            f"{written}: podaj numer zgłoszenia, np. [DUPLIKAT {example}] "
            f"({written}: give the ticket key, e.g. [duplicate {example}])"
        )
    return _key(prefix, match.group(1))


def _refuse_if_mistyped(written: str, folded: str) -> None:
    """Refuse a bracket whose first words are close to a tag or name a status."""
    words = re.findall(r"[a-z]+", folded)[:3]
    for head in ("".join(words[:n]) for n in range(1, len(words) + 1)):
        close = difflib.get_close_matches(head, list(SQUASHED), n=1, cutoff=TYPO_CUTOFF)
        guess = SQUASHED[close[0]] if close else STATUS_WORDS.get(head)
        if guess is not None:
            raise Refusal(_unknown_tag(written, guess))


def _unknown_tag(written: str, guess: str) -> str:
    name = f"[{guess.upper()}]"
    return (
        f"nieznany tag {written} (czy chodziło o {name}?); znane tagi: {_tag_list()} "
        f"(unknown tag {written} (did you mean {name}?); the known tags are listed above)"
    )


def _tag_list() -> str:
    return ", ".join(f"[{pl.upper()}]/[{en}]" for pl, en in PHRASES.values())
