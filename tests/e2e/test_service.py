"""`mailintake run` as a systemd service: sd_notify, signals, reload, logs, `check`, metrics.

Every test runs the real command as a subprocess against real Dovecot and
aiosmtpd (and PostgreSQL where the database matters), the way systemd runs it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.apps import REPO
from tests.e2e.daemon_process import Daemon, daemon_env
from tests.e2e.test_cli import cli
from tests.mails import INCOMPLETE_BODY, client_mail
from tests.servers import free_port


@contextlib.contextmanager
def notify_socket() -> Iterator[tuple[str, socket.socket]]:
    """A unix datagram socket playing systemd's NOTIFY_SOCKET (short path: 108-byte limit)."""
    directory = Path(tempfile.mkdtemp(prefix="mi-ns", dir="/tmp"))
    path = directory / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        yield str(path), sock
    finally:
        sock.close()
        shutil.rmtree(directory, ignore_errors=True)


def receive_until(sock: socket.socket, wanted: str, timeout: float = 30.0) -> list[str]:
    """Datagrams' lines until one equals `wanted`; fails when it does not come."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while wanted not in lines:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted} among {lines}"
        sock.settimeout(left)
        lines += sock.recv(4096).decode().splitlines()
    return lines


def imap_daemon(tmp_path: Path, dovecot, smtp_server, **settings: str) -> tuple[Daemon, str]:
    user = dovecot.new_user()
    defaults = {
        "INBOX_URL": dovecot.url(user),
        "IMAP_PASSWORD": dovecot.password,
        "SMTP_URL": smtp_server.url,
        "POLL_SECONDS": "600",
    }
    env = daemon_env(tmp_path / "state", **(defaults | settings))
    return Daemon(tmp_path / "daemon.log", env), user


def text_of(raw: bytes) -> str:
    """The plain-text part of a sent message, decoded."""
    message = message_from_bytes(raw, policy=policy.default)
    return message.get_body(("plain",)).get_content()


def notify_daemon(tmp_path: Path, dovecot, smtp_server, address: str) -> Daemon:
    env = daemon_env(
        tmp_path / "state",
        INBOX_URL=dovecot.url(dovecot.new_user()),
        IMAP_PASSWORD=dovecot.password,
        SMTP_URL=smtp_server.url,
        POLL_SECONDS="0.5",
    )
    env["NOTIFY_SOCKET"] = address
    return Daemon(tmp_path / "daemon.log", env)


def pending_lines(sock: socket.socket) -> list[str]:
    """Lines of the datagrams already queued on `sock`, without waiting."""
    lines: list[str] = []
    sock.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while True:
            lines += sock.recv(4096).decode().splitlines()
    sock.setblocking(True)
    return lines


def test_service_notifies_ready_watchdog_and_stopping_and_exits_0(tmp_path, dovecot, smtp_server):
    """systemd hears READY=1 once all is reachable, WATCHDOG=1 from the loop, STOPPING=1 on SIGTERM."""
    with notify_socket() as (address, sock):
        daemon = notify_daemon(tmp_path, dovecot, smtp_server, address)
        try:
            lines = receive_until(sock, "READY=1")
            assert any(line.startswith("STATUS=") for line in lines)
            receive_until(sock, "WATCHDOG=1")
            daemon.signal(signal.SIGTERM)
            receive_until(sock, "STOPPING=1")
        finally:
            code = daemon.stop()
    assert code == 0, daemon.output[-2000:]


def test_no_ready_while_smtp_is_down(tmp_path, dovecot, smtp_server):
    """READY=1 waits for SMTP: with the server down the daemon retries and is not ready."""
    smtp_server.stop()
    with notify_socket() as (address, sock):
        daemon = notify_daemon(tmp_path, dovecot, smtp_server, address)
        try:
            retry = daemon.wait_for_event("daemon.retry")
            before = pending_lines(sock)
            smtp_server.start()
            receive_until(sock, "READY=1")
        finally:
            code = daemon.stop()
    assert "READY=1" not in before
    assert "cannot connect" in retry["error"] and code == 0


def test_sigterm_during_idle_exits_0_after_flushing(tmp_path, dovecot, smtp_server):
    """SIGTERM while the daemon idles in IMAP IDLE ends it with exit 0 and a flushed outbox."""
    daemon, user = imap_daemon(tmp_path, dovecot, smtp_server)
    try:
        dovecot.append(user, client_mail(body=INCOMPLETE_BODY))
        daemon.wait_for_event("mail.sent")
        daemon.wait_for_event("daemon.ready")
    finally:
        code = daemon.stop(timeout=10)
    assert code == 0, daemon.output[-2000:]
    assert daemon.events()[-1]["event"] == "daemon.stopped"
    assert len(smtp_server.messages) == 1


def test_sighup_reloads_templates_and_the_clients_file(tmp_path, dovecot, smtp_server):
    """After SIGHUP a new client's language and an edited template apply to the next reply."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    clients = tmp_path / "clients.toml"
    clients.write_text('[default]\nlanguage = "pl"\n')
    daemon, user = imap_daemon(
        tmp_path,
        dovecot,
        smtp_server,
        TEMPLATES_DIR=str(templates),
        CLIENTS_FILE=str(clients),
    )
    try:
        daemon.wait_for_event("daemon.ready")
        clients.write_text(
            '[default]\nlanguage = "pl"\n\n'
            '[clients.newco]\nname = "NewCo"\ndomains = ["newco.example"]\nlanguage = "en"\n'
        )
        english = templates / "request_missing.en.j2"
        english.write_text(
            english.read_text().replace("{% block text %}", "{% block text %}RELOADED-7\n", 1)
        )
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_event("daemon.reloaded")
        dovecot.append(user, client_mail(sender="ola@newco.example", body=INCOMPLETE_BODY))
        [reply] = smtp_server.wait_for(1, timeout=30)
    finally:
        code = daemon.stop()
    assert "RELOADED-7" in text_of(reply.data)
    assert code == 0


