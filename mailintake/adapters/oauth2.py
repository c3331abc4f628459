"""OAuth2 access tokens for XOAUTH2 logins to IMAP and SMTP (SPEC section 10).

Owns: getting an access token from the identity provider (Microsoft 365 client
credentials through `msal`, Google or any RFC 6749 token endpoint through a
refresh token), caching it until shortly before it expires, and remembering
whether the last refresh or login failed, so `/healthz`, `mailintake check` and
one staff alert per failure episode can tell ops (`services.alerts.alert_once`). Every failure
is logged as `oauth2.refresh_failed` / `oauth2.login_failed` with a precise
reason; secrets and tokens never reach the log or an error message.

Must not log in anywhere itself: `inbox` and `mailer` use the token and report
the outcome with `login_failed()` / `login_succeeded()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import structlog

from mailintake.errors import TransientError

if TYPE_CHECKING:
    import msal

    from mailintake.config import Settings

log = structlog.get_logger()

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
# One scope covers IMAP and SMTP AUTH of Exchange Online for an app (client credentials).
MICROSOFT_SCOPES = ["https://outlook.office365.com/.default"]
EXPIRY_MARGIN_SECONDS = 300.0  # refresh five minutes early: a login must never race expiry


class TokenProvider(Protocol):
    """An access token source that also knows whether OAuth2 currently works."""

    provider: str

    def token(self) -> str:
        """A valid access token (cached or fresh); `TransientError` with the reason if none."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token: the server refused it (expired early or revoked)."""
        ...

    def login_failed(self, reason: str) -> None:
        """A server refused a login with a fresh token: record and log *reason*."""
        ...

    def login_succeeded(self) -> None:
        """A server accepted a login: the failure episode, if any, is over."""
        ...

    @property
    def last_error(self) -> str | None:
        """The reason of the current failure, None while OAuth2 works."""
        ...

    @property
    def healthy(self) -> bool: ...

    def claim_alert(self) -> bool:
        """True once per failure episode: the caller then alerts staff."""
        ...


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Google's and Microsoft's XOAUTH2 protocol docs)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


