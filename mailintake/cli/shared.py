"""What every subcommand shares: exit codes, one-line failures, `--now` and the app of one run.

Owns: `fail` (the one-line reason on stderr), `first_line` of an error,
`parse_now` (the `--now` door into the clock) and `opened` (an `App` built for
one command and closed after it). Must not import a command module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from mailintake.app import App, utc_now
from mailintake.bootstrap import build_app, require_current_schema
from mailintake.config import Settings
from mailintake.errors import first_line as first_line  # the commands' one-line reasons

EX_TEMPFAIL = 75  # sysexits.h: an MTA piping to `ingest` retries later


def fail(reason: str, code: int = 1) -> int:
    print(f"mailintake: {reason}", file=sys.stderr)
    return code


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 instant: {value!r}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--now needs an offset, e.g. {value}+01:00")
    return parsed.astimezone(UTC)


@contextmanager
def opened(
    settings: Settings,
    now: datetime | None = None,
    *,
    read_only: bool = False,
    schema_checked: bool = True,
) -> Iterator[App]:
    """The app for one command, closed after it; `--now` fixes its clock.

    `read_only` commands never create state (no database: `StateError`). A database whose
    schema is behind stops the command at once (`StateError`), unless `schema_checked` is
    False (the daemon checks it itself once the database answers).
    """
    clock = (lambda: now) if now is not None else utc_now
    app = build_app(settings, clock=clock, read_only=read_only)
    try:
        if schema_checked:
            require_current_schema(app.engine)
        yield app
    finally:
        app.close()
