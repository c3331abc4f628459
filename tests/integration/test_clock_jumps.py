"""The wall clock going back does not hold the daemon's minute jobs back (issue 11).

`schedule` plans in local wall-clock time. When that clock goes back (an NTP step,
the autumn change of a local time zone such as Europe/Warsaw) every job's next run
lies an hour ahead: the sweeps (deadlines, reminders, closes) and the digest would
stop for that hour. Seen from the scheduler that is a next run further ahead than
the job's own period, which is what the test builds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mailintake import daemon
from mailintake.adapters import schedule_clock
from tests.apps import make_app


def test_the_minute_jobs_run_on_after_the_clock_went_back_an_hour(tmp_path):
    app = make_app(tmp_path / "state", database_url=f"sqlite:///{tmp_path / 'm.db'}")
    try:
        scheduler = daemon.make_scheduler(app)
        scheduler.run_all()
        for job in scheduler.jobs:  # the clock went back an hour since they were planned
            assert job.next_run is not None
            job.next_run += timedelta(hours=1)
        before = datetime.now()
        schedule_clock.run_due(scheduler)
        for job in scheduler.jobs:
            assert job.last_run is not None and job.last_run >= before
            assert job.next_run is not None
            assert job.next_run <= datetime.now() + timedelta(minutes=1)
    finally:
        app.close()
