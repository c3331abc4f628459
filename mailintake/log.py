"""Structured logging setup (structlog).

Owns: one call, `configure(fmt)`, that sends JSON lines to stdout (for
journald) or readable console lines on a terminal. Events are named
`area.what` (`message.processed`, `mail.sent`, `ticket.status_changed`) and
carry the ticket key; secrets are never logged.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from mailintake.adapters import terminal


def _escaped(_logger: object, _name: str, event: MutableMapping[str, Any]) -> Any:
    """Mail-derived text in a console line with its control characters escaped (issue 10):
    a client's subject `\\x1b[2J` must not clear the operator's terminal. Tracebacks keep
    their line breaks."""
    return {
        key: terminal.safe(value, multiline=key == "exception") if isinstance(value, str) else value
        for key, value in event.items()
    }


def configure(fmt: str = "auto", level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Configure structlog; `fmt` is json, console, or auto (console on a terminal).

    The daemon logs to stdout (journald under systemd); one-shot commands log to
    stderr, so their stdout carries only their output (`ingest --json`, reports).
    """
    stream = stream or sys.stderr
    # mail-parser and flufl.bounce log every repaired MIME oddity through stdlib logging; the
    # intake records those as message defects, so only their errors are worth a line.
    for noisy in ("mailparser", "flufl.bounce"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    renderer = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty())
        if use_console
        else structlog.processors.JSONRenderer()  # json.dumps escapes controls itself
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *([_escaped] if use_console else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
