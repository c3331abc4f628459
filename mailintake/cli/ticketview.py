"""`tickets show KEY` for a person: the ticket, its data, files, history and conversation.

Owns: laying out one ticket as text — times in Warsaw with their offset, status names as
people read them, history as changes (`NOWY → ANALIZA`) and events (notes, reminders),
the conversation message by message with each sender's own words and files with sizes.
Every piece of mail-derived text goes through `adapters.terminal.safe`. Must not read the
database (it gets `services.views`' dicts) or hold business rules.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from rich.filesize import decimal

from mailintake.adapters.terminal import safe
from mailintake.adapters.timefmt import with_offset
from mailintake.domain.status import Status

ARROWS = {"in": "←", "out": "→"}
INDENT = "      "


def render(detail: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    """The whole ticket as text, ready to print."""
    return "\n".join([*_head(detail), *_fields(detail), *_history(detail),
                      *_conversation(messages)]) + "\n"  # fmt: skip


def _when(value: str | None) -> str:
    return with_offset(datetime.fromisoformat(value)) if value else "-"


def _status(code: str | None) -> str:
    return Status(code).display if code else "-"


def _head(d: dict[str, Any]) -> Iterator[str]:
    yield f"{d['key']}  {_status(d['status'])}  {safe(d['subject'])}"
    client = safe(
        f"{d['client_name']} <{d['client_email']}>" if d["client_name"] else d["client_email"]
    )
    rows = [
        ("klient / client", client + (f" ({safe(d['client_org'])})" if d["client_org"] else "")),
        ("język / language", d["language"]),
        ("utworzone / created", _when(d["created_at"])),
        ("brakuje / missing", ", ".join(d["missing"]) or "-"),
        ("prośby o dane / attempts", str(d["attempts"])),
        ("termin uzupełnienia / completion due", _when(d["completion_due"])),
        ("zamknięcie po / close after", _when(d["close_after"])),
        ("automatyczne zamknięcie / auto close", _when(d["auto_close_at"])),
        ("rozwiązanie / resolution", d["resolution"] or "-"),
        ("powód zamknięcia / close reason", d["close_reason"] or "-"),
        ("opiekun / owner", d["owner"] or "-"),
        ("w kopii / cc", safe(", ".join(d["cc"])) or "-"),
        ("powiązane / linked", ", ".join(d["linked"]) or "-"),
    ]
    if d["duplicate_of"]:
        rows.append(("duplikat / duplicate of", d["duplicate_of"]))
    if d["survey"]:
        rows.append(
            ("ankieta / survey", f"{d['survey']['rating']}/5 {safe(d['survey']['comment'] or '')}")
        )
    width = max(len(name) for name, _ in rows)
    yield from (f"  {name:<{width}}  {value}" for name, value in rows)


def _fields(d: dict[str, Any]) -> Iterator[str]:
    yield ""
    yield "Dane / fields"
    for code, value in d["fields"].items():
        shown = ", ".join(value) if isinstance(value, list) else (value or "-")
        lines = safe(shown, multiline=True).splitlines() or ["-"]
        yield f"  {code}: {lines[0]}"
        yield from (f"{INDENT}{line}" for line in lines[1:])


def _history(d: dict[str, Any]) -> Iterator[str]:
    """Status changes as `FROM → TO`; entries that change nothing are events, shown as such."""
    yield ""
    yield "Historia / history"
    for h in d["history"]:
        who, why = safe(h["by"]), safe(h["reason"])
        if h["from"] is None:
            change = f"→ {_status(h['to'])}"
        elif h["from"] == h["to"]:
            change = "•"
        else:
            change = f"{_status(h['from'])} → {_status(h['to'])}"
        yield f"  {_when(h['at'])}  {change}  {why} ({who})"


def _conversation(messages: list[dict[str, Any]]) -> Iterator[str]:
    yield ""
    yield "Rozmowa / conversation"
    for m in messages:
        yield ""
        arrow = ARROWS.get(m["direction"], m["direction"])
        yield f"  {_when(m['at'])}  {arrow}  {safe(m['from'])}  [{m['kind']}]  {safe(m['subject'])}"
        text = safe(m["text"], multiline=True).expandtabs(4)
        yield textwrap.indent(text, INDENT) if text else f"{INDENT}(bez treści / no text)"
        for f in m["attachments"]:
            yield f"{INDENT}+ {safe(f['filename'])} ({decimal(f['size'])})"
