"""The daemon loop: wait for mail (IDLE or polling), take it in, flush the outbox, run due jobs.

Owns: `run(app, stop)` and `run_once(app)`, and the per-message `try` that
keeps one bad message from stopping the rest (STYLE: Mailman's runner). A
message leaves the inbox only after its effects are committed (SPEC section
5); a transient fault leaves it where it is and the loop retries with backoff.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import schedule
import sqlalchemy as sa
import structlog

from mailintake.adapters.inbox import Inbox
from mailintake.bootstrap import App
from mailintake.errors import TransientError
from mailintake.services import intake, outbox, sweeps

log = structlog.get_logger()


@dataclass
class PassResult:
    outcomes: dict[str, int] = field(default_factory=dict)
    transient_error: str | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def take_in(app: App, inbox: Inbox, stop: threading.Event | None = None) -> PassResult:
    """Handle every waiting message; move each away only after its commit."""
    result = PassResult()
    done: list[str] = []
    held: list[str] = []
    try:
        for item in inbox.fetch(app.settings.max_message_bytes):
            outcome = _handle_item(app, item)
            result.count(outcome.outcome)
            (held if outcome.outcome == "quarantined" else done).append(item.ref)
            if len(done) >= 100:
                inbox.mark_processed(done)
                done = []
            if stop is not None and stop.is_set():
                break
    except (TransientError, sa.exc.OperationalError) as exc:
        result.transient_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("intake.transient_error", error=result.transient_error)
    finally:
        if done:
            inbox.mark_processed(done)
        if held:
            inbox.quarantine(held)
    return result


def _handle_item(app: App, item) -> intake.Outcome:
    if item.raw is None:
        return intake.quarantine_unread(app, item.size, item.ref, item.received_at)
    try:
        return intake.handle_message(
            app, item.raw, received_at=item.received_at, source_ref=item.ref
        )
    except (TransientError, sa.exc.OperationalError):
        raise  # the message stays in the inbox; the whole pass is retried later
    except Exception as exc:  # one bad message must not stop the rest (STYLE: Mailman runner)
        log.exception("message.failed", source=item.ref)
        reason = f"{type(exc).__name__}: {exc}"
        return intake.quarantine(app, item.raw, reason, item.ref, item.received_at)


def run_once(app: App) -> PassResult:
    """One full pass: fetch all waiting mail, process, sweep, flush the outbox."""
    inbox = app.open_inbox()
    try:
        result = take_in(app, inbox)
    finally:
        inbox.close()
    sweeps.run_sweeps(app, app.clock())
    outbox.flush(app)
    return result


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """`schedule` does not catch exceptions: one failing job must not end the daemon."""

    def run_job() -> None:
        try:
            job()
        except Exception:
            log.exception("job.failed", job=name)

    return run_job


def make_scheduler(app: App) -> schedule.Scheduler:
    scheduler = schedule.Scheduler()
    scheduler.every(1).minutes.do(guarded("sweep", lambda: sweeps.run_sweeps(app, app.clock())))
    scheduler.every(1).minutes.do(
        guarded("digest", lambda: sweeps.send_digest_if_due(app, app.clock()))
    )
    return scheduler


def run(
    app: App,
    stop: threading.Event,
    on_ready: Callable[[], None] | None = None,
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Run until `stop` is set; transient faults are retried with exponential backoff and jitter."""
    scheduler = make_scheduler(app)
    inbox: Inbox | None = None
    failures = 0
    log.info("daemon.started", inbox=_safe_url(app.settings.inbox_url))
    guarded("sweep", lambda: sweeps.run_sweeps(app, app.clock()))()
    while not stop.is_set():
        try:
            if inbox is None:
                inbox = app.open_inbox()
                if on_ready is not None:
                    on_ready()
                    on_ready = None
            result = take_in(app, inbox, stop)
            if result.transient_error:
                raise TransientError(result.transient_error)
            guarded("outbox", lambda: outbox.flush(app))()
            scheduler.run_pending()
            failures = 0
            if on_tick is not None:
                on_tick()
            if not stop.is_set():
                inbox.wait(min(app.settings.poll_seconds, 30.0), stop)
        except (TransientError, OSError, sa.exc.OperationalError) as exc:
            failures += 1
            delay = min(2**failures, 300) * random.uniform(0.5, 1.0)
            log.warning(
                "daemon.retry", error=str(exc) or type(exc).__name__, in_seconds=round(delay, 1)
            )
            inbox = _close(inbox)
            stop.wait(delay)
    _close(inbox)
    guarded("outbox", lambda: outbox.flush(app))()
    log.info("daemon.stopped")


def _close(inbox: Inbox | None) -> None:
    if inbox is not None:
        try:
            inbox.close()
        except Exception:  # closing a broken connection may fail; it is gone either way
            log.debug("inbox.close_failed")
    return None


def _safe_url(url: str) -> str:
    """The URL without any password, for logs."""
    scheme, _, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    return f"{scheme}://{userinfo.split(':')[0]}{at}{host}" if at else url
