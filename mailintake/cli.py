"""The `mailintake` command (SPEC section 9): subcommand → one service call → exit code.

Owns: argument parsing, output formats and exit codes; no business rules.
Exit 0 on success; otherwise a one-line reason on stderr and non-zero (75,
EX_TEMPFAIL, from `ingest` on a transient fault so an MTA retries).
"""

from __future__ import annotations

import argparse
import json
import signal
import smtplib
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import structlog
from imapclient.exceptions import LoginError

from mailintake import log as logsetup
from mailintake.app import App
from mailintake.bootstrap import build_app
from mailintake.bootstrap import reload as reload_app
from mailintake.config import Settings, load_settings
from mailintake.errors import ConfigError, MailintakeError, TransientError

EX_TEMPFAIL = 75
log = structlog.get_logger()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env_file)
        daemon_mode = args.command == "run"
        logsetup.configure(settings.log_format, stream=sys.stdout if daemon_mode else sys.stderr)
        return args.func(args, settings)
    except ConfigError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except (TransientError, sa.exc.OperationalError) as exc:
        return fail(f"temporary failure: {_first_line(exc)}", EX_TEMPFAIL)
    except MailintakeError as exc:
        return fail(str(exc))


def fail(reason: str, code: int = 1) -> int:
    print(f"mailintake: {reason}", file=sys.stderr)
    return code


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
def opened(settings: Settings, now: datetime | None = None) -> Iterator[App]:
    """The app for one command, closed after it; `--now` fixes its clock."""
    app = build_app(settings) if now is None else build_app(settings, clock=lambda: now)
    try:
        yield app
    finally:
        app.close()


# -- commands --------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake import daemon

    if settings.staff_auth == "none" and settings.staff:
        log.warning(
            "config.staff_auth_none", hint="staff commands are trusted on the From address alone"
        )
    with opened(settings) as app:
        if args.once:
            result = daemon.run_once(app)
            log.info("run.once_done", outcomes=result.outcomes, error=result.transient_error)
            return (
                fail(f"temporary failure: {result.transient_error}", EX_TEMPFAIL)
                if (result.transient_error)
                else 0
            )
        return serve(app)


def serve(app: App) -> int:
    """The daemon as a service: signals, sd_notify(3) and metrics around `daemon.run`."""
    from mailintake import daemon
    from mailintake.adapters.sdnotify import Notifier

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

    def on_ready() -> None:
        _require_database(app)
        app.mailer.check()
        notifier.ready("mailbox, SMTP and database reachable")
        log.info("daemon.ready")

    try:
        daemon.run(app, stop, on_ready, notifier.watchdog, monitor=monitor)
    finally:
        if metrics is not None:
            metrics.close()
        notifier.close()
    return 0


def reload(app: App) -> None:
    """SIGHUP: templates and clients file again; a broken file keeps the old settings."""
    try:
        reload_app(app)
    except Exception as exc:  # a signal handler must never raise into the loop
        log.error("daemon.reload_failed", error=_first_line(exc))
        return
    log.info("daemon.reloaded", clients_file=str(app.settings.clients_file))


def _require_database(app: App) -> None:
    """Reachable and at the current schema; otherwise the loop retries (not READY yet)."""
    from mailintake.adapters import migrate

    pending = migrate.pending(app.engine)
    if pending:
        raise TransientError(
            f"migrations pending: {', '.join(pending)} (run: mailintake db upgrade)"
        )


