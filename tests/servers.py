"""Real servers for the integration tests: Dovecot (IMAP), aiosmtpd (SMTP) and PostgreSQL.

This module owns starting, probing and stopping throw-away servers and the small
client helpers tests need to look into them (append a message, list a folder).
It must not contain product logic and must not mock anything: the adapters are
tested against the real protocols. A missing server fails the run under
`CI=true` and skips the test elsewhere, so a developer without Dovecot or
PostgreSQL can still run the rest.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
PG_HOST = "127.0.0.1"
PG_PORT = 5432


def _missing(reason: str) -> None:
    """Fail under CI (the server must be there), skip on a developer machine."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Dovecot -------------------------------------------------------------------------------


DOVECOT_CONF = """\
    # Throw-away test instance: own sockets, state, logs and port; plaintext on loopback only.
    base_dir = {base}/run
    state_dir = {base}/state
    instance_name = {name}
    log_path = {base}/dovecot.log
    protocols = imap
    listen = 127.0.0.1
    ssl = no
    disable_plaintext_auth = no
    auth_mechanisms = plain login
    mail_location = maildir:~/Maildir
    passdb {{
      driver = static
      args = password={password}
    }}
    userdb {{
      driver = static
      args = uid=nobody gid=nogroup home={base}/home/%u
    }}
    service imap-login {{
      inet_listener imap {{
        address = 127.0.0.1
        port = {port}
      }}
      inet_listener imaps {{
        port = 0
      }}
    }}
    protocol imap {{
      mail_max_userip_connections = 1000
      {capability}
    }}
    """


