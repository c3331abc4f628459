"""Test-only pause points, so a test can interleave two real processes deterministically.

Owns: `pause(point)`, called at a few named points of the services (a message
received, taken in hand, its duplicate check done, its ticket found under the lock, a sweep
started, an outbox row claimed). It does nothing unless the entry
point installed a pause from `MAILINTAKE_TEST_PAUSE=<point>=<directory>`
(`install_from_environ`): the process reaching that point creates
`<directory>/reached` and waits until a test creates `<directory>/release`
(at most 60 s). Never set in production; must not change what the program does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ENV = "MAILINTAKE_TEST_PAUSE"
MAX_WAIT = 60.0

_pause: Callable[[str], None] | None = None


def pause(point: str) -> None:
    """Stop here while a test holds `point` (no-op unless installed)."""
    if _pause is not None:
        _pause(point)


def install_from_environ(environ: Mapping[str, str] | None = None) -> None:
    """Install the pause named by `MAILINTAKE_TEST_PAUSE`, if set (the entry points call this)."""
    global _pause
    spec = (os.environ if environ is None else environ).get(ENV, "")
    wanted, _, directory = spec.partition("=")
    if not wanted or not directory:
        _pause = None
        return
    _pause = _waiter(wanted, Path(directory))


def _waiter(wanted: str, directory: Path) -> Callable[[str], None]:
    def wait_at(point: str) -> None:
        if point != wanted:
            return
        (directory / "reached").touch()
        deadline = time.monotonic() + MAX_WAIT
        while not (directory / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    return wait_at