def start_metrics(app: App):
    """The /metrics and /healthz server when MAILINTAKE_METRICS_ADDRESS is set."""
    from mailintake.adapters.metrics import Metrics

    address = app.settings.metrics_address
    if not address:
        return None
    tokens = getattr(app, "token_provider", None)
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


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.services import intake, outbox

    sources = args.files or ["-"]
    status = 0
    with opened(settings) as app:
        for name in sources:
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as exc:
                status = fail(f"{name}: {exc.strerror or exc}")
                continue
            try:
                outcome = intake.handle_message(app, raw, source_ref=f"file:{name}")
            except (TransientError, sa.exc.OperationalError, OSError) as exc:
                return fail(f"temporary failure on {name}: {_first_line(exc)}", EX_TEMPFAIL)
            if args.json:
                print(
                    json.dumps(
                        {
                            "file": name,
                            "outcome": outcome.outcome,
                            "ticket": outcome.ticket,
                            "message_id": outcome.message_id,
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
            else:
                print(f"{name}: {outcome.outcome} {outcome.ticket or ''}".rstrip(), flush=True)
        if not args.no_send:
            outbox.flush(app, limit=None)
        return status


def cmd_tickets_list(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.services import views

    with opened(settings) as app:
        rows = views.list_tickets(app, args.status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        missing = ",".join(row["missing"]) or "-"
        print(
            f"{row['key']}  {row['status']:<20} {row['client_email']:<32} {missing:<28} {row['subject']}"
        )
    return 0


def cmd_tickets_show(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.services import views

    with opened(settings) as app:
        detail = views.show_ticket(app, args.key)
    if detail is None:
        return fail(f"no ticket {args.key}")
    if args.json:
        print(json.dumps(detail, ensure_ascii=False, indent=2))
        return 0
    for key in (
        "key",
        "status",
        "client_email",
        "client_name",
        "subject",
        "created_at",
        "missing",
        "attempts",
        "completion_due",
        "close_after",
        "auto_close_at",
        "resolution",
        "close_reason",
    ):
        print(f"{key:>15}: {detail[key]}")
    for code, value in detail["fields"].items():
        print(f"{'field ' + code:>15}: {value}")
    for h in detail["history"]:
        print(f"{'history':>15}: {h['at']} {h['from']} → {h['to']} by {h['by']} ({h['reason']})")
    for m in detail["messages"]:
        print(
            f"{'message ' + m['direction']:>15}: {m['at']} {m['from']} {m['kind']}: {m['subject']}"
        )
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.adapters import db, migrate

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    print("database schema is up to date")
    return 0


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.services import outbox, sweeps

    with opened(settings, args.now) as app:
        counts = sweeps.run_sweeps(app, app.clock())
        if not args.no_send:
            outbox.flush(app, limit=None)
    print(json.dumps(counts))
    return 0


def cmd_quarantine_list(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.services import quarantine

    with opened(settings) as app:
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
    from mailintake.services import outbox, quarantine

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


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """One line per check, OK or the precise reason; non-zero when any fails."""
    from mailintake.adapters import db, migrate
    from mailintake.adapters.oauth2 import make_token_provider
    from mailintake.bootstrap import inbox_for, mailer_for

    print("OK   configuration")
    tokens = make_token_provider(settings)

    def oauth2() -> str:
        assert tokens is not None
        tokens.token()  # raises TransientError naming the endpoint and its answer
        return ""

    def database() -> str:
        if settings.is_sqlite:
            settings.state_dir.mkdir(parents=True, exist_ok=True)  # as `run` would
        engine = db.make_engine(settings.database_url)
        try:
            pending = migrate.pending(engine)
        finally:
            engine.dispose()
        if pending and settings.is_sqlite:
            return f" ({len(pending)} migrations pending; `mailintake run` applies them on SQLite)"
        if pending:
            raise MailintakeError(
                f"migrations pending: {', '.join(pending)} (run: mailintake db upgrade)"
            )
        return ""

    def mailbox() -> str:
        inbox = inbox_for(settings, tokens)
        try:
            inbox.check()
        finally:
            inbox.close()
        return ""

    def smtp() -> str:
        mailer = mailer_for(settings, tokens)
        try:
            mailer.check()
        finally:
            mailer.close()
        return ""

    failed = 0
    probes = [("database", database), ("mailbox", mailbox), ("smtp", smtp)]
    if tokens is not None:
        probes.insert(1, (f"oauth2 ({tokens.provider})", oauth2))
    for name, probe in probes:
        try:
            note = probe()
            print(f"OK   {name}{note or ''}")
        except Exception as exc:  # every failure is reported, none stops the other checks
            failed += 1
            print(f"FAIL {name}: {check_reason(exc)}")
    return 1 if failed else 0


def check_reason(exc: BaseException) -> str:
    """What went wrong in words ops search for, then the server's own message."""
    detail = _first_line(exc)
    causes = _causes(exc)
    if any(isinstance(c, (LoginError, smtplib.SMTPAuthenticationError)) for c in causes):
        return f"authentication failed: {detail}"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return f"TLS error: {detail}"
    if isinstance(exc, ConfigError) and "cannot open folder" in detail:
        return f"folder missing: {detail}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"connection refused: {detail}"
    if any(isinstance(c, TimeoutError) for c in causes):
        return f"timed out: {detail}"
    return detail


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it was raised from (adapters wrap library errors)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from mailintake.services import reports

    with opened(settings, args.now) as app:
        print(reports.render(app, args.which, args.format, app.clock()), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailintake", description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=".env", help="settings file (default ./.env)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="the daemon: intake, outbox, deadline sweeps, digest")
    p.add_argument("--once", action="store_true", help="one full pass, then exit")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ingest", help="process raw messages from files or stdin")
    p.add_argument("files", nargs="*", metavar="FILE", help="message files; - or none: stdin")
    p.add_argument("--json", action="store_true", help="one JSON line per message")
    p.add_argument(
        "--no-send", action="store_true", help="queue answers without flushing the outbox"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sweep", help="run the deadline sweep once")
    p.add_argument("--now", type=parse_now, help="as of this ISO-8601 instant")
    p.add_argument("--no-send", action="store_true", help="queue mail without flushing the outbox")
    p.set_defaults(func=cmd_sweep)

    tickets = sub.add_parser("tickets", help="list and show tickets").add_subparsers(
        dest="tickets_command", required=True
    )
    p = tickets.add_parser("list")
    p.add_argument("--status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_list)
    p = tickets.add_parser("show")
    p.add_argument("key")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_show)

    dbp = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    dbp.add_parser("upgrade", help="apply schema migrations").set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("report", help="the R-1, R-2 and R-3 queues")
    p.add_argument("which", choices=("r1", "r2", "r3"))
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--now", type=parse_now, help="as of this ISO-8601 instant")
    p.set_defaults(func=cmd_report)

    quarantine = sub.add_parser("quarantine", help="what could not be handled").add_subparsers(
        dest="quarantine_command", required=True
    )
    p = quarantine.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="also retried and released entries")
    p.set_defaults(func=cmd_quarantine_list)
    p = quarantine.add_parser("retry")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.set_defaults(func=cmd_quarantine_retry)

    sub.add_parser(
        "check", help="validate configuration, connect to mailbox, SMTP and database"
    ).set_defaults(func=cmd_check)
    return parser


if __name__ == "__main__":
    sys.exit(main())
