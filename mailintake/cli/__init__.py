"""The `mailintake` command (SPEC section 9): subcommand → one service call → exit code.

Owns: the parser, reading the settings, logging set-up and turning errors
into exit codes; one module per command group (`run`, `jobs`, `tickets`,
`schema`, `reports`, `quarantine`, `outbox`, `check`) adds its subcommands. Exit 0 on success;
otherwise a one-line reason on stderr and non-zero (75, EX_TEMPFAIL, on a
transient fault so an MTA retries). Must not hold business rules (services
do) or be imported by services; `mailintake.cli:main` is the console entry.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Callable

import sqlalchemy as sa

from mailintake import log as logsetup
from mailintake import testhooks
from mailintake.cli import check, jobs, outbox, quarantine, reports, run, schema, tickets
from mailintake.cli.shared import EX_TEMPFAIL, fail, first_line
from mailintake.config import Settings, load_settings
from mailintake.errors import ConfigError, MailintakeError, TransientError

GROUPS = (run, jobs, tickets, schema, reports, quarantine, outbox, check)
DESCRIPTION = (
    "Support ticket intake by e-mail: the daemon, and the commands ops and staff use on "
    "its tickets, reports, quarantine and outbox. Settings come from the environment "
    "and --env-file. Exit 0 on success; otherwise a one-line reason on stderr (75: a "
    "temporary fault, try again)."
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    testhooks.install_from_environ()
    try:
        settings = load_settings(args.env_file)
        daemon_mode = args.command == "run"
        logsetup.configure(settings.log_format, stream=sys.stdout if daemon_mode else sys.stderr)
        command: Callable[[argparse.Namespace, Settings], int] = args.func
        status = command(args, settings)
        sys.stdout.flush()  # inside the try: a reader that went away is not an error
        return status
    except BrokenPipeError:
        # `mailintake tickets list | head`: the reader has all it wanted; leave quietly
        # (and keep the interpreter's final flush from complaining about the closed pipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except (TransientError, sa.exc.OperationalError) as exc:
        return fail(f"temporary failure: {first_line(exc)}", EX_TEMPFAIL)
    except MailintakeError as exc:
        return fail(str(exc))
    except ConnectionError as exc:  # a server went away mid-command: try again later
        return fail(f"temporary failure: {first_line(exc)}", EX_TEMPFAIL)
    except OSError as exc:  # a path ops gave that cannot be read or written: say which
        return fail(f"{exc.strerror or first_line(exc)}: {exc.filename or ''}".rstrip(": "))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailintake", description=DESCRIPTION)
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {importlib.metadata.version('mailintake')}",
    )
    parser.add_argument(
        "--env-file", help="settings file; it must exist (default: ./.env when there is one)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="run `mailintake COMMAND --help` for its options")  # fmt: skip
    for group in GROUPS:
        group.add_commands(sub)
    return parser
