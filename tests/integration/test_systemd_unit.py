"""The shipped systemd unit: valid for systemd and hardened (issue 6).

`systemd-analyze` (Debian package `systemd`) checks the file offline; no
systemd needs to run. Under `CI=true` a missing `systemd-analyze` fails,
elsewhere the tests skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import _missing

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "mailintake.service"
MAX_EXPOSURE = 1.5


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        _missing("systemd-analyze not found: install the Debian package systemd")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=60, cwd=UNIT.parent
    )


def test_unit_verifies_without_any_complaint():
    """`systemd-analyze verify` has nothing to say but that the program is not installed here."""
    proc = analyze("verify", str(UNIT))
    complaints = [
        line
        for line in proc.stderr.splitlines()
        if not re.search(r"Command /opt/mailintake/\.venv/bin/mailintake is not executable", line)
    ]
    assert complaints == []


def test_unit_is_rated_at_most_1_5_by_systemd_analyze_security():
    """The hardening keeps `systemd-analyze security`'s overall exposure at 1.5 or below."""
    proc = analyze("security", "--offline=yes", str(UNIT))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE


@pytest.mark.parametrize(
    "setting",
    [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=mailintake",
        "EnvironmentFile=/etc/mailintake/mailintake.env",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ],
)
def test_unit_keeps_the_service_contract(setting):
    """The settings the daemon relies on (sd_notify, reload, state, env file) are in the unit."""
    lines = [line.strip() for line in UNIT.read_text().splitlines()]
    assert any(line.startswith(setting) for line in lines)
