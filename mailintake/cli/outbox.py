"""`mailintake outbox list|retry`: outgoing mail as ops see it, and sending it again (SPEC §9).

Owns: printing outbox rows as a small table (Warsaw times with offset) or the SPEC JSON, and queueing
rows again (then flushing, unless `--no-send`). Must not hold business rules
(`services.outboxops` and `services.outbox` do).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailintake.adapters import terminal
from mailintake.adapters.timefmt import with_offset
from mailintake.cli.shared import fail, opened
from mailintake.config import Settings
from mailintake.errors import Refusal
from mailintake.services import outbox, outboxops


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("outbox", help="outgoing mail: list, send again").add_subparsers(
        dest="outbox_command", required=True, metavar="COMMAND", help="list, or send again"
    )
    p = group.add_parser(
        "list",
        help="outbox rows, oldest first (all of them by default)",
        description="List outgoing mail, oldest first: id, status, when queued (Warsaw time "
        "with offset), attempts, ticket, recipient, subject; the last error of unsent rows.",
    )
    p.add_argument("--status", choices=outboxops.STATUSES, help="only rows of this status")
    p.add_argument("--json", action="store_true", help="print a JSON list of the rows")
    p.set_defaults(func=cmd_outbox_list)
    p = group.add_parser(
        "retry",
        help="send failed or waiting rows again, now",
        description="Queue failed or waiting outgoing mail again and send it at once "
        "(give row ids, or --all).",
    )
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="ids from `outbox list`")
    p.add_argument("--all", action="store_true", help="every failed and waiting row")
    p.add_argument("--no-send", action="store_true", help="queue them without flushing")
    p.set_defaults(func=cmd_outbox_retry)


def cmd_outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        rows = outboxops.list_rows(app, args.status)
    if args.json:
        print(terminal.json_text(rows, indent=2))
        return 0
    for row in rows:
        when = with_offset(_instant(row["created_at"])) or "-"
        # Addresses, subjects and server replies come from mail: shown escaped (issue 10).
        to, subject = terminal.safe(row["to"]), terminal.safe(row["subject"] or "")
        print(f"#{row['id']:<6} {row['status']:<8} {when}  {row['attempts']:>3}x  "
              f"{row['ticket'] or '-':<11} {to:<32} {subject}")  # fmt: skip
        if row["last_error"] and row["status"] != "sent":
            print(f"{'':8}{terminal.safe(row['last_error'].splitlines()[0][:120])}")
    if not rows:
        print("outbox is empty" if args.status is None else f"no {args.status} mail")
    return 0


def _instant(value: str | None) -> datetime | None:
    """A stored ISO-8601 instant; one without an offset is UTC (SQLite keeps none)."""
    if not value:
        return None
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def cmd_outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.all) == bool(args.ids):
        return fail("outbox retry: give row ids or --all, not both")
    with opened(settings) as app:
        try:
            queued = outboxops.retry(app, None if args.all else args.ids, app.clock())
        except Refusal as exc:
            return fail(str(exc))
        for row_id in queued:
            print(f"#{row_id}: queued")
        if not queued:
            print("nothing failed or waiting: nothing to send again")
        if not args.no_send and queued:
            counts = outbox.flush(app, limit=None)
            waiting = outbox.waiting_count(app)
            print(f"sent {counts['sent']}, failed {counts['failed']}, still waiting {waiting}")
    return 0
