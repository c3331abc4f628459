"""`mailintake report r1|r2|r3|r4`: the internal queues (SPEC section 8) as table, CSV or JSON.

Owns: the command, its `--format` and `--now`. Must not hold report rules
(`services.reports` does) or change anything.
"""

from __future__ import annotations

import argparse
import sys

from mailintake.adapters import terminal
from mailintake.cli.shared import opened, parse_now
from mailintake.config import Settings
from mailintake.services import reports

REPORT_HELP = """\
r1: tickets in NOWY, with what is missing and the completion deadlines;
r2: ANALIZA and W TRAKCIE with their SLA;
r3: ROZWIĄZANY with whether the SLA was met;
r4: CZEKA NA POPRAWKĘ / PUBLIKACJĘ with the ETA against the SLA"""


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="the R-1 to R-4 queues as a table, CSV, JSON or CSV for Excel",
        description="Print one of the internal queue reports R-1 to R-4.",
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("which", choices=tuple(reports.REPORTS), help=REPORT_HELP)
    p.add_argument(
        "--format",
        choices=reports.FORMATS,
        default="table",
        help="table: for people, Warsaw local times (default);\n"
        "csv: one row per ticket, RFC 4180, formula-like cells quoted with ';\n"
        "json: a list of objects, instants in ISO-8601 with offset;\n"
        "excel: CSV that Polish Excel opens as a sheet (UTF-8 with BOM, ';',\n"
        "Polish headers, Warsaw local times, decimal comma)",
    )
    p.add_argument(
        "--now",
        type=parse_now,
        help="report as of this ISO-8601 instant with offset (default: now)",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    with opened(settings, args.now, read_only=True) as app:
        out = reports.render(app, args.which, args.format, app.clock(), width=terminal.width(),
                             tty=sys.stdout.isatty())  # fmt: skip
    print(out, end="")
    return 0
