"""`mailintake tickets list|show|search|export`: tickets for people and tools (SPEC section 9).

Owns: the subcommands, their options and help, tables that fit the terminal (rich, cells
escaped) and the JSON of `services.views`. Must not change anything or hold business
rules; the human form of one ticket is `cli.ticketview`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mailintake.adapters import terminal
from mailintake.cli import ticketview
from mailintake.cli.shared import fail, opened
from mailintake.config import Settings
from mailintake.domain.status import DISPLAY, Status, parse_status
from mailintake.errors import Refusal
from mailintake.services import export, views

COLUMNS = ("key", "status", "client_email", "owner", "missing", "subject")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tickets = sub.add_parser(
        "tickets", help="list, show, search and export tickets", description="Tickets, read-only."
    ).add_subparsers(dest="tickets_command", required=True, metavar="COMMAND",
                      help="what to do with tickets")  # fmt: skip
    p = tickets.add_parser("list", help="every ticket, or those in one status",
                           description="List tickets, oldest first.")  # fmt: skip
    p.add_argument("--status", type=_status, metavar="STATUS",
                   help="only this status: its code or its name, any case, diacritics optional; "
                   f"one of {', '.join(DISPLAY.values())}")  # fmt: skip
    _json_option(p, "a JSON list of {key, status, client_email, subject, created_at, missing}")
    p.set_defaults(func=cmd_list)
    p = tickets.add_parser("show", help="one ticket, whole: data, history, conversation",
                           description="Show one ticket.")  # fmt: skip
    p.add_argument("key", metavar="KEY", help="the ticket key, e.g. LOG-000123")
    _json_option(p, "one JSON object with every field, message, attachment and history entry")
    p.set_defaults(func=cmd_show)
    p = tickets.add_parser("search", help="tickets by key, client, organisation, subject or text",
                           description="Find tickets whose key, client address or organisation, "
                           "subject or message text contains TEXT (any case, diacritics optional).")  # fmt: skip
    p.add_argument("text", metavar="TEXT", help="what to look for")
    _json_option(p, "a JSON list, as `tickets list --json`")
    p.set_defaults(func=cmd_search)
    p = tickets.add_parser("export", help="a ticket's attachments and raw messages into a folder",
                           description="Write the ticket's attachments and each message as .eml.")  # fmt: skip
    p.add_argument("key", metavar="KEY", help="the ticket key, e.g. LOG-000123")
    p.add_argument("--dir", required=True, type=Path, metavar="DIR",
                   help="the folder to write into (made when missing)")  # fmt: skip
    p.set_defaults(func=cmd_export)


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what}")


def _status(value: str) -> Status:
    try:
        return parse_status(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        rows = views.list_tickets(app, args.status, owner=not args.json)
    return _print_rows(rows, as_json=args.json)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        rows = views.search_tickets(app, args.text, owner=not args.json)
    return _print_rows(rows, as_json=args.json)


def _print_rows(rows: list[dict[str, Any]], *, as_json: bool) -> int:
    if as_json:
        print(terminal.json_text(rows, indent=2))
    elif not rows:
        print("(brak zgłoszeń / no tickets)")
    else:
        cells = [[_cell(name, row[name]) for name in COLUMNS] for row in rows]
        print(terminal.table(list(COLUMNS), cells, width=terminal.width()), end="")
    return 0


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name == "status":
        return Status(value).display
    if isinstance(value, list):
        return ",".join(value) or "-"
    return str(value)


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        detail = views.show_ticket(app, args.key)
        messages = views.conversation(app, args.key) or []
    if detail is None:
        return fail(f"no ticket {args.key}")
    if args.json:
        print(terminal.json_text(detail, indent=2))
    else:
        print(ticketview.render(detail, messages), end="")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        try:
            written = export.export_ticket(app, args.key, args.dir)
        except Refusal as exc:
            return fail(str(exc))
    for path in written:
        print(terminal.safe(path))
    return 0