class CachingTokenProvider:
    """The shared part: cache with an expiry margin, failure state, one alert per episode.

    Subclasses implement `_fetch() -> (access_token, expires_in_seconds)` and raise
    `TransientError` with a reason that names the endpoint but no secret.
    """

    provider = "oauth2"

    def __init__(
        self,
        *,
        margin: float = EXPIRY_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.margin = margin
        self._clock = clock
        self._lock = threading.Lock()  # the daemon's mailer and inbox may ask at the same time
        self._token: str | None = None
        self._refresh_at = 0.0
        self._error: str | None = None
        self._error_kind: str | None = None  # "refresh" or "login"
        self._alerted = False

    def token(self) -> str:
        with self._lock:
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token
            try:
                token, expires_in = self._fetch()
            except TransientError as exc:
                self._failed("refresh", str(exc))
                raise
            # Refresh early, but never so early that a short-lived token is fetched every call.
            margin = min(self.margin, expires_in / 2)
            self._token, self._refresh_at = token, self._clock() + expires_in - margin
            if self._error_kind == "refresh":
                self._recovered()
            log.info("oauth2.token_refreshed", provider=self.provider, expires_in=expires_in)
            return token

    def _fetch(self) -> tuple[str, float]:
        raise NotImplementedError

    def invalidate(self) -> None:
        with self._lock:
            self._token, self._refresh_at = None, 0.0

    def login_failed(self, reason: str) -> None:
        with self._lock:
            self._failed("login", reason)

    def login_succeeded(self) -> None:
        with self._lock:
            if self._error is not None:
                self._recovered()

    @property
    def last_error(self) -> str | None:
        return self._error

    @property
    def healthy(self) -> bool:
        return self._error is None

    def claim_alert(self) -> bool:
        with self._lock:
            if self._error is None or self._alerted:
                return False
            self._alerted = True
            return True

    def _failed(self, kind: str, reason: str) -> None:
        self._error, self._error_kind = reason, kind
        log.error(f"oauth2.{kind}_failed", provider=self.provider, reason=reason)

    def _recovered(self) -> None:
        log.info("oauth2.recovered", provider=self.provider, after=self._error)
        self._error = self._error_kind = None
        self._alerted = False  # the next failure is a new episode and alerts again


class TokenEndpointProvider(CachingTokenProvider):
    """An RFC 6749 token endpoint: refresh-token grant (section 6), else client credentials."""

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        refresh_token: str | None = None,
        scope: str | None = None,
        provider: str = "oauth2",
        timeout: float = 30.0,
        margin: float = EXPIRY_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(margin=margin, clock=clock)
        self.url, self.provider, self.timeout = url, provider, timeout
        self._client_id, self._client_secret = client_id, client_secret
        self._refresh_token, self._scope = refresh_token, scope

    def _form(self) -> dict[str, str]:
        form = {"client_id": self._client_id, "client_secret": self._client_secret}
        if self._refresh_token:
            form.update(grant_type="refresh_token", refresh_token=self._refresh_token)
        else:
            form["grant_type"] = "client_credentials"
        if self._scope:
            form["scope"] = self._scope
        return form

    def _fetch(self) -> tuple[str, float]:
        request = Request(
            self.url,
            data=urlencode(self._form()).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except HTTPError as exc:
            raise TransientError(self._refused(exc.code, exc.read())) from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransientError(f"token endpoint {self.url} unreachable: {reason}") from None
        return self._parse(body)

    def _refused(self, status: int, body: bytes) -> str:
        # RFC 6749 section 5.2: {"error": "invalid_grant", "error_description": "..."}
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        error = data.get("error", "") if isinstance(data, dict) else ""
        described = data.get("error_description", "") if isinstance(data, dict) else ""
        detail = ": ".join(str(part) for part in (error, described) if part) or "no error given"
        grant = self._form()["grant_type"]
        return f"token endpoint {self.url} refused the {grant} grant: {status} {detail}"

    def _parse(self, body: bytes) -> tuple[str, float]:
        try:
            data = json.loads(body)
            token = str(data["access_token"])
            expires_in = float(data.get("expires_in", 3600))  # RFC 6749 5.1: RECOMMENDED
        except (ValueError, KeyError, TypeError):
            raise TransientError(f"token endpoint {self.url} sent no access_token") from None
        if data.get("refresh_token"):  # rotation: Google may hand out a new refresh token
            self._refresh_token = str(data["refresh_token"])
        return token, expires_in


class GoogleRefreshToken(TokenEndpointProvider):
    """Google's token endpoint with the refresh token of the mailbox's user."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        timeout: float = 30.0,
        margin: float = EXPIRY_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            GOOGLE_TOKEN_URL,
            client_id,
            client_secret,
            refresh_token=refresh_token,
            provider="google",
            timeout=timeout,
            margin=margin,
            clock=clock,
        )


class MicrosoftClientCredentials(CachingTokenProvider):
    """Microsoft 365: the app's own token (client credentials) through msal."""

    provider = "microsoft"

    def __init__(
        self,
        tenant: str,
        client_id: str,
        client_secret: str,
        *,
        margin: float = EXPIRY_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(margin=margin, clock=clock)
        self.authority = MICROSOFT_AUTHORITY.format(tenant=tenant)
        self._client_id, self._client_secret = client_id, client_secret
        self._app: msal.ConfidentialClientApplication | None = None

    def invalidate(self) -> None:
        super().invalidate()
        self._app = None  # msal caches the token too: a new app starts with an empty cache

    def _fetch(self) -> tuple[str, float]:
        import msal  # imported late: only Microsoft setups pay for it

        try:
            app = self._app
            if app is None:
                app = self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    authority=self.authority,
                    client_credential=self._client_secret,
                )
            result = app.acquire_token_for_client(scopes=MICROSOFT_SCOPES)
        except Exception as exc:  # msal raises ValueError and requests' errors for a bad tenant
            self._app = None
            raise TransientError(f"{self.authority} unreachable: {exc}") from None
        if "access_token" not in result:
            detail = result.get("error_description") or result.get("error") or "no token"
            first = str(detail).strip().splitlines()[0]
            raise TransientError(f"{self.authority} refused the client credentials: {first}")
        return result["access_token"], float(result.get("expires_in", 3600))


def make_token_provider(settings: Settings) -> TokenProvider | None:
    """The provider `MAILINTAKE_OAUTH2_PROVIDER` names, or None (password logins)."""
    s = settings
    if s.oauth2_provider == "microsoft":
        return MicrosoftClientCredentials(
            s.oauth2_tenant or "", s.oauth2_client_id or "", s.oauth2_client_secret or ""
        )
    if s.oauth2_provider == "google":
        return GoogleRefreshToken(
            s.oauth2_client_id or "", s.oauth2_client_secret or "", s.oauth2_refresh_token or ""
        )
    return None


def smtp_uses_oauth2(settings: Settings) -> bool:
    """SMTP logs in with XOAUTH2 when OAuth2 is on and a user but no password is set."""
    s = settings
    return bool(
        s.oauth2_provider
        and s.smtp_user
        and not s.smtp_password
        and not s.smtp_url.startswith("file://")
    )
