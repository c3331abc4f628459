"""The daemon loop: wait for mail (IDLE or polling), take it in, flush the outbox, run due jobs.

Owns: `run(app, stop)` and `run_once(app)`, and the per-message `try` that
hands each message to the intake's guard, which keeps one bad message from
stopping the rest (STYLE: Mailman's runner). A
message leaves the inbox only after its effects are committed (SPEC section
5); a transient fault leaves it where it is and the loop retries with backoff.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import schedule
import sqlalchemy as sa
import structlog

from mailintake.adapters import leader, schedule_clock
from mailintake.adapters.inbox import Inbox, InboxItem
from mailintake.app import App
from mailintake.errors import TransientError, first_line
from mailintake.services import alerts, deployment, holding, intake, outbox, sweeps
from mailintake.services.outcome import Arrival, Outcome

log = structlog.get_logger()

# After SIGTERM the outbox may send this long; `TimeoutStopSec` in the systemd unit covers it,
# the IMAP exchange in hand and one SMTP exchange begun at its end (tests/e2e/test_watchdog.py).
STOP_FLUSH_SECONDS = 20


@dataclass
class PassResult:
    outcomes: dict[str, int] = field(default_factory=dict)
    transient_error: str | None = None
    unstamped: int = 0  # mail our border MTA did not stamp (services.deployment)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.outcome] = self.outcomes.get(outcome.outcome, 0) + 1
        self.unstamped += outcome.unstamped


class Monitor(Protocol):
    """Who watches the loop: metrics and the service manager's status line."""

    def passed(self, outcomes: dict[str, int], reading: bool) -> None:
        """A pass ended well; `reading` is False while another instance reads the mailbox."""
        ...

    def fault(self, kind: str, detail: str = "") -> None:
        """The loop failed: `kind` is a short label (metrics), `detail` says what is wrong."""
        ...

    def progressed(self) -> None:
        """Long work is moving on (a message, an outbox row, a ticket swept): not a hang."""
        ...

    def noted(self, kind: str) -> None:
        """Something worth counting that is not the loop's fault (e.g. unstamped mail)."""
        ...


class Monitors:
    """Several monitors as one."""

    def __init__(self, *monitors: Monitor) -> None:
        self.monitors = monitors

    def passed(self, outcomes: dict[str, int], reading: bool) -> None:
        for monitor in self.monitors:
            monitor.passed(outcomes, reading)

    def fault(self, kind: str, detail: str = "") -> None:
        for monitor in self.monitors:
            monitor.fault(kind, detail)

    def progressed(self) -> None:
        for monitor in self.monitors:
            monitor.progressed()

    def noted(self, kind: str) -> None:
        for monitor in self.monitors:
            monitor.noted(kind)


def take_in(
    app: App,
    inbox: Inbox,
    stop: threading.Event | None = None,
    on_item: Callable[[], None] | None = None,
) -> PassResult:
    """Handle every waiting message, `intake.BATCH` per transaction; move each batch away
    only after its commit (SPEC section 5)."""
    result = PassResult()
    done: list[str] = []
    held: list[str] = []
    try:
        for batch in _batches(inbox.fetch(app.settings.max_message_bytes), intake.BATCH):
            # on_item after every message: a long pass over a full mailbox is progress, not a hang
            for item, outcome in zip(batch, _handle_batch(app, batch, on_item), strict=True):
                if outcome is None:  # in hand elsewhere: left where it is for its holder
                    continue
                result.count(outcome)
                (held if outcome.outcome == "quarantined" else done).append(item.ref)
            if len(done) >= 100:
                inbox.mark_processed(done)
                done = []
            if stop is not None and stop.is_set():
                break
    except (TransientError, sa.exc.OperationalError) as exc:
        result.transient_error = first_line(exc)
        log.warning("intake.transient_error", error=result.transient_error)
    finally:
        _move_away(app, inbox, done, held)
    return result