def test_a_broken_clients_file_on_sighup_keeps_the_daemon_running(tmp_path, dovecot, smtp_server):
    """A SIGHUP with a broken clients file logs the reason and keeps serving with the old one."""
    clients = tmp_path / "clients.toml"
    clients.write_text('[default]\nlanguage = "pl"\n')
    daemon, user = imap_daemon(tmp_path, dovecot, smtp_server, CLIENTS_FILE=str(clients))
    try:
        daemon.wait_for_event("daemon.ready")
        clients.write_text("[default\nbroken")
        daemon.signal(signal.SIGHUP)
        failed = daemon.wait_for_event("daemon.reload_failed")
        dovecot.append(user, client_mail(body=INCOMPLETE_BODY))
        assert smtp_server.wait_for(1, timeout=30)
    finally:
        code = daemon.stop()
    assert "clients.toml" in failed["error"] and code == 0


def test_logs_are_json_when_not_a_terminal_and_never_show_passwords(tmp_path, dovecot, smtp_server):
    """With the default `auto` format every line is JSON; neither password ever appears."""
    imap_secret, smtp_secret = "Imap-Pw-4f9c1e", "Smtp-Pw-77ab20"
    env = daemon_env(
        tmp_path / "state",
        INBOX_URL=dovecot.url(dovecot.new_user()).replace("@", f":{imap_secret}@", 1),
        IMAP_PASSWORD=imap_secret,
        SMTP_URL=smtp_server.url,
        SMTP_USER="support",
        SMTP_PASSWORD=smtp_secret,
        POLL_SECONDS="0.5",
    )
    del env["MAILINTAKE_LOG_FORMAT"]
    daemon = Daemon(tmp_path / "daemon.log", env)
    try:
        retry = daemon.wait_for_event("daemon.retry")
    finally:
        code = daemon.stop()
    checked = cli(tmp_path / "state", "check", env=env, check=False)
    output = daemon.output + checked.stdout.decode() + checked.stderr.decode()
    assert "login refused" in retry["error"]
    assert imap_secret not in output and smtp_secret not in output
    assert all(json.loads(line)["event"] for line in daemon.output.splitlines())
    assert code == 0


# -- mailintake check ------------------------------------------------------------------


def check_env(dovecot, smtp_server, user: str, **settings: str) -> dict[str, str]:
    values = {
        "MAILINTAKE_INBOX_URL": dovecot.url(user),
        "MAILINTAKE_IMAP_PASSWORD": dovecot.password,
        "MAILINTAKE_SMTP_URL": smtp_server.url,
    }
    return values | {f"MAILINTAKE_{k}": v for k, v in settings.items()}


