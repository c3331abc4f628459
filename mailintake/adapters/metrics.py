"""Prometheus metrics and the `/healthz` probe over HTTP (prometheus-client).

Owns: the counters the daemon feeds (messages handled by outcome, faults by
kind, the time of the last successful mailbox pass), the gauges read from the
database on every scrape (tickets by status, outbox depth and oldest pending
age, unstamped mail from every process), and a small threaded HTTP server on `MAILINTAKE_METRICS_ADDRESS`:
`/healthz` answers 503 when the loop has not finished a mailbox pass for five
poll intervals, 200 otherwise; every other path serves the metrics. Must not
change anything: it only counts and reads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from sqlmodel import col

from mailintake.adapters import db
from mailintake.config import split_host_port

log = structlog.get_logger()

STALE_AFTER_INTERVALS = 5


class DatabaseCollector(Collector):
    """Tickets by status and the outbox queue, counted when Prometheus scrapes."""

    def __init__(self, engine: sa.Engine, on_error: Counter) -> None:
        self.engine = engine
        self.on_error = on_error

    def collect(self) -> Iterator[Metric]:
        try:
            with db.for_reading(self.engine).connect() as conn:
                status_column = col(db.Ticket.status)
                by_status = conn.execute(
                    sa.select(status_column, sa.func.count()).group_by(status_column)
                ).all()
                pending = col(db.OutboxRow.status).in_(("pending", "sending"))
                oldest_created = sa.func.min(col(db.OutboxRow.created_at))
                depth, oldest = conn.execute(
                    sa.select(sa.func.count(), oldest_created).where(pending)
                ).one()
                unstamped = conn.execute(
                    sa.select(sa.func.count()).where(col(db.IntakeRow.unstamped).is_(True))
                ).scalar_one()
        except sa.exc.SQLAlchemyError as exc:
            self.on_error.labels(kind="metrics_database").inc()
            log.warning("metrics.database_failed", error=str(exc).splitlines()[0])
            return
        tickets = GaugeMetricFamily(
            "mailintake_tickets", "Tickets by status (SPEC section 2)", labels=["status"]
        )
        for status, count in by_status:
            tickets.add_metric([status], count)
        yield tickets
        yield GaugeMetricFamily(
            "mailintake_outbox_pending",
            "Outbox rows not sent yet (pending or sending)",
            value=depth,
        )
        yield CounterMetricFamily(
            "mailintake_mail_unstamped",
            "Messages our border MTA did not stamp, from every process (README, Security)",
            value=unstamped,
        )
        yield GaugeMetricFamily(
            "mailintake_outbox_oldest_pending_age_seconds",
            "Age of the oldest waiting outbox row (0 when none waits)",
            value=_age_seconds(oldest),
        )


def _age_seconds(oldest: datetime | str | None) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite without the column type's conversion
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max((datetime.now(UTC) - oldest).total_seconds(), 0.0)


class Metrics:
    """The daemon's counters and health; implements `mailintake.daemon.Monitor`."""

    def __init__(
        self,
        engine: sa.Engine,
        poll_interval: float,
        problem: Callable[[], str | None] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.poll_interval = poll_interval
        self._problem = problem  # e.g. OAuth2 tokens no longer refresh: unhealthy at once
        self.handled = Counter(
            "mailintake_messages_handled",
            "Messages taken from the mailbox, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "mailintake_errors", "Faults of the daemon loop, by kind", ["kind"],
            registry=self.registry,
        )  # fmt: skip
        self.last_poll = Gauge(
            "mailintake_last_successful_poll_timestamp_seconds",
            "When the mailbox was last read completely (Unix time)",
            registry=self.registry,
        )
        self.registry.register(DatabaseCollector(engine, self.errors))
        self._last_progress = time.monotonic()
        self._last_fault = ""  # what the last failed pass said; cleared by a good pass
        self._server: ThreadingWSGIServer | None = None

    # Monitor hooks, called by the daemon loop.

    def passed(self, outcomes: Mapping[str, int], reading: bool) -> None:
        """A loop pass ended well; a standby instance is healthy without reading."""
        for outcome, count in outcomes.items():
            self.handled.labels(outcome=outcome).inc(count)
        if reading:
            self.last_poll.set_to_current_time()
        self._last_progress = time.monotonic()
        self._last_fault = ""

    def fault(self, kind: str, detail: str = "") -> None:
        self.errors.labels(kind=kind).inc()
        self._last_fault = detail or kind

    def progressed(self) -> None:
        """A long pass is moving (a message, an outbox row, a ticket): healthy, not hung."""
        self._last_progress = time.monotonic()

    def noted(self, kind: str) -> None:
        """E.g. `mail_unstamped`: mail our border MTA did not stamp (README, Security)."""
        self.errors.labels(kind=kind).inc()

    # health and HTTP.

    def health_problem(self) -> str | None:
        """Why the service is unhealthy (with the last fault, when there was one), or None."""
        stale_after = STALE_AFTER_INTERVALS * self.poll_interval
        if time.monotonic() - self._last_progress > stale_after:
            why = f": {self._last_fault}" if self._last_fault else ""
            return f"mailbox not read for {STALE_AFTER_INTERVALS} poll intervals{why}"
        return self._problem() if self._problem is not None else None

    def wsgi_app(self) -> WSGIApplication:
        metrics_app: WSGIApplication = make_wsgi_app(self.registry)

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                problem = self.health_problem()
                start_response(
                    "503 Service Unavailable" if problem else "200 OK",
                    [("Content-Type", "text/plain; charset=utf-8")],
                )
                return [f"{problem or 'ok'}\n".encode()]
            return metrics_app(environ, start_response)

        return app

    def serve(self, address: str) -> tuple[str, int]:
        """Serve on `host:port` from a daemon thread; returns the bound address."""
        host, port = split_host_port(address)  # validated with the settings
        server_class = _server_class(host, port)
        self._server = make_server(
            host, port, self.wsgi_app(), server_class, handler_class=_QuietHandler
        )
        threading.Thread(target=self._server.serve_forever, daemon=True, name="metrics").start()
        bound_host, bound_port = self._server.server_address[:2]
        assert isinstance(bound_host, str), "an IP socket's address names its host as text"
        log.info("metrics.listening", address=f"{bound_host}:{bound_port}")
        return bound_host, bound_port

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _server_class(host: str, port: int) -> type[ThreadingWSGIServer]:
    """The server class for the address family of `host` (IPv4 or IPv6)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family

    return Server


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: scrapes every 15 s would drown the journal."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return None
