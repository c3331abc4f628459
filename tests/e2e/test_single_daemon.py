"""One daemon per SQLite state directory (issue 11): a second `mailintake run` exits at once.

The first daemon holds an `flock` on a file in the state directory with its pid in it;
the second `run` (or `run --once`) exits 1 with one line naming that pid. The kernel
drops the lock when the holder dies, so a daemon killed with SIGKILL never blocks the
next start.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.daemon_process import Daemon, daemon_env

pytestmark = pytest.mark.slow


def second_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_second_daemon_on_the_same_sqlite_state_exits_at_once_naming_the_holder(tmp_path):
    """While one `run` holds the state, `run` and `run --once` exit 1 with the holder's pid."""
    env = daemon_env(tmp_path / "state", POLL_SECONDS="0.2")
    first = Daemon(tmp_path / "first.log", env)
    try:
        first.wait_for_event("daemon.ready")
        for args in ((), ("--once",)):
            refused = second_run(env, *args)
            assert refused.returncode == 1, refused.stderr
            [line] = refused.stderr.strip().splitlines()
            assert f"pid {first.proc.pid}" in line and str(tmp_path / "state") in line
        first.kill()  # SIGKILL: no clean-up ran, the kernel dropped the lock
        after = Daemon(tmp_path / "after.log", env)
        after.wait_for_event("daemon.ready")
        assert after.stop() == 0
    finally:
        if first.proc.poll() is None:
            first.stop()


def test_daemons_on_different_state_directories_both_run(tmp_path):
    """The lock is per state directory: two desks on one machine do not block each other."""
    daemons = [Daemon(tmp_path / f"{n}.log", daemon_env(tmp_path / n)) for n in ("a", "b")]
    try:
        for daemon in daemons:
            daemon.wait_for_event("daemon.ready")
    finally:
        codes = [daemon.stop() for daemon in daemons]
    assert codes == [0, 0]
    assert os.path.isdir(tmp_path / "a") and os.path.isdir(tmp_path / "b")


def test_a_second_daemon_on_the_same_sqlite_file_from_another_state_directory_exits(tmp_path):
    """Two state directories naming one database file (`MAILINTAKE_DATABASE_URL`): the second
    `run` exits 1 with one line naming the holder and the database, as on one directory."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    first = Daemon(tmp_path / "a.log", daemon_env(tmp_path / "a", DATABASE_URL=database))
    try:
        first.wait_for_event("daemon.ready")
        env = daemon_env(tmp_path / "b", DATABASE_URL=database, POLL_SECONDS="0.2")
        refused = second_run(env, "--once")
        assert refused.returncode == 1, refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert f"pid {first.proc.pid}" in line and str(tmp_path / "shared.db") in line
    finally:
        assert first.stop() == 0
