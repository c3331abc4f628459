"""Use case: the deadline sweep (SPEC section 4) and the daily digest (SPEC section 8).

Owns: `run_sweeps(app, now)` — computes what is due from stored deadlines,
never from "the job ran" — and `send_digest_if_due`. Idempotent: a second run
at the same instant does nothing.
"""

from __future__ import annotations

from datetime import datetime

from mailintake.bootstrap import App


def run_sweeps(app: App, now: datetime) -> dict[str, int]:
    """Every deadline due at `now`; returns counts by action."""
    return {}


def send_digest_if_due(app: App, now: datetime) -> bool:
    return False
