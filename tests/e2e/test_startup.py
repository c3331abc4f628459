"""Start-up as ops meet it (issue 11): one line and exit 1 for what cannot work, no state created.

Every setting is validated once, at start, by the same rules in `check`, `run`
and every other command; a database whose schema is behind stops `run`,
`run --once` and `ingest` before any mail is touched; and the read-only
commands never create a database where there was none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apps import REPO
from tests.e2e.test_cli import cli
from tests.mails import INCOMPLETE_BODY, client_mail

ONE_SHOT = [("run", "--once"), ("ingest", "-"), ("check",)]


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The single line on stderr of a command that failed with exit 1."""
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.postgres
def test_run_and_ingest_stop_at_start_on_an_unmigrated_postgresql(tmp_path, fresh_pg_url):
    """No `db upgrade` yet: `run`, `run --once` and `ingest` exit 1 with one line, no mail touched."""
    env = {"MAILINTAKE_DATABASE_URL": fresh_pg_url}
    inbox = tmp_path / "state" / "inbox" / "new"
    inbox.mkdir(parents=True)
    (inbox / "1.eml").write_bytes(client_mail(body=INCOMPLETE_BODY))
    for args in (("run", "--once"), ("ingest", "-"), ("run",)):
        proc = cli(tmp_path / "state", *args, stdin=client_mail(), env=env, check=False)
        line = one_line(proc)
        assert "schema is not current" in line and "mailintake db upgrade" in line
    assert [p.name for p in inbox.iterdir()] == ["1.eml"]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("STAFF_AUTH", "authres:a b", "MAILINTAKE_STAFF_AUTH"),
        ("METRICS_ADDRESS", "nonsense", "MAILINTAKE_METRICS_ADDRESS"),
        ("METRICS_ADDRESS", "127.0.0.1:99999", "MAILINTAKE_METRICS_ADDRESS"),
        ("DATABASE_URL", "garbage", "MAILINTAKE_DATABASE_URL"),
        ("DATABASE_URL", "postgresql+psycopg2://mailintake@db/mailintake", "postgresql+psycopg"),
        ("DATABASE_URL", "mysql+nodriver://x@y/z", "MAILINTAKE_DATABASE_URL"),
        ("CLIENTS_FILE", "/etc/mailintake/no-such-clients.toml", "no-such-clients.toml"),
    ],
)
def test_a_bad_setting_stops_every_command_with_one_line_naming_it(tmp_path, variable, value, says):
    """`check`, `run --once` and `ingest` all refuse the same bad value, in one line naming it."""
    env = {f"MAILINTAKE_{variable}": value}
    for args in ONE_SHOT:
        line = one_line(cli(tmp_path / "state", *args, stdin=b"", env=env, check=False))
        assert f"MAILINTAKE_{variable}" in line and says in line, (args, line)
    assert not (tmp_path / "state").exists()


def test_an_env_file_that_does_not_exist_is_named_not_ignored(tmp_path):
    """`--env-file /etc/mailintake/typo.env` stops with one line naming the file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    missing = tmp_path / "typo.env"
    proc = subprocess.run(
        [sys.executable, "-m", "mailintake.cli", "--env-file", str(missing), "check"],
        env=env,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    line = one_line(proc)
    assert "--env-file" in line and str(missing) in line


READ_ONLY = [
    ("tickets", "list"),
    ("tickets", "show", "LOG-000001"),
    ("report", "r1"),
    ("quarantine", "list"),
    ("outbox", "list"),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_read_only_commands_in_the_wrong_folder_create_nothing_and_say_where_they_looked(
    tmp_path, args
):
    """From a folder without state they exit 1, name the database path and MAILINTAKE_STATE_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    env["MAILINTAKE_CLIENTS_FILE"] = str(REPO / "config" / "clients.toml")
    proc = subprocess.run(
        [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", *args],
        env=env,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    line = one_line(proc)
    assert str(Path(tmp_path, "var", "mailintake.db")) in line and "MAILINTAKE_STATE_DIR" in line
    assert list(tmp_path.iterdir()) == []
