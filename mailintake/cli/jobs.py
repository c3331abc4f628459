"""`mailintake ingest` and `mailintake sweep`: the daemon's jobs run once, by hand or by an MTA.

Owns: reading raw messages from files or stdin and printing one line (or JSON
object) per outcome, printing the sweep's counts, and flushing the outbox
afterwards unless `--no-send`. A transient fault exits 75 so an MTA retries.
Must not hold business rules (`services.intake`, `services.sweeps` do).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import sqlalchemy as sa

from mailintake.adapters import terminal
from mailintake.cli.shared import EX_TEMPFAIL, fail, first_line, opened, parse_now
from mailintake.config import Settings
from mailintake.errors import TransientError
from mailintake.services import intake, outbox, sweeps
from mailintake.services.outcome import Outcome


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ingest",
        help="process raw messages from files or stdin",
        description="Take in raw RFC 5322 messages from files or stdin (an MTA pipe); "
        "exit 75 on a temporary fault so the MTA retries.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="message files; - or none: stdin")
    p.add_argument("--json", action="store_true", help="one JSON line per message")
    p.add_argument(
        "--no-send", action="store_true", help="queue answers without flushing the outbox"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "sweep",
        help="run the deadline sweep once, and the daily digest when it is due",
        description="Take every deadline action due (reminders, closings, suspensions) and "
        "queue the daily digest when it is due at that instant; print the counts as JSON.",
    )
    p.add_argument(
        "--now",
        type=parse_now,
        help="act as of this ISO-8601 instant with offset, e.g. 2026-12-02T07:30:00+01:00 "
        "(default: now)",
    )
    p.add_argument("--no-send", action="store_true", help="queue mail without flushing the outbox")
    p.set_defaults(func=cmd_sweep)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    status = 0
    with opened(settings) as app:
        for name in args.files or ["-"]:
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as exc:
                status = fail(f"{name}: {exc.strerror or exc}")
                continue
            try:
                outcome = intake.handle_message(app, raw, source_ref=f"file:{name}")
            except (TransientError, sa.exc.OperationalError, OSError) as exc:
                return fail(f"temporary failure on {name}: {first_line(exc)}", EX_TEMPFAIL)
            print_outcome(name, outcome, as_json=args.json)
        if not args.no_send:
            outbox.flush(app, limit=None)
        return status


def print_outcome(name: str, outcome: Outcome, *, as_json: bool) -> None:
    """`file: created LOG-000123`, or the SPEC section 9 JSON line."""
    if not as_json:
        print(f"{name}: {outcome.outcome} {outcome.ticket or ''}".rstrip(), flush=True)
        return
    line = {
        "file": name,
        "outcome": outcome.outcome,
        "ticket": outcome.ticket,
        "message_id": outcome.message_id,
    }
    print(terminal.json_text(line), flush=True)


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, args.now) as app:
        counts = sweeps.run_sweeps(app, app.clock())
        counts["digest"] = int(sweeps.send_digest_if_due(app, app.clock()))
        if not args.no_send:
            outbox.flush(app, limit=None)
    print(json.dumps(counts))
    return 0
