"""`mailintake quarantine list|retry`: what could not be handled, and handling it again.

Owns: printing held messages and the outcome of each retry, then flushing
the outbox. Must not hold business rules (`services.quarantine` does).
"""

from __future__ import annotations

import argparse
import json

from mailintake.cli.shared import fail, opened
from mailintake.config import Settings
from mailintake.errors import MailintakeError
from mailintake.services import outbox, quarantine


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("quarantine", help="what could not be handled").add_subparsers(
        dest="quarantine_command", required=True
    )
    p = group.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="also retried and released entries")
    p.set_defaults(func=cmd_quarantine_list)
    p = group.add_parser("retry")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.set_defaults(func=cmd_quarantine_retry)


def cmd_quarantine_list(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, read_only=True) as app:
        rows = quarantine.list_held(app, include_done=args.all)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(
            f"#{row['id']:<5} {row['at'][:19]}  {row['size']:>10} B  {row['status']:<8} {row['reason']}"
        )
    if not rows:
        print("quarantine is empty")
    return 0


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
