"""`mailintake tickets list|show`: read-only views of tickets for people and tools.

Owns: printing the ticket list and one ticket as text or JSON (SPEC section 9;
the JSON shape is `services.views`'). Must not change anything or hold
business rules.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mailintake.cli.shared import fail, opened
from mailintake.config import Settings
from mailintake.services import views

SHOWN = ("key", "status", "client_email", "client_name", "subject", "created_at", "missing",
         "attempts", "completion_due", "close_after", "auto_close_at", "resolution",
         "close_reason")  # fmt: skip


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tickets = sub.add_parser("tickets", help="list and show tickets").add_subparsers(
        dest="tickets_command", required=True
    )
    p = tickets.add_parser("list")
    p.add_argument("--status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_list)
    p = tickets.add_parser("show")
    p.add_argument("key")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_show)


def cmd_tickets_list(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        rows = views.list_tickets(app, args.status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        missing = ",".join(row["missing"]) or "-"
        print(
            f"{row['key']}  {row['status']:<20} {row['client_email']:<32} {missing:<28} {row['subject']}"
        )
    return 0


def cmd_tickets_show(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        detail = views.show_ticket(app, args.key)
    if detail is None:
        return fail(f"no ticket {args.key}")
    if args.json:
        print(json.dumps(detail, ensure_ascii=False, indent=2))
    else:
        print_detail(detail)
    return 0


def print_detail(detail: dict[str, Any]) -> None:
    """One `name: value` line each: the ticket, its fields, history and messages."""
    for key in SHOWN:
        print(f"{key:>15}: {detail[key]}")
    for code, value in detail["fields"].items():
        print(f"{'field ' + code:>15}: {value}")
    for h in detail["history"]:
        print(f"{'history':>15}: {h['at']} {h['from']} → {h['to']} by {h['by']} ({h['reason']})")
    for m in detail["messages"]:
        print(
            f"{'message ' + m['direction']:>15}: {m['at']} {m['from']} {m['kind']}: {m['subject']}"
        )
