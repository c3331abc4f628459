"""Running `schedule`'s jobs when the wall clock went back (issue 11).

Owns: `run_due(scheduler)`, which the daemon calls instead of `run_pending`.
`schedule` plans in local, naive wall-clock time, so a clock that goes back
(an NTP step, the autumn change of a local time zone) would hold every job
back by as much. Must not know what the jobs do (`daemon` makes them).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import schedule
import structlog

log = structlog.get_logger()


def run_due(scheduler: schedule.Scheduler) -> None:
    """Run the jobs that are due; and all of them when one's next run lies further ahead
    than its period.

    `schedule` counts in local wall-clock time: after the clock went back (an NTP step, or
    the autumn change of a local time zone) the sweeps and the digest would wait as long
    as it went back. Then every job runs now (each is harmless to run early), planned
    afresh from the new time.
    """
    now = datetime.now()  # noqa: DTZ005 - schedule's own clock: local and naive
    ahead = [job for job in scheduler.jobs if job.next_run is not None and job.unit
             and job.next_run - now > timedelta(**{job.unit: job.interval})]  # fmt: skip
    if ahead:
        log.warning("schedule.clock_went_back", next_run=str(ahead[0].next_run), now=str(now))
        scheduler.run_all()
        return
    scheduler.run_pending()
