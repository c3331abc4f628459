"""`mailintake run`: the daemon as a service, or one full pass with `--once`.

Owns: signals (SIGTERM/SIGINT stop after the message in hand, SIGHUP re-reads
templates and the clients file), sd_notify(3) and the metrics server around
`daemon.run`, one daemon per SQLite state directory and database file
(`adapters.daemonlock`),
and the checks before READY. Must not hold the loop itself
(`daemon` does) or business rules.
"""

from __future__ import annotations

import argparse
import signal
import threading

import sqlalchemy as sa
import structlog

from mailintake import daemon
from mailintake.adapters.daemonlock import DaemonLock
from mailintake.adapters.database import sqlite_path
from mailintake.adapters.metrics import Metrics
from mailintake.adapters.sdnotify import Notifier
from mailintake.app import App
from mailintake.bootstrap import reload as reload_app
from mailintake.bootstrap import require_current_schema
from mailintake.cli.shared import EX_TEMPFAIL, fail, first_line, opened
from mailintake.config import Settings
from mailintake.errors import ConfigError
from mailintake.services import outbox

log = structlog.get_logger()


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="the daemon: intake, outbox, deadline sweeps, digest",
        description="Run the daemon until SIGTERM: read the mailbox (IDLE, else polling), "
        "send the outbox, take deadline actions and send the daily digest.",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="one full pass (all waiting mail, the sweep, the outbox), then exit; "
        "non-zero when mail is left in the outbox",
    )
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.staff_auth == "none" and settings.staff:
        log.warning(
            "config.staff_auth_none", hint="staff commands are trusted on the From address alone"
        )
    database = sqlite_path(settings.database_url) if settings.is_sqlite else None
    lock = DaemonLock(settings.state_dir, database) if settings.is_sqlite else None
    if lock is not None:
        lock.acquire()  # StateError naming the holder: one daemon per SQLite state directory
    try:
        with opened(settings, schema_checked=args.once) as app:
            return run_once(app) if args.once else serve(app)
    finally:
        if lock is not None:
            lock.release()


def run_once(app: App) -> int:
    """One pass; non-zero when intake met a transient fault or mail was left unsent."""
    failed_before = outbox.failed_ids(app)
    result = daemon.run_once(app)
    log.info("run.once_done", outcomes=result.outcomes, error=result.transient_error)
    if result.transient_error:
        return fail(f"temporary failure: {result.transient_error}", EX_TEMPFAIL)
    left = outbox.left_behind(app, failed_before)
    if left:
        retrying = [row for row in left if row.status == "pending"]
        error = (left[0].last_error or "").splitlines()[0] if left[0].last_error else "?"
        return fail(
            f"{len(left)} message(s) left in the outbox, the SMTP server refused them "
            f"({len(retrying)} to retry later): {error}",
            EX_TEMPFAIL if retrying else 1,
        )
    return 0


def serve(app: App) -> int:
    """The daemon as a service: signals, sd_notify(3) and metrics around `daemon.run`."""
    try:
        require_current_schema(app.engine)  # StateError: exit 1 at once
    except sa.exc.OperationalError as exc:  # the database is away: the loop waits for it
        log.warning("daemon.database_unreachable", error=first_line(exc))
    notifier = Notifier.from_environ()
    stop = threading.Event()

    def on_stop(*_: object) -> None:
        notifier.stopping()
        stop.set()  # the loop finishes the message in hand, then flushes the outbox

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_stop)
    signal.signal(signal.SIGHUP, lambda *_: reload(app))
    metrics = start_metrics(app)
    monitor = daemon.Monitors(notifier, *([metrics] if metrics else []))
    try:
        daemon.run(app, stop, lambda: _ready(app, notifier), notifier.watchdog, monitor=monitor)
    finally:
        if metrics is not None:
            metrics.close()
        notifier.close()
    return 0


def _ready(app: App, notifier: Notifier) -> None:
    """Mailbox (checked by the loop), SMTP and database answer: tell the service manager."""
    require_current_schema(app.engine)  # unreachable: the loop retries; behind: exit 1
    app.mailer.check()
    notifier.ready("mailbox, SMTP and database reachable")
    log.info("daemon.ready")


def reload(app: App) -> None:
    """SIGHUP: templates and clients file again; a broken file keeps the old settings."""
    try:
        reload_app(app)
    except Exception as exc:  # a signal handler must never raise into the loop
        log.error("daemon.reload_failed", error=first_line(exc))
        return
    log.info("daemon.reloaded", clients_file=str(app.settings.clients_file))


def start_metrics(app: App) -> Metrics | None:
    """The /metrics and /healthz server when MAILINTAKE_METRICS_ADDRESS is set."""
    address = app.settings.metrics_address
    if not address:
        return None
    tokens = app.token_provider
    metrics = Metrics(
        app.engine,
        poll_interval=min(app.settings.poll_seconds, 30.0),
        problem=(lambda: tokens.last_error) if tokens is not None else None,
    )
    try:
        metrics.serve(address)
    except OSError as exc:
        raise ConfigError(f"MAILINTAKE_METRICS_ADDRESS: cannot listen on {address}: {exc}") from exc
    return metrics
