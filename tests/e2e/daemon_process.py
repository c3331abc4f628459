"""`mailintake run` as a real subprocess, the way systemd starts it: settings from the environment.

Owns: starting the daemon with a clean `MAILINTAKE_*` environment, waiting for
a named JSON log event, signalling and stopping it. No product logic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.apps import REPO


def daemon_env(state: Path, **settings: str) -> dict[str, str]:
    """The environment for a daemon; `settings` keys without the MAILINTAKE_ prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    env.pop("NOTIFY_SOCKET", None)
    env.update(
        {
            "MAILINTAKE_STATE_DIR": str(state),
            "MAILINTAKE_CLIENTS_FILE": str(REPO / "config" / "clients.toml"),
            "MAILINTAKE_LOG_FORMAT": "json",
        }
    )
    env.update({f"MAILINTAKE_{k.upper()}": v for k, v in settings.items()})
    return env


class Daemon:
    """One `mailintake run` process with its stderr (the log) in a file."""

    def __init__(self, log_path: Path, env: dict[str, str], args: tuple[str, ...] = ("run",)):
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self) -> list[dict]:
        """The JSON log lines so far (a torn last line is skipped)."""
        found = []
        for line in self.output.splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return found

    def wait_for_event(self, name: str, count: int = 1, timeout: float = 30.0) -> dict:
        """The `count`-th log event named `name`; fails with the log when it does not come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [e for e in self.events() if e.get("event") == name]
            if len(matching) >= count:
                return matching[count - 1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {name!r} event (exit {self.proc.poll()}):\n{self.output[-3000:]}")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit code (killed after `timeout`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._log.close()