@dataclass
class DovecotServer:
    """A Dovecot started with `dovecot -F -c CONF`; data survives stop()/start()."""

    base: Path
    port: int
    host: str = "127.0.0.1"
    password: str = "secret"
    capability: str | None = None  # replaces the advertised IMAP capabilities when given
    process: subprocess.Popen[bytes] | None = None
    _users: int = 0

    @property
    def conf(self) -> Path:
        return self.base / "dovecot.conf"

    def write_conf(self) -> None:
        (self.base / "home").mkdir(exist_ok=True)
        # Mail processes run as nobody (Dovecot refuses uid 0): the homes must be creatable.
        os.chmod(self.base, 0o755)
        os.chmod(self.base / "home", 0o1777)
        capability = f"imap_capability = {self.capability}" if self.capability else ""
        text = DOVECOT_CONF.format(
            base=self.base,
            name=self.base.name,
            password=self.password,
            port=self.port,
            capability=capability,
        )
        self.conf.write_text(textwrap.dedent(text))

    def start(self, timeout: float = 15.0) -> None:
        """Start Dovecot (no-op when it runs) and wait until a LOGIN succeeds."""
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() can end the imap children
        )
        self._wait_for_login(timeout)

    def _wait_for_login(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.process.returncode}: {self._log_tail()}")
            try:
                self.client("probe").logout()
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot refused LOGIN: {self._log_tail()}") from exc
                time.sleep(0.02)

    def _log_tail(self) -> str:
        log = self.base / "dovecot.log"
        stderr = b""
        if self.process is not None and self.process.poll() is not None and self.process.stderr:
            stderr = self.process.stderr.read()
        text = log.read_text(errors="replace") if log.exists() else ""
        return (stderr.decode(errors="replace") + text)[-2000:]

    def stop(self) -> None:
        """Stop Dovecot like an outage: master and open IMAP sessions end; mail stays on disk."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The master's exit leaves running imap processes serving their clients; end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def new_user(self) -> str:
        """A fresh user name: its mailbox is empty (each test gets its own)."""
        self._users += 1
        return f"u{self._users}x{secrets.token_hex(3)}"

    def url(self, user: str, folder: str = "INBOX") -> str:
        return f"imap://{user}@{self.host}:{self.port}/{folder}"

    def client(self, user: str) -> IMAPClient:
        """A logged-in IMAPClient for *user*; the caller logs out."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client._imap.debug = 0  # imapclient's debug level 5 slows bulk FETCH several-fold
        client.normalise_times = False
        try:
            client.login(user, self.password)
        except Exception:
            client.shutdown()
            raise
        return client

    @contextlib.contextmanager
    def session(self, user: str) -> Iterator[IMAPClient]:
        client = self.client(user)
        try:
            yield client
        finally:
            client.logout()

    def append(
        self, user: str, raw: bytes, folder: str = "INBOX", msg_time: datetime | None = None
    ) -> None:
        """IMAP APPEND *raw* to *folder* (created if missing); *msg_time* sets INTERNALDATE."""
        with self.session(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, msg_time=msg_time)

    def list_uids(self, user: str, folder: str = "INBOX") -> list[int]:
        """UIDs in *folder*, ascending; empty when the folder does not exist."""
        with self.session(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def fetch_all(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in *folder* in UID order, read without setting \\Seen."""
        with self.session(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            if not uids:
                return []
            data = client.fetch(uids, ["BODY.PEEK[]"])
            return [data[uid][b"BODY[]"] for uid in uids]

    def flags(self, user: str, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
        """The flags of each message in *folder*, in UID order."""
        with self.session(user) as client:
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            data = client.fetch(uids, ["FLAGS"]) if uids else {}
            return [tuple(data[uid][b"FLAGS"]) for uid in uids]


@contextlib.contextmanager
def _running_dovecot(
    capability: str | None = None, *, make: Callable[..., DovecotServer] = DovecotServer
) -> Iterator[DovecotServer]:
    """A throw-away Dovecot; `make(base=, port=)` builds a variant (e.g. with an OAuth2 passdb)."""
    if not DOVECOT.exists():
        _missing(f"{DOVECOT} not found: install the Debian package dovecot-imapd")
    # A short base dir: Dovecot's unix socket paths must stay under 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="mi-dc", dir="/tmp"))
    extra = {"capability": capability} if capability is not None else {}
    server = make(base=base, port=free_port(), **extra)
    server.write_conf()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def _dovecot_server() -> Iterator[DovecotServer]:
    with _running_dovecot() as server:
        yield server


@pytest.fixture
def dovecot(_dovecot_server: DovecotServer) -> DovecotServer:
    """The shared Dovecot, running (an earlier outage test may have stopped it)."""
    _dovecot_server.start()
    return _dovecot_server


@pytest.fixture(scope="session")
def dovecot_rfc3501() -> Iterator[DovecotServer]:
    """A Dovecot advertising neither MOVE nor IDLE (older servers): the fallback paths."""
    with _running_dovecot("IMAP4rev1 SASL-IR LITERAL+ ID ENABLE UIDPLUS") as server:
        yield server


# --- SMTP (aiosmtpd) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class CollectingHandler:
    """Keeps every accepted message; refuses the addresses in `refuse` with 550."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = ReceivedMessage(str(envelope.mail_from), list(envelope.rcpt_tos), content)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """An aiosmtpd Controller on a fixed loopback port that can go down and come back."""

    port: int
    host: str = "127.0.0.1"
    handler: CollectingHandler = field(default_factory=CollectingHandler)
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    def refuse(self, address: str) -> None:
        """Answer RCPT TO:<address> with 550 (a permanent refusal)."""
        self.handler.refuse.add(address.lower())

    def start(self) -> None:
        # A stopped Controller closed its event loop; a new one reuses the port.
        if self.controller is None:
            self.controller = Controller(self.handler, hostname=self.host, port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, n: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until *n* messages arrived (or *timeout*); return what arrived."""
        with self.handler.arrived:
            self.handler.arrived.wait_for(lambda: len(self.messages) >= n, timeout)
            return list(self.messages)


@contextlib.contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    """A fresh SMTP server on a free loopback port, stopped afterwards (tests and bench/)."""
    server = SmtpServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A fresh SMTP server collecting the messages it receives."""
    with running_smtp_server() as server:
        yield server


# --- PostgreSQL ----------------------------------------------------------------------------


def _admin_connection() -> psycopg.Connection:
    """An autocommit connection allowed to CREATE DATABASE (OS user first, then postgres)."""
    errors = []
    for user, dbname in ((None, "test"), ("postgres", "test"), ("postgres", "postgres")):
        try:
            conn = psycopg.connect(
                host=PG_HOST,
                port=PG_PORT,
                user=user,
                dbname=dbname,
                autocommit=True,
                connect_timeout=5,
            )
        except psycopg.OperationalError as exc:
            errors.append(f"{user or 'current user'}@{dbname}: {str(exc).strip()}")
            continue
        if conn.execute(
            "select rolsuper or rolcreatedb from pg_roles where rolname = current_user"
        ).fetchone() == (True,):
            return conn
        errors.append(f"{user or 'current user'}@{dbname}: may not create databases")
        conn.close()
    _missing(f"no PostgreSQL on {PG_HOST}:{PG_PORT}: " + "; ".join(errors))
    raise AssertionError("unreachable")


@dataclass
class PgDatabases:
    """Creates and drops throw-away databases through one admin connection."""

    conn: psycopg.Connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self) -> tuple[str, str]:
        name = f"mailintake_test_{secrets.token_hex(6)}"
        with self.lock:
            self.conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        user = self.conn.info.user
        return name, f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"

    def drop(self, name: str) -> None:
        with self.lock:
            self.conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[PgDatabases]:
    conn = _admin_connection()
    try:
        yield PgDatabases(conn)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_url(_pg_databases: PgDatabases) -> Iterator[str]:
    """A PostgreSQL database shared by the session, dropped at the end."""
    name, url = _pg_databases.create()
    try:
        yield url
    finally:
        _pg_databases.drop(name)


@pytest.fixture
def fresh_pg_url(_pg_databases: PgDatabases) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own, dropped after it."""
    name, url = _pg_databases.create()
    try:
        yield url
    finally:
        _pg_databases.drop(name)
