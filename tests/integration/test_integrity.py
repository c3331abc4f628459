"""A database constraint failure is a fault to keep the message for, never a silent duplicate."""

from __future__ import annotations

import sqlalchemy as sa

from mailintake import daemon
from tests.apps import make_app
from tests.mails import INCOMPLETE_BODY, client_mail


def test_a_constraint_failure_quarantines_the_message_instead_of_dropping_it(tmp_path):
    """An IntegrityError that is not another instance's commit leaves the message in Quarantine."""
    app = make_app(tmp_path / "state", inbox_url=f"maildir://{tmp_path / 'inbox'}")
    with app.engine.begin() as conn:
        # SQLite reports RAISE(ABORT) as a constraint violation, like a NOT NULL or CHECK would.
        conn.execute(sa.text(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON ticket WHEN NEW.subject = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
        ))  # fmt: skip
    new = tmp_path / "inbox" / "new"
    new.mkdir(parents=True)
    (new / "1.boom").write_bytes(client_mail(subject="boom", body=INCOMPLETE_BODY))
    (new / "2.fine").write_bytes(client_mail(subject="fine", body=INCOMPLETE_BODY))
    try:
        result = daemon.run_once(app)
    finally:
        app.close()
    assert result.outcomes == {"quarantined": 1, "created": 1}
    quarantined = list((tmp_path / "inbox" / ".Quarantine").rglob("1.boom*"))
    assert len(quarantined) == 1
    assert not list((tmp_path / "inbox" / ".Processed").rglob("1.boom*"))
