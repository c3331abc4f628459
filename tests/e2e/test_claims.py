"""An outbox claim held by a live process is never taken from it (issue 11, second review).

Two real processes on SQLite and PostgreSQL: one stops with a claimed row just
before handing it to the SMTP server (`MAILINTAKE_TEST_PAUSE=outbox.sending`)
while the other flushes. Whatever the second one believes about time or about
the first one's liveness lock, the mail reaches the server once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.e2e.test_races import (
    deliveries,
    finish,
    now_iso,
    outbox_statuses,
    paused_at,
    run,
    start,
    upgraded,  # noqa: F401 - a fixture
    wait_for,
)
from tests.mails import INCOMPLETE_BODY, client_mail

pytestmark = pytest.mark.slow


def _claimed_and_held(tmp_path, env):
    """A `sweep` stopped with the ticket's confirmation claimed, just before sending it."""
    run(env, "ingest", "--no-send", "-", stdin=client_mail(body=INCOMPLETE_BODY))
    hold = tmp_path / "hold"
    first = start(env | paused_at("outbox.sending", hold), "sweep", "--now", now_iso())
    assert wait_for(lambda: (hold / "reached").exists())
    return first, hold


def test_a_clock_ahead_does_not_take_a_live_claim(tmp_path, upgraded, smtp_server):  # noqa: F811
    """A second instance whose clock runs 20 minutes ahead (NTP step, another machine, an
    operator's `sweep --now`) flushes while the first sends: the mail still goes out once."""
    env = upgraded | {"MAILINTAKE_SMTP_URL": smtp_server.url}
    first, hold = _claimed_and_held(tmp_path, env)
    ahead = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    run(env, "sweep", "--now", ahead)
    (hold / "release").touch()
    assert finish(first)[0] == 0
    assert list(deliveries(smtp_server).values()) == [1]
    assert outbox_statuses(env) == ["sent"]


def _terminate_sessions(database_url: str) -> int:
    """Every session of the test's own database ended, as a PostgreSQL restart ends them."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = %s and pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_a_claimer_whose_session_ended_is_not_sent_over(tmp_path, fresh_pg_url, smtp_server):
    """The server restarts while an instance holds a claim: its liveness lock went with its
    session, but it is alive and sends the row; another instance must not send it too."""
    env = run_env(tmp_path, fresh_pg_url) | {"MAILINTAKE_SMTP_URL": smtp_server.url}
    first, hold = _claimed_and_held(tmp_path, env)
    assert _terminate_sessions(fresh_pg_url) >= 1
    run(env, "sweep", "--now", now_iso())
    (hold / "release").touch()
    code, _, err = finish(first)
    assert code == 0, err
    assert list(deliveries(smtp_server).values()) == [1]
    assert outbox_statuses(env) == ["sent"]


def run_env(tmp_path, database_url: str) -> dict[str, str]:
    from tests.e2e.test_races import environment

    env = environment(tmp_path / "state", database_url)
    run(env, "db", "upgrade")
    return env


def test_a_message_in_hand_in_a_live_process_is_left_to_it(tmp_path, upgraded):  # noqa: F811
    """The same bytes come in twice at once (an MTA pipe and a retry, or two daemons on one
    SQLite file): the second sees the first holding them and says "later", never quarantine;
    the first makes the ticket and the second, retried, is a duplicate."""
    env = upgraded
    mail = client_mail(body=INCOMPLETE_BODY, message_id="in-hand@example.pl")
    hold = tmp_path / "hold"
    first = start(env | paused_at(HOLD_POINT, hold), "ingest", "--json", "-", stdin=mail)
    assert wait_for(lambda: (hold / "reached").exists())
    second = start(env, "ingest", "--json", "-", stdin=mail)
    code, _, err = finish(second)
    assert code == 75, err  # EX_TEMPFAIL: the MTA tries again later
    assert "in hand in another process" in err
    (hold / "release").touch()
    code, out, err = finish(first)
    assert code == 0, err
    assert json.loads(out)["outcome"] == "created"
    assert json.loads(run(env, "ingest", "--json", "-", stdin=mail))["outcome"] == "duplicate"
    assert json.loads(run(env, "quarantine", "list", "--json")) == []


HOLD_POINT = "intake.in_hand"
