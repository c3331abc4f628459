"""The formats of a report (SPEC section 8): JSON and CSV for tools, tables for people.

Owns: `as_json` (the rows as they are), `as_csv` (RFC 4180; a text cell that a
spreadsheet would run as a formula — starting with `=`, `+`, `-`, `@`, tab or carriage
return — gets a leading `'`, OWASP "CSV injection"), and the tables people read: cells in
Warsaw local time (days like the instants beside them), yes/no, display names (`as_table`, `cells`), with Polish headers and
words for the digest (`HEADERS_PL`). Must not choose rows (`services.reports` does).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailintake.adapters import terminal, timefmt
from mailintake.domain import fields
from mailintake.domain.status import Status

FORMATS = ("table", "csv", "json", "excel")
EXCEL_BOM = "\ufeff"  # Excel reads UTF-8 only when the file says so
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ISO_COLUMNS = frozenset(
    {"created", "completion_due", "close_after", "sla_due", "resolved_at", "auto_close_at"}
)
DAY_COLUMNS = frozenset({"eta"})
HEADERS_PL = {
    "key": "Zgłoszenie",
    "client": "Klient",
    "client_organisation": "Organizacja",
    "subject": "Temat",
    "created": "Utworzone",
    "age_hours": "Wiek (godz.)",
    "missing": "Brakujące dane",
    "attempts": "Prośby o dane",
    "completion_due": "Termin uzupełnienia",
    "close_after": "Zamknięcie po",
    "status": "Status",
    "sla_due": "Termin SLA",
    "business_hours_left": "Pozostało (godz. robocze)",
    "breached": "SLA przekroczone",
    "awaiting_client": "Czeka na klienta",
    "suspended": "Zawieszone",
    "resolved_at": "Rozwiązane",
    "resolution": "Rozwiązanie",
    "sla_met": "SLA dotrzymane",
    "auto_close_at": "Automatyczne zamknięcie",
    "eta": "Termin poprawki (ETA)",
    "eta_past_sla": "ETA po terminie SLA",
    "client_accepted": "Klient zaakceptował",
    "owner": "Opiekun",
}
_WORDS = {
    "en": {True: "yes", False: "no", "full": "full", "workaround": "workaround"},
    "pl": {True: "tak", False: "nie", "full": "pełne", "workaround": "obejście"},
}


def when(at: datetime | None) -> str:
    """An instant as a table shows it: Warsaw local time."""
    return timefmt.in_table(at)


def as_json(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as JSON; control characters are JSON escapes (`terminal.json_text`)."""
    return terminal.json_text(list(rows), indent=2) + "\n"


def as_csv(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], *, for_terminal: bool = False
) -> str:
    """RFC 4180 CSV; `for_terminal` (stdout is a tty): control characters shown escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns)
    for row in rows:
        cells = [_csv_cell(row[c]) for c in columns]
        if for_terminal:
            cells = [terminal.safe(c) if isinstance(c, str) else c for c in cells]
        writer.writerow(cells)
    return out.getvalue()


def as_excel(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], *, for_terminal: bool = False
) -> str:
    """CSV for Polish Excel: BOM, `;`, CRLF, Polish headers, "2026-12-02 16:00", "31,1";
    `for_terminal` (stdout is a tty): control characters shown escaped, as in `as_csv`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([HEADERS_PL.get(c, c) for c in columns])
    for row in rows:
        cells = [_excel_cell(c, row[c]) for c in columns]
        if for_terminal:
            cells = [terminal.safe(c) if isinstance(c, str) else c for c in cells]
        writer.writerow(cells)
    return EXCEL_BOM + out.getvalue()


def _excel_cell(column: str, value: Any) -> Any:
    if isinstance(value, bool) or value in ("full", "workaround"):
        return _WORDS["pl"][value]
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if column == "status" and value:
        return Status(value).display
    if column == "missing" and isinstance(value, list):
        return ", ".join(fields.LABELS[code]["pl"] for code in value)
    if isinstance(value, str) and column in ISO_COLUMNS:
        return timefmt.local_plain(datetime.fromisoformat(value))
    return _csv_cell(value)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # numbers we computed are never formulas; text may be anyone's
    return value


def cells(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], lang: str = "en"
) -> list[list[str]]:
    """Rows as the strings a person reads: Warsaw local times, yes/no, '-' for nothing."""
    return [[_cell(column, row[column], lang) for column in columns] for row in rows]


def as_table(columns: Sequence[str], rows: Sequence[dict[str, Any]], *, width: int) -> str:
    """A table for a terminal (`width` columns); says so when there are no tickets."""
    if not rows:
        return "(brak zgłoszeń / no tickets)\n"
    return terminal.table(list(columns), cells(columns, rows), width=width)


def _cell(column: str, value: Any, lang: str) -> str:
    words = _WORDS[lang]
    if value is None or value == []:
        return "-"
    if isinstance(value, bool) or value in ("full", "workaround"):
        return words[value]
    if isinstance(value, list):
        if lang == "pl" and column == "missing":
            return ", ".join(fields.LABELS[code]["pl"] for code in value)
        return ",".join(str(v) for v in value)
    if column == "status":
        return Status(value).display
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, str) and column in ISO_COLUMNS:
        return when(datetime.fromisoformat(value))
    if isinstance(value, str) and column in DAY_COLUMNS:
        return timefmt.day_in_table(datetime.fromisoformat(value).date())
    return str(value)
