"""`mailintake quarantine list|retry`: what could not be handled, and handling it again.

Owns: printing held messages and the outcome of each retry, then flushing
the outbox. Must not hold business rules (`services.quarantine` does).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from mailintake.adapters import terminal
from mailintake.adapters.timefmt import with_offset
from mailintake.cli.shared import fail, opened
from mailintake.config import Settings
from mailintake.errors import MailintakeError
from mailintake.services import outbox, quarantine


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("quarantine", help="what could not be handled").add_subparsers(
        dest="quarantine_command",
        required=True,
        metavar="COMMAND",
        help="list the held messages, or take some in again",
    )
    p = group.add_parser(
        "list",
        help="messages held in quarantine",
        description="List quarantined messages: id, sender, subject, Date, size, reason, "
        "when held.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list (keys id, from, subject, date, size, reason, at, status)",
    )
    p.add_argument("--all", action="store_true", help="also retried and released entries")
    p.set_defaults(func=cmd_quarantine_list)
    p = group.add_parser(
        "retry",
        help="handle held messages again",
        description="Handle quarantined messages again, e.g. after a fix: from the stored "
        "copy, or fetched back from the mailbox's quarantine folder (also one too large to "
        "have been read), then moved to the processed folder.",
    )
    p.add_argument("ids", nargs="+", type=int, metavar="ID", help="ids from `quarantine list`")
    p.set_defaults(func=cmd_quarantine_retry)


def cmd_quarantine_list(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        rows = quarantine.list_held(app, include_done=args.all)
    if args.json:
        print(terminal.json_text(rows, indent=2))
        return 0
    if not rows:
        print("quarantine is empty")
        return 0
    cells = [_cells(row) for row in rows]
    print(terminal.table(list(COLUMNS), cells, width=terminal.width()), end="")
    return 0


COLUMNS = ("id", "held at", "size", "status", "from", "date", "subject", "reason")


def _cells(row: dict[str, Any]) -> list[str]:
    """One entry as a person reads it: Warsaw times with offset, sizes in bytes."""
    return [
        f"#{row['id']}",
        with_offset(datetime.fromisoformat(row["at"])),
        f"{row['size']} B",
        row["status"],
        row["from"] or "-",
        with_offset(datetime.fromisoformat(row["date"])) if row["date"] else "-",
        row["subject"] or "-",
        row["reason"],
    ]


def cmd_quarantine_retry(args: argparse.Namespace, settings: Settings) -> int:
    status = 0
    with opened(settings) as app:
        for quarantine_id in args.ids:
            try:
                outcome = quarantine.retry(app, quarantine_id)
            except MailintakeError as exc:
                status = fail(f"#{quarantine_id}: {exc}")
                continue
            print(f"#{quarantine_id}: {outcome.outcome} {outcome.ticket or ''}".rstrip())
            if outcome.outcome == "quarantined":
                status = 1
        outbox.flush(app, limit=None)
    return status
