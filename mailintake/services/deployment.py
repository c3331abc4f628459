"""Use case step: saying when the deployment assumption of the sender check fails (issue 10).

Owns: `note_stamp` — for every incoming message in `authres`/`exchange` mode,
whether our border MTA stamped it (`staffauth.missing_stamp`); an unstamped one
is logged as a warning at most once an hour (`WARN_EVERY`) and reported in its
`Outcome` so the daemon counts it (`mailintake_errors_total{kind="mail_unstamped"}`).
Must not refuse or change the message: the sender check itself does that for
staff mail; this only says the assumption behind it is failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from mailintake.app import App
from mailintake.domain import staffauth
from mailintake.domain.mail import ParsedMail

log = structlog.get_logger()

WARN_EVERY = timedelta(hours=1)
UNSTAMPED = "mail_unstamped"


def note_stamp(app: App, mail: ParsedMail, now: datetime) -> bool:
    """True when our border did not stamp `mail`; warns in the log at most once an hour."""
    mode = staffauth.parse_auth_mode(app.settings.staff_auth)
    missing = staffauth.missing_stamp(mode, mail.headers)
    if missing is None:
        return False
    last = app.warned_at.get(UNSTAMPED)
    if last is None or now - last >= WARN_EVERY:
        app.warned_at[UNSTAMPED] = now
        log.warning(
            "security.mail_unstamped", mode=str(mode), reason=missing,
            message_id=mail.message_id, sender=mail.from_addr,
            hint="the border MTA is not stamping or was bypassed: staff commands cannot be "
            "trusted (README, Security); repeats are counted, logged once an hour",
        )  # fmt: skip
    return True
