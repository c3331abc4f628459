"""Use case: telling staff, once per episode, that the mailbox cannot be read (OAuth2, SPEC §10).

Owns: the de-duplicated staff alert for a failing OAuth2 refresh or login. The
token provider (an adapter) only records the failure; this service decides to
mail about it. Opens its own transaction: call it outside any.
"""

from __future__ import annotations

import structlog

from mailintake.adapters import db
from mailintake.adapters.oauth2 import smtp_uses_oauth2
from mailintake.app import App
from mailintake.services.notices import notify_staff

log = structlog.get_logger()


def alert_once(app: App, reason: str) -> bool:
    """Alert staff once per failure episode; True when this call queued the alert.

    The alert goes through the outbox (SMTP). When SMTP logs in with the same
    failing OAuth2 app it cannot leave now, so it is also logged at critical level.
    Call it outside any open transaction (it opens its own).
    """
    provider = app.token_provider
    if provider is None or not provider.claim_alert():
        return False
    if smtp_uses_oauth2(app.settings):
        log.critical("oauth2.alert_undeliverable", provider=provider.provider, reason=reason)
    try:
        with db.transaction(app.engine) as session:
            notify_staff(
                session,
                app,
                subject="[mailintake] OAuth2 login failing: mail is not being read",
                title="mailintake cannot log in to the mailbox with OAuth2",
                lines=[reason, "Check the app registration and MAILINTAKE_OAUTH2_* settings."],
                now=app.clock(),
            )
    except Exception as exc:  # the alert must never take the daemon down; say it loudly
        log.critical(
            "oauth2.alert_failed", provider=provider.provider, reason=reason, error=str(exc)
        )
        return False
    return True


def alert_if_failing(app: App) -> bool:
    """`alert_once` with the provider's current failure, if any (for the daemon loop)."""
    provider = app.token_provider
    if provider is None or provider.last_error is None:
        return False
    return alert_once(app, provider.last_error)
