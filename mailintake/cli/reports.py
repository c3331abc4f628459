"""`mailintake report r1|r2|r3`: the internal queues (SPEC section 8) as table, CSV or JSON.

Owns: the command and its `--now`. Must not hold report rules
(`services.reports` does) or change anything.
"""

from __future__ import annotations

import argparse

from mailintake.cli.shared import opened, parse_now
from mailintake.config import Settings
from mailintake.services import reports


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="the R-1, R-2 and R-3 queues")
    p.add_argument("which", choices=("r1", "r2", "r3"))
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--now", type=parse_now, help="as of this ISO-8601 instant")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, args.now, read_only=True) as app:
        print(reports.render(app, args.which, args.format, app.clock()), end="")
    return 0
