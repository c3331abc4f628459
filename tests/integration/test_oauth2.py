"""OAuth2 (XOAUTH2) logins against a real Dovecot and a real SMTP server (issue 6, SPEC §10).

A loopback HTTP server plays the identity provider: it issues access tokens at
`/token` (RFC 6749 refresh-token grant, with `expires_in`) and tells Dovecot's
`oauth2` passdb at `/introspect` (RFC 7662) whether a token is still active.
Dovecot therefore accepts exactly the tokens the provider considers valid, as
Microsoft 365 and Gmail do. The aiosmtpd server checks XOAUTH2 the same way.
"""

from __future__ import annotations

import base64
import functools
import json
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from imapclient import IMAPClient
from structlog.testing import capture_logs

from mailintake import cli
from mailintake.adapters import db, oauth2
from mailintake.adapters.inbox import open_inbox
from mailintake.adapters.mailer import open_mailer
from mailintake.adapters.oauth2 import TokenEndpointProvider, xoauth2_string
from mailintake.errors import ConfigError, TransientError
from mailintake.services import alerts
from tests.apps import make_app, make_settings
from tests.servers import (
    DOVECOT_CONF,
    CollectingHandler,
    DovecotServer,
    _running_dovecot,
    free_port,
)

pytestmark = pytest.mark.dovecot

CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "mailintake-app", "s3cr3t-client", "rt-0123456789"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN)
REVOKED = (
    400,
    {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
)


# --- the identity provider ------------------------------------------------------------------


@dataclass
class IdentityProvider:
    """Token endpoint and RFC 7662 introspection endpoint on one loopback HTTP server."""

    port: int
    user: str = ""  # the mailbox the issued tokens are for
    expires_in: int = 3600
    failure: tuple[int, dict] | None = None  # answer every token request with this error
    issue_inactive: bool = False  # issue tokens the mail servers will refuse
    token_requests: int = 0
    active: dict[str, str] = field(default_factory=dict)  # token -> user
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    def reset(self, user: str) -> None:
        with self.lock:
            self.user, self.expires_in, self.failure = user, 3600, None
            self.issue_inactive, self.token_requests = False, 0
            self.active.clear()

    def mint(self, user: str) -> str:
        """A valid token for *user* without a token request (for the test's own logins)."""
        token = f"direct-{uuid.uuid4().hex}"
        with self.lock:
            self.active[token] = user
        return token

    def revoke_all(self) -> None:
        """Every issued token stops working, as when it expired early or was revoked."""
        with self.lock:
            self.active.clear()

    def issue(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            self.token_requests += 1
            if self.failure is not None:
                return self.failure
            grant = (form.get("grant_type"), form.get("refresh_token"))
            credentials = (form.get("client_id"), form.get("client_secret"))
            if grant != ("refresh_token", REFRESH_TOKEN) or credentials != (
                CLIENT_ID,
                CLIENT_SECRET,
            ):
                return 400, {"error": "invalid_client"}
            token = f"at-{uuid.uuid4().hex}"
            if not self.issue_inactive:
                self.active[token] = self.user
            return 200, {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }

    def introspect(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            user = self.active.get(form.get("token", ""))
        return 200, ({"active": True, "username": user} if user else {"active": False})

    def is_active(self, user: str, token: str) -> bool:
        with self.lock:
            return self.active.get(token) == user


def _http_handler(idp: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            route = {"/token": idp.issue, "/introspect": idp.introspect}.get(self.path)
            status, answer = route(form) if route else (404, {"error": "not_found"})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None  # quiet: pytest shows failures, not every request

    return Handler


@pytest.fixture(scope="module")
def _idp() -> Iterator[IdentityProvider]:
    idp = IdentityProvider(port=free_port())
    server = ThreadingHTTPServer(("127.0.0.1", idp.port), _http_handler(idp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- Dovecot with the oauth2 passdb -----------------------------------------------------------

# Dovecot 2.3 oauth2 passdb (doc.dovecot.org, "Open Authentication v2.0 database"):
# every XOAUTH2 token is POSTed to the introspection endpoint, which must say active=true.
OAUTH2_EXT = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""
STATIC_PASSDB = """\
    passdb {{
      driver = static
      args = password={password}
    }}
"""
OAUTH2_PASSDB = """\
    passdb {{
      driver = oauth2
      mechanisms = xoauth2 oauthbearer
      args = {base}/dovecot-oauth2.conf.ext
    }}
"""


NO_PENALTY = """\
auth_mechanisms = xoauth2
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
"""


@dataclass
class OAuthDovecot(DovecotServer):
    """The shared Dovecot setup, but logins are XOAUTH2 tokens checked by the provider."""

    idp: IdentityProvider | None = None

    def write_conf(self) -> None:
        assert self.idp is not None
        super().write_conf()
        # Swap the password passdb for the oauth2 one; fail loudly if tests/servers.py changed.
        static = textwrap.dedent(STATIC_PASSDB).format(password=self.password)
        text = self.conf.read_text()
        assert static in text and "auth_mechanisms = plain login\n" in text
        text = text.replace(static, textwrap.dedent(OAUTH2_PASSDB).format(base=self.base))
        # The tests refuse tokens on purpose: no failure delay and no anvil auth penalty
        # (a mode-0 listener disables it), else every later login waits 2-15 s.
        text = text.replace("auth_mechanisms = plain login\n", NO_PENALTY)
        self.conf.write_text(text)
        ext = OAUTH2_EXT.format(url=self.idp.introspection_url)
        (self.base / "dovecot-oauth2.conf.ext").write_text(ext)

    def client(self, user: str) -> IMAPClient:
        """A logged-in IMAPClient for *user* (a token minted for it); the caller logs out."""
        assert self.idp is not None
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client._imap.debug = 0
        client.normalise_times = False
        try:
            client.oauth2_login(user, self.idp.mint(user))
        except Exception:
            client.shutdown()
            raise
        return client


@pytest.fixture(scope="module")
def _oauth_dovecot(_idp: IdentityProvider) -> Iterator[OAuthDovecot]:
    assert "passdb" in DOVECOT_CONF
    with _running_dovecot(make=functools.partial(OAuthDovecot, idp=_idp)) as server:
        yield server


@dataclass
class Mailbox:
    """One test's mailbox on the OAuth2 Dovecot, with the provider primed for its user."""

    dovecot: OAuthDovecot
    idp: IdentityProvider
    user: str

    @property
    def url(self) -> str:
        return self.dovecot.url(self.user)


@pytest.fixture
def mailbox(_oauth_dovecot: OAuthDovecot, _idp: IdentityProvider) -> Mailbox:
    user = f"{_oauth_dovecot.new_user()}@log-systems.com"
    _idp.reset(user)
    return Mailbox(_oauth_dovecot, _idp, user)


class FakeClock:
    """Monotonic seconds the test moves by hand: expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider_for(idp: IdentityProvider, **kwargs) -> TokenEndpointProvider:
    return TokenEndpointProvider(
        idp.token_url, CLIENT_ID, CLIENT_SECRET, refresh_token=REFRESH_TOKEN, **kwargs
    )


def message(subject: str) -> bytes:
    return (
        f"From: klient@example.com\r\nTo: support@log-systems.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@example.com>\r\n\r\nOpis problemu.\r\n"
    ).encode()


# --- IMAP -------------------------------------------------------------------------------------


def test_imap_xoauth2_login_reads_the_mailbox(mailbox: Mailbox) -> None:
    """With a token provider the inbox logs in with XOAUTH2 and reads the waiting mail."""
    mailbox.dovecot.append(mailbox.user, message("Awaria drukarki"))
    tokens = provider_for(mailbox.idp)
    inbox = open_inbox(mailbox.url, token_provider=tokens)
    try:
        items = list(inbox.fetch(10**7))
    finally:
        inbox.close()

    assert [b"Subject: Awaria drukarki" in (item.raw or b"") for item in items] == [True]
    assert tokens.healthy and tokens.last_error is None


def test_imap_login_without_a_valid_token_is_refused_by_the_server(mailbox: Mailbox) -> None:
    """The Dovecot under test really checks tokens: a made-up one does not log in."""
    client = IMAPClient(mailbox.dovecot.host, mailbox.dovecot.port, ssl=False, timeout=10)
    try:
        with pytest.raises(Exception, match="(?i)fail"):
            client.oauth2_login(mailbox.user, "not-a-token")
    finally:
        client.shutdown()


def test_token_is_cached_across_logins(mailbox: Mailbox) -> None:
    """Several logins within the token's lifetime ask the token endpoint only once."""
    tokens = provider_for(mailbox.idp)
    for _ in range(3):
        inbox = open_inbox(mailbox.url, token_provider=tokens)
        inbox.check()
        inbox.close()

    assert mailbox.idp.token_requests == 1


def test_token_is_refreshed_before_it_expires(mailbox: Mailbox) -> None:
    """Inside the expiry margin a new token is fetched, and the login with it works."""
    clock = FakeClock()
    tokens = provider_for(mailbox.idp, margin=300, clock=clock)
    inbox = open_inbox(mailbox.url, token_provider=tokens)
    inbox.check()
    clock.now += 3600 - 301  # still outside the five-minute margin
    inbox.check()
    assert mailbox.idp.token_requests == 1

    clock.now += 2  # now within five minutes of expiry
    inbox.check()
    inbox.close()

    assert mailbox.idp.token_requests == 2


def test_expired_or_revoked_token_is_replaced_and_the_login_works(mailbox: Mailbox) -> None:
    """A cached token the server no longer accepts is refreshed once and the login succeeds."""
    tokens = provider_for(mailbox.idp)
    inbox = open_inbox(mailbox.url, token_provider=tokens)
    inbox.check()
    mailbox.idp.revoke_all()

    inbox.check()  # a new connection: the old token is refused, a fresh one accepted
    inbox.close()

    assert mailbox.idp.token_requests == 2
    assert tokens.healthy


def test_failing_refresh_raises_transient_error_with_the_endpoints_reason(
    mailbox: Mailbox,
) -> None:
    """A refused refresh stops the login with the endpoint's reason, logged, and no secret."""
    mailbox.idp.failure = REVOKED
    tokens = provider_for(mailbox.idp)
    inbox = open_inbox(mailbox.url, token_provider=tokens)

    with capture_logs() as logs, pytest.raises(TransientError) as raised:
        inbox.check()

    reason = str(raised.value)
    assert "400 invalid_grant: Token has been expired or revoked." in reason
    assert mailbox.idp.token_url in reason
    assert tokens.last_error == reason and not tokens.healthy
    failures = [e for e in logs if e["event"] == "oauth2.refresh_failed"]
    assert failures == [
        {
            "event": "oauth2.refresh_failed",
            "provider": "oauth2",
            "reason": reason,
            "log_level": "error",
        }
    ]
    assert not any(secret in repr(logs) + reason for secret in SECRETS)


def test_unreachable_token_endpoint_is_a_transient_error(mailbox: Mailbox) -> None:
    """A token endpoint nobody listens on gives TransientError naming it."""
    url = f"http://127.0.0.1:{free_port()}/token"
    tokens = TokenEndpointProvider(url, CLIENT_ID, CLIENT_SECRET, refresh_token=REFRESH_TOKEN)

    with pytest.raises(TransientError, match=f"token endpoint {url} unreachable"):
        tokens.token()
    assert tokens.last_error is not None


def test_login_refused_with_a_fresh_token_is_recorded(mailbox: Mailbox) -> None:
    """When the server refuses even a fresh token, the failure names the mailbox and is kept."""
    mailbox.idp.issue_inactive = True
    tokens = provider_for(mailbox.idp)
    inbox = open_inbox(mailbox.url, token_provider=tokens)

    with capture_logs() as logs, pytest.raises(TransientError, match="XOAUTH2 login refused"):
        inbox.check()

    assert mailbox.user in (tokens.last_error or "")
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["oauth2.login_failed"]


def test_recovery_after_a_failed_refresh_makes_the_provider_healthy(mailbox: Mailbox) -> None:
    """Once the endpoint answers again, the next login works and the failure is cleared."""
    mailbox.idp.failure = REVOKED
    tokens = provider_for(mailbox.idp)
    inbox = open_inbox(mailbox.url, token_provider=tokens)
    with pytest.raises(TransientError):
        inbox.check()

    mailbox.idp.failure = None
    inbox.check()
    inbox.close()

    assert tokens.healthy and tokens.last_error is None


# --- staff alert ------------------------------------------------------------------------------


def _google_app(tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(oauth2, "GOOGLE_TOKEN_URL", mailbox.idp.token_url)
    return make_app(
        tmp_path,
        inbox_url=mailbox.url,
        oauth2_provider="google",
        oauth2_client_id=CLIENT_ID,
        oauth2_client_secret=CLIENT_SECRET,
        oauth2_refresh_token=REFRESH_TOKEN,
    )


def _check_inbox(app) -> None:
    inbox = app.open_inbox()
    try:
        inbox.check()
    finally:
        inbox.close()


def _staff_alerts(app) -> list[db.OutboxRow]:
    with db.transaction(app.engine) as session:
        rows = session.exec(sa.select(db.OutboxRow)).scalars().all()
        return [r for r in rows if b"OAuth2 login failing" in r.raw]


def test_staff_are_alerted_once_per_failure_episode(
    tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeated failures alert staff once; after a success the next failure alerts again."""
    app = _google_app(tmp_path, mailbox, monkeypatch)
    mailbox.idp.failure = REVOKED
    sent = []
    for _ in range(3):
        with pytest.raises(TransientError):
            _check_inbox(app)
        sent.append(alerts.alert_if_failing(app))
    assert sent == [True, False, False]
    (alert,) = _staff_alerts(app)
    assert alert.recipients == ["anna.nowak@log-systems.com"]
    assert b"invalid_grant" in alert.raw.replace(b"=\r\n", b"")

    mailbox.idp.failure = None
    _check_inbox(app)
    assert alerts.alert_if_failing(app) is False  # healthy: nothing to report
    mailbox.idp.failure = REVOKED
    app.token_provider.invalidate()
    with pytest.raises(TransientError):
        _check_inbox(app)
    assert alerts.alert_once(app, app.token_provider.last_error) is True
    assert len(_staff_alerts(app)) == 2
    app.close()


def test_alert_is_logged_loudly_when_smtp_uses_the_failing_oauth2(
    tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When SMTP logs in with the same OAuth2 app, the alert cannot leave and is logged critical."""
    monkeypatch.setattr(oauth2, "GOOGLE_TOKEN_URL", mailbox.idp.token_url)
    app = make_app(
        tmp_path,
        inbox_url=mailbox.url,
        smtp_url="smtp://127.0.0.1:1",
        smtp_user=mailbox.user,
        oauth2_provider="google",
        oauth2_client_id=CLIENT_ID,
        oauth2_client_secret=CLIENT_SECRET,
        oauth2_refresh_token=REFRESH_TOKEN,
    )
    mailbox.idp.failure = REVOKED
    with pytest.raises(TransientError):
        _check_inbox(app)

    with capture_logs() as logs:
        alerts.alert_if_failing(app)

    critical = [e for e in logs if e["log_level"] == "critical"]
    assert [e["event"] for e in critical] == ["oauth2.alert_undeliverable"]
    assert "invalid_grant" in critical[0]["reason"]
    app.close()


# --- mailintake check -------------------------------------------------------------------------


@pytest.fixture
def _keep_logging() -> Iterator[None]:
    """`cli.main` configures structlog for the captured stderr; restore it afterwards."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _check(tmp_path: Path, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    env = {
        "MAILINTAKE_STATE_DIR": str(tmp_path),
        "MAILINTAKE_INBOX_URL": mailbox.url,
        "MAILINTAKE_OAUTH2_PROVIDER": "google",
        "MAILINTAKE_OAUTH2_CLIENT_ID": CLIENT_ID,
        "MAILINTAKE_OAUTH2_CLIENT_SECRET": CLIENT_SECRET,
        "MAILINTAKE_OAUTH2_REFRESH_TOKEN": REFRESH_TOKEN,
        "MAILINTAKE_LOG_FORMAT": "json",
    }
    env_file = tmp_path / "mailintake.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    assert cli.main(["--env-file", str(env_file), "db", "upgrade"]) == 0
    capsys.readouterr()
    status = cli.main(["--env-file", str(env_file), "check"])
    return status, capsys.readouterr().out


@pytest.mark.usefixtures("_keep_logging")
def test_check_says_ok_for_a_working_oauth2_login(
    tmp_path: Path,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`mailintake check` gets a token and logs in to the mailbox with it."""
    monkeypatch.setattr(oauth2, "GOOGLE_TOKEN_URL", mailbox.idp.token_url)

    status, out = _check(tmp_path, mailbox, capsys)

    assert "OK   oauth2 (google)" in out.splitlines()
    assert "OK   mailbox" in out.splitlines()
    assert status == 0


@pytest.mark.usefixtures("_keep_logging")
def test_check_says_fail_with_the_reason_when_the_refresh_fails(
    tmp_path: Path,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`mailintake check` prints FAIL with the endpoint's answer and exits non-zero."""
    monkeypatch.setattr(oauth2, "GOOGLE_TOKEN_URL", mailbox.idp.token_url)
    mailbox.idp.failure = REVOKED

    status, out = _check(tmp_path, mailbox, capsys)

    lines = out.splitlines()
    expected = (
        f"FAIL oauth2 (google): token endpoint {mailbox.idp.token_url} refused the "
        "refresh_token grant: 400 invalid_grant: Token has been expired or revoked."
    )
    assert expected in lines
    assert any(line.startswith("FAIL mailbox: ") for line in lines)
    assert status == 1
    assert not any(secret in out for secret in SECRETS)


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class XOAuth2Handler(CollectingHandler):
    """Collects mail and checks AUTH XOAUTH2 tokens against the identity provider."""

    idp: IdentityProvider | None = None
    logins: list[str] = field(default_factory=list)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        fields = base64.b64decode(args[1]).decode().split("\x01")
        user = fields[0].removeprefix("user=")
        token = fields[1].removeprefix("auth=Bearer ")
        assert self.idp is not None
        if self.idp.is_active(user, token):
            self.logins.append(user)
            return AuthResult(success=True, auth_data=user)
        # Google's XOAUTH2 error flow: a 334 JSON challenge, an empty answer, then 535.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "Bearer"}))
        return AuthResult(success=False, handled=False)  # aiosmtpd then answers 535


@pytest.fixture
def oauth_smtp(mailbox: Mailbox) -> Iterator[tuple[str, XOAuth2Handler]]:
    handler = XOAuth2Handler(idp=mailbox.idp)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", handler
    finally:
        controller.stop()


def test_smtp_xoauth2_login_sends_the_mail(
    mailbox: Mailbox, oauth_smtp: tuple[str, XOAuth2Handler]
) -> None:
    """The mailer logs in with AUTH XOAUTH2 and the message is delivered."""
    url, handler = oauth_smtp
    tokens = provider_for(mailbox.idp)
    mailer = open_mailer(url, user=mailbox.user, token_provider=tokens)
    mailer.send(mailbox.user, ["klient@example.com"], message("Potwierdzenie"))
    mailer.close()

    assert handler.logins == [mailbox.user]
    assert len(handler.messages) == 1


def test_smtp_revoked_token_is_replaced_once(
    mailbox: Mailbox, oauth_smtp: tuple[str, XOAuth2Handler]
) -> None:
    """A revoked cached token gets a 535, a fresh token is fetched and the login succeeds."""
    url, handler = oauth_smtp
    tokens = provider_for(mailbox.idp)
    tokens.token()
    mailbox.idp.revoke_all()

    mailer = open_mailer(url, user=mailbox.user, token_provider=tokens)
    mailer.check()
    mailer.close()

    assert handler.logins == [mailbox.user]
    assert mailbox.idp.token_requests == 2


def test_smtp_refusing_fresh_tokens_is_a_transient_error_with_the_reason(
    mailbox: Mailbox, oauth_smtp: tuple[str, XOAuth2Handler]
) -> None:
    """When the SMTP server refuses even a fresh token the mailer says so and records it."""
    url, _ = oauth_smtp
    mailbox.idp.issue_inactive = True
    tokens = provider_for(mailbox.idp)
    mailer = open_mailer(url, user=mailbox.user, token_provider=tokens)

    with pytest.raises(TransientError, match="SMTP XOAUTH2 login refused .* 535"):
        mailer.check()
    assert not tokens.healthy


def test_xoauth2_string_follows_the_xoauth2_protocol() -> None:
    """The SASL string is user=…^Aauth=Bearer …^A^A (Google/Microsoft XOAUTH2 docs)."""
    assert xoauth2_string("a@b.pl", "tok") == "user=a@b.pl\x01auth=Bearer tok\x01\x01"


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        (
            {"OAUTH2_PROVIDER": "microsoft", "OAUTH2_CLIENT_ID": "a", "OAUTH2_CLIENT_SECRET": "b"},
            "MAILINTAKE_OAUTH2_TENANT",
        ),
        (
            {"OAUTH2_PROVIDER": "microsoft", "OAUTH2_TENANT": "t", "OAUTH2_CLIENT_SECRET": "b"},
            "MAILINTAKE_OAUTH2_CLIENT_ID",
        ),
        (
            {"OAUTH2_PROVIDER": "google", "OAUTH2_CLIENT_ID": "a", "OAUTH2_REFRESH_TOKEN": "r"},
            "MAILINTAKE_OAUTH2_CLIENT_SECRET",
        ),
        (
            {"OAUTH2_PROVIDER": "google", "OAUTH2_CLIENT_ID": "a", "OAUTH2_CLIENT_SECRET": "b"},
            "MAILINTAKE_OAUTH2_REFRESH_TOKEN",
        ),
    ],
)
def test_an_incomplete_oauth2_setup_names_the_missing_variable(
    tmp_path: Path, env: dict[str, str], missing: str
) -> None:
    """A provider without its client id, secret, tenant or refresh token stops the start."""
    with pytest.raises(ConfigError, match=f"^{missing}: required"):
        make_settings(tmp_path, **env)


def test_microsoft_settings_give_client_credentials_for_the_tenant(tmp_path: Path) -> None:
    """MAILINTAKE_OAUTH2_PROVIDER=microsoft selects msal's client credentials for the tenant."""
    settings = make_settings(
        tmp_path,
        oauth2_provider="microsoft",
        oauth2_tenant="contoso.onmicrosoft.com",
        oauth2_client_id="a",
        oauth2_client_secret="b",
    )
    tokens = oauth2.make_token_provider(settings)

    assert isinstance(tokens, oauth2.MicrosoftClientCredentials)
    assert tokens.authority == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
