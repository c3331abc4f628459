"""Ticket statuses and the transitions between them (SPEC section 2).

Owns: the seven status codes, their display names (Polish; English for English mail), the allowed transitions and
the close reasons. Pure: no I/O, no clock.
"""

from __future__ import annotations

from enum import StrEnum

from mailintake.domain.text import fold
from mailintake.errors import Refusal


class Status(StrEnum):
    NOWY = "NOWY"
    ANALIZA = "ANALIZA"
    W_TRAKCIE = "W_TRAKCIE"
    CZEKA_NA_POPRAWKE = "CZEKA_NA_POPRAWKE"
    CZEKA_NA_PUBLIKACJE = "CZEKA_NA_PUBLIKACJE"
    ROZWIAZANY = "ROZWIAZANY"
    ZAMKNIETY = "ZAMKNIETY"

    @property
    def display(self) -> str:
        """The name people read in mail and reports (SPEC section 2), in Polish."""
        return DISPLAY[self]

    def shown(self, lang: str) -> str:
        """The name a reader of `lang` reads: English for "en", else the Polish display name."""
        return DISPLAY_EN[self] if lang == "en" else DISPLAY[self]


DISPLAY = {
    Status.NOWY: "NOWY",
    Status.ANALIZA: "ANALIZA",
    Status.W_TRAKCIE: "W TRAKCIE",
    Status.CZEKA_NA_POPRAWKE: "CZEKA NA POPRAWKĘ",
    Status.CZEKA_NA_PUBLIKACJE: "CZEKA NA PUBLIKACJĘ",
    Status.ROZWIAZANY: "ROZWIĄZANY",
    Status.ZAMKNIETY: "ZAMKNIĘTY",
}

# What English-speaking clients read (issue 13: English clients get English only).
DISPLAY_EN = {
    Status.NOWY: "NEW",
    Status.ANALIZA: "ANALYSIS",
    Status.W_TRAKCIE: "IN PROGRESS",
    Status.CZEKA_NA_POPRAWKE: "WAITING FOR A FIX",
    Status.CZEKA_NA_PUBLIKACJE: "WAITING FOR RELEASE",
    Status.ROZWIAZANY: "RESOLVED",
    Status.ZAMKNIETY: "CLOSED",
}

S = Status
ALLOWED: dict[Status, frozenset[Status]] = {
    S.NOWY: frozenset({S.ANALIZA, S.ZAMKNIETY}),
    S.ANALIZA: frozenset(
        {S.W_TRAKCIE, S.CZEKA_NA_POPRAWKE, S.CZEKA_NA_PUBLIKACJE, S.ROZWIAZANY, S.ZAMKNIETY}
    ),
    S.W_TRAKCIE: frozenset(
        {S.ANALIZA, S.CZEKA_NA_POPRAWKE, S.CZEKA_NA_PUBLIKACJE, S.ROZWIAZANY, S.ZAMKNIETY}
    ),
    S.CZEKA_NA_POPRAWKE: frozenset({S.CZEKA_NA_PUBLIKACJE, S.ROZWIAZANY, S.W_TRAKCIE, S.ZAMKNIETY}),
    S.CZEKA_NA_PUBLIKACJE: frozenset({S.ROZWIAZANY, S.W_TRAKCIE, S.ZAMKNIETY}),
    S.ROZWIAZANY: frozenset({S.ANALIZA, S.ZAMKNIETY}),
    S.ZAMKNIETY: frozenset(),
}


class CloseReason(StrEnum):
    RESOLVED = "resolved"
    INCOMPLETE = "incomplete"
    NO_RESPONSE = "no_response"
    STAFF = "staff"
    DUPLICATE = "duplicate"


def parse_status(text: str) -> Status:
    """The status a person named: its code or its shown name (Polish or English), any case,
    with or without diacritics, spaces or underscores ("w trakcie", "ZAMKNIĘTY", "closed").

    Raises `ValueError` listing the valid names when `text` names none.
    """
    wanted = _status_key(text)
    for status in Status:
        if wanted in {
            _status_key(status),
            _status_key(DISPLAY[status]),
            _status_key(DISPLAY_EN[status]),
        }:
            return status
    valid = ", ".join(DISPLAY[s] for s in Status)
    raise ValueError(f"unknown status {text!r}; valid: {valid}")


def _status_key(text: str) -> str:
    return " ".join(fold(text).replace("_", " ").split())


def may_transition(current: Status, target: Status) -> bool:
    return target in ALLOWED[current]


def check_transition(current: Status, target: Status) -> None:
    """Raise `Refusal` with a reason people understand when the move is not allowed."""
    if current == target:
        raise Refusal(f"zgłoszenie ma już status {target.display} (ticket is already {target})")
    if not may_transition(current, target):
        allowed = ", ".join(sorted(s.display for s in ALLOWED[current])) or "żadna"
        raise Refusal(
            f"zmiana statusu {current.display} → {target.display} jest niedozwolona; "
            f"dozwolone: {allowed} (transition {current} -> {target} is not allowed)"
        )