def _batches(items: Iterable[InboxItem], size: int) -> Iterator[list[InboxItem]]:
    batch: list[InboxItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _move_away(app: App, inbox: Inbox, done: list[str], held: list[str]) -> None:
    """Both moves are tried even when the first is refused; then the first fault is raised
    (the messages stay in the inbox: the next pass sees them again, with no second effect).
    Where the mailbox keeps each held message is recorded for `quarantine retry`."""
    faults: list[Exception] = []
    moves = (
        (inbox.mark_processed, done),
        (lambda r: holding.record_held(app, inbox.quarantine(r)), held),
    )
    for move, refs in moves:
        if refs:
            try:
                move(refs)
            except (TransientError, OSError) as exc:
                faults.append(exc)
    if faults:
        raise faults[0]


def _handle_batch(
    app: App, items: list[InboxItem], progress: Callable[[], None] | None
) -> list[Outcome | None]:
    """The batch through the intake's guard; a transient fault leaves it all in the inbox,
    a message another live process holds (None) stays there for it."""
    unread = {i: holding.quarantine_unread(app, item.size, item.ref, item.received_at, item.head)
              for i, item in enumerate(items) if item.raw is None}  # fmt: skip
    arrivals = [Arrival(item.raw, item.received_at, item.ref)
                for item in items if item.raw is not None]  # fmt: skip
    tick = progress or (lambda: None)
    taken = iter(intake.handle_batch(app, arrivals, progress=tick) if arrivals else [])
    return [unread[i] if i in unread else next(taken) for i in range(len(items))]


def run_once(app: App) -> PassResult:
    """One full pass: fetch all waiting mail, process, sweep, flush the outbox."""
    inbox = app.open_inbox()
    try:
        result = take_in(app, inbox)
    finally:
        inbox.close()
    sweeps.run_sweeps(app, app.clock())
    outbox.flush(app, limit=None)
    return result


Fault = Callable[[str, str], None]  # Monitor.fault: (kind, detail)


def guarded(
    name: str, job: Callable[[], object], on_fault: Fault | None = None
) -> Callable[[], None]:
    """`schedule` does not catch exceptions: one failing job must not end the daemon."""

    def run_job() -> None:
        try:
            job()
        except Exception as exc:
            log.exception("job.failed", job=name)
            if on_fault is not None:
                on_fault(f"job_{name}", f"{name}: {first_line(exc)}")

    return run_job


def make_scheduler(
    app: App, on_fault: Fault | None = None, progress: Callable[[], None] | None = None
) -> schedule.Scheduler:
    scheduler = schedule.Scheduler()
    scheduler.every(1).minutes.do(
        guarded("sweep", lambda: sweeps.run_sweeps(app, app.clock(), progress), on_fault)
    )
    scheduler.every(1).minutes.do(
        guarded("digest", lambda: sweeps.send_digest_if_due(app, app.clock()), on_fault)
    )
    return scheduler


def run(
    app: App,
    stop: threading.Event,
    on_ready: Callable[[], None] | None = None,
    on_tick: Callable[[], None] | None = None,
    *,
    monitor: Monitor | None = None,
) -> None:
    """Run until `stop` is set; transient faults are retried with exponential backoff and jitter.

    `on_ready` is called once, after the mailbox answered; `on_tick` (the systemd
    watchdog) after every message, outbox row and swept ticket, every pass and
    every wait slice, and `monitor.progressed` after every piece of work. With
    several instances on one PostgreSQL database only the holder of the mailbox
    lock reads mail; all of them flush the outbox and run the sweeps (row locks
    and outbox claims keep those single). After `stop` the outbox gets
    `STOP_FLUSH_SECONDS` more; what is left waits for the next start.
    """
    loop = Loop(app, stop, on_ready, on_tick or (lambda: None), monitor)
    log.info("daemon.started", inbox=_safe_url(app.settings.inbox_url))
    loop.guard("sweep", lambda: sweeps.run_sweeps(app, app.clock(), loop.progress))
    try:
        while not stop.is_set():
            loop.step()
    finally:
        loop.close()
    loop.guard("outbox", loop.last_flush)
    log.info("daemon.stopped")


class Loop:
    """The daemon's state between passes: the mailbox lock, the open inbox, the fault count."""

    def __init__(
        self,
        app: App,
        stop: threading.Event,
        on_ready: Callable[[], None] | None,
        tick: Callable[[], None],
        monitor: Monitor | None,
    ) -> None:
        self.app = app
        self.stop = stop
        self.on_ready = on_ready
        self.tick = tick
        self.monitor = monitor
        self.on_fault = monitor.fault if monitor is not None else None
        self.scheduler = make_scheduler(app, self.on_fault, self.progress)
        self.lock = leader.mailbox_lock(app.engine, _safe_url(app.settings.inbox_url))
        self.inbox: Inbox | None = None
        self.failures = 0

    def guard(self, name: str, job: Callable[[], object]) -> None:
        guarded(name, job, self.on_fault)()

    def progress(self) -> None:
        """Work moved on (a message, an outbox row, a swept ticket): alive and healthy."""
        self.tick()
        if self.monitor is not None:
            self.monitor.progressed()

    def flush(self) -> None:
        """The outbox, row by row, until done or `stop` (the rest waits for the next pass)."""
        outbox.flush(self.app, progress=self.progress, should_stop=self.stop.is_set)

    def last_flush(self) -> None:
        """After `stop`: what the outbox can send in STOP_FLUSH_SECONDS (systemd waits longer)."""
        until = time.monotonic() + STOP_FLUSH_SECONDS
        outbox.flush(self.app, progress=self.tick, should_stop=lambda: time.monotonic() > until)

    def step(self) -> None:
        """One pass and the wait after it; a transient fault backs off instead."""
        try:
            self._pass()
        except (TransientError, OSError, sa.exc.OperationalError) as exc:
            self._back_off(exc)

    def _pass(self) -> None:
        reading = self._hold_mailbox()
        self._announce_ready()
        result = self._take_in()
        self.guard("outbox", self.flush)
        schedule_clock.run_due(self.scheduler)
        self.failures = 0
        if self.monitor is not None:
            self.monitor.passed(result.outcomes, reading)
            for _ in range(result.unstamped):  # a deployment fault: counted, not a loop fault
                self.monitor.noted(deployment.UNSTAMPED)
        self.tick()
        if not self.stop.is_set():
            _wait(self.app, self.inbox, self.stop, self.tick)

    def _hold_mailbox(self) -> bool:
        """Read the mailbox while holding its lock; True when this instance reads."""
        reading = self.lock.acquire()
        if not reading:
            _close(self.inbox)  # lost the lock: the new holder reads from now on
            self.inbox = None
        elif self.inbox is None:
            self.inbox = self.app.open_inbox()
        return reading

    def _take_in(self) -> PassResult:
        """What waits in the mailbox (nothing on a standby); a transient fault ends the pass."""
        if self.inbox is None:
            return PassResult()
        result = take_in(self.app, self.inbox, self.stop, self.progress)
        if result.transient_error:
            raise TransientError(result.transient_error)
        return result

    def _announce_ready(self) -> None:
        """`on_ready` once, after the mailbox answered (systemd READY=1)."""
        if self.on_ready is not None:
            _probe_mailbox(self.app, self.inbox)
            self.on_ready()
            self.on_ready = None

    def _back_off(self, exc: BaseException) -> None:
        self.failures += 1
        delay = min(2**self.failures, 300) * random.uniform(0.5, 1.0)
        log.warning(
            "daemon.retry", error=str(exc) or type(exc).__name__, in_seconds=round(delay, 1)
        )
        if self.monitor is not None:
            self.monitor.fault(_fault_kind(exc), first_line(exc))
        _close(self.inbox)
        self.inbox = None
        # A failing OAuth2 refresh or login mails staff once per episode.
        self.guard("oauth2_alert", lambda: alerts.alert_if_failing(self.app))
        _sleep(self.stop, delay, self.tick)

    def close(self) -> None:
        _close(self.inbox)
        self.lock.release()


def _probe_mailbox(app: App, inbox: Inbox | None) -> None:
    """Log in once before READY, also on a standby instance that does not read the mailbox."""
    if inbox is not None:
        inbox.check()
        return
    probe = app.open_inbox()
    try:
        probe.check()
    finally:
        probe.close()


def _wait(app: App, inbox: Inbox | None, stop: threading.Event, tick: Callable[[], None]) -> None:
    """Until mail arrives (IDLE) or the poll interval passed; a standby just sleeps."""
    timeout = min(app.settings.poll_seconds, 30.0)
    if inbox is not None:
        inbox.wait(timeout, stop)
    else:
        _sleep(stop, timeout, tick)


def _sleep(stop: threading.Event, seconds: float, tick: Callable[[], None]) -> None:
    """Sleep up to `seconds`, waking for `stop`; tick every 30 s so a long backoff is no hang."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        stop.wait(min(left, 30.0))
        tick()


def _fault_kind(exc: BaseException) -> str:
    """A short, bounded label for metrics: which part failed, not the message."""
    if isinstance(exc, sa.exc.OperationalError):
        return "database"
    if isinstance(exc, TransientError):
        return "transient"
    return "network"


def _close(inbox: Inbox | None) -> None:
    if inbox is not None:
        try:
            inbox.close()
        except Exception:  # closing a broken connection may fail; it is gone either way
            log.debug("inbox.close_failed")


def _safe_url(url: str) -> str:
    """The URL without any password, for logs."""
    scheme, _, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    return f"{scheme}://{userinfo.split(':')[0]}{at}{host}" if at else url