def check_lines(tmp_path: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """`mailintake check` output; the SQLite database is created first, as `run` would."""
    if "MAILINTAKE_DATABASE_URL" not in env:
        cli(tmp_path / "state", "db", "upgrade")
    proc = cli(tmp_path / "state", "check", env=env, check=False)
    return proc.returncode, proc.stdout.decode().splitlines()


def test_check_all_ok(tmp_path, dovecot, smtp_server):
    """Against a working Dovecot, aiosmtpd and SQLite every check says OK and the exit is 0."""
    code, lines = check_lines(tmp_path, check_env(dovecot, smtp_server, dovecot.new_user()))
    assert code == 0
    assert lines[:4] == ["OK   configuration", "OK   database", "OK   mailbox", "OK   smtp"]
    assert lines[4].startswith("OK   sender check")  # issue 10: the border's stamp
    assert len(lines) == 5


def test_check_names_a_refused_imap_login(tmp_path, dovecot, smtp_server):
    """A wrong IMAP password: `FAIL mailbox: authentication failed…`, exit non-zero."""
    env = check_env(dovecot, smtp_server, dovecot.new_user(), IMAP_PASSWORD="wrong")
    code, lines = check_lines(tmp_path, env)
    assert code != 0
    assert [line for line in lines if line.startswith("FAIL")] == [
        next(line for line in lines if line.startswith("FAIL mailbox: authentication failed"))
    ]


def test_check_names_a_missing_folder(tmp_path, dovecot, smtp_server):
    """A folder that does not exist: `FAIL mailbox: folder missing…`."""
    url = dovecot.url(dovecot.new_user(), folder="NoSuchFolder")
    code, lines = check_lines(tmp_path, check_env(dovecot, smtp_server, "x", INBOX_URL=url))
    assert code != 0
    assert any(line.startswith("FAIL mailbox: folder missing") for line in lines), lines


def test_check_names_smtp_down(tmp_path, dovecot, smtp_server):
    """SMTP not listening: `FAIL smtp: connection refused…`, the other checks still run."""
    env = check_env(dovecot, smtp_server, dovecot.new_user())
    smtp_server.stop()
    code, lines = check_lines(tmp_path, env)
    assert code != 0
    assert "OK   mailbox" in lines
    assert any(line.startswith("FAIL smtp: connection refused") for line in lines), lines


@pytest.mark.postgres
def test_check_names_pending_migrations(tmp_path, dovecot, smtp_server, fresh_pg_url):
    """A PostgreSQL database without `db upgrade`: `FAIL database: migrations pending…`."""
    env = check_env(dovecot, smtp_server, dovecot.new_user(), DATABASE_URL=fresh_pg_url)
    code, lines = check_lines(tmp_path, env)
    assert code != 0
    assert any(line.startswith("FAIL database: migrations pending") for line in lines), lines
    cli(tmp_path / "state", "db", "upgrade", env=env)
    assert check_lines(tmp_path, env)[0] == 0


# -- metrics and health ----------------------------------------------------------------


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for_status(url: str, status: int, timeout: float = 60.0) -> str:
    """Poll `url` until it answers `status`; returns the body."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen, body = http_get(url)
        if seen == status:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} still answers {seen}, not {status}")


def metric(text: str, line_start: str) -> float:
    [value] = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start)]
    return float(value)


def test_metrics_and_healthz_follow_the_mailbox(tmp_path, dovecot, smtp_server):
    """/metrics counts the handled mail; /healthz is 200, then 503 once Dovecot is down 5 polls."""
    port = free_port()
    daemon, user = imap_daemon(
        tmp_path, dovecot, smtp_server, POLL_SECONDS="0.5", METRICS_ADDRESS=f"127.0.0.1:{port}"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        daemon.wait_for_event("daemon.ready")
        dovecot.append(user, client_mail(body=INCOMPLETE_BODY))
        smtp_server.wait_for(1, timeout=30)
        daemon.wait_for_event("mail.sent")
        created = 'mailintake_messages_handled_total{outcome="created"}'
        deadline = time.monotonic() + 30
        text = wait_for_status(f"{base}/metrics", 200)
        while created not in text and time.monotonic() < deadline:
            time.sleep(0.1)  # counted when the pass ends, just after its flush
            text = wait_for_status(f"{base}/metrics", 200)
        assert metric(text, created) == 1
        assert metric(text, 'mailintake_tickets{status="NOWY"}') == 1
        assert metric(text, "mailintake_outbox_pending ") == 0
        assert metric(text, "mailintake_outbox_oldest_pending_age_seconds ") == 0
        assert metric(text, "mailintake_last_successful_poll_timestamp_seconds ") > 0
        assert http_get(f"{base}/healthz")[0] == 200
        dovecot.stop()
        assert "not read" in wait_for_status(f"{base}/healthz", 503)
        errors = http_get(f"{base}/metrics")[1]
        assert metric(errors, 'mailintake_errors_total{kind="transient"}') >= 1
    finally:
        dovecot.start()
        code = daemon.stop()
    assert code == 0
