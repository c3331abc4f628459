"""The mailer adapter against a real SMTP server (aiosmtpd) and a real directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailintake.adapters.mailer import PermanentSendError, open_mailer
from mailintake.errors import ConfigError, TransientError
from tests.servers import SmtpServer, free_port

SENDER = "support@log-systems.com"


def notice(n: int = 1) -> bytes:
    return (
        f"From: {SENDER}\r\nTo: klient@example.com\r\nSubject: [LOG-{n:06d}] Potwierdzenie\r\n"
        f"\r\nDzien dobry,\r\n.kropka na poczatku linii\r\n"
    ).encode()


def test_smtp_delivers_the_message_byte_identical_with_its_envelope(
    smtp_server: SmtpServer, eight_bit_mail: bytes
) -> None:
    """The server receives exactly the bytes given, from the envelope sender to the recipients."""
    mailer = open_mailer(smtp_server.url)
    raw = eight_bit_mail

    mailer.send(SENDER, ["klient@example.com", "kopia@example.com"], raw)
    mailer.close()

    (received,) = smtp_server.wait_for(1)
    assert received.data == raw
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["klient@example.com", "kopia@example.com"]


def test_smtp_sends_several_messages_over_one_mailer(smtp_server: SmtpServer) -> None:
    """Consecutive sends on one mailer all arrive, in order."""
    mailer = open_mailer(smtp_server.url)

    for n in range(3):
        mailer.send(SENDER, ["klient@example.com"], notice(n))
    mailer.close()

    assert [m.data for m in smtp_server.wait_for(3)] == [notice(n) for n in range(3)]


def test_refused_recipient_is_a_permanent_error(smtp_server: SmtpServer) -> None:
    """A 550 for the only recipient raises PermanentSendError and nothing is delivered."""
    smtp_server.refuse("nieznany@example.com")
    mailer = open_mailer(smtp_server.url)

    with pytest.raises(PermanentSendError) as failure:
        mailer.send(SENDER, ["nieznany@example.com"], notice())

    assert failure.value.refused["nieznany@example.com"][0] == 550
    mailer.send(SENDER, ["klient@example.com"], notice(2))  # the connection is still usable
    mailer.close()
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [["klient@example.com"]]


def test_partly_refused_recipients_are_permanent_and_the_rest_delivered(
    smtp_server: SmtpServer,
) -> None:
    """When one of two recipients is refused the other gets the mail; retrying would duplicate."""
    smtp_server.refuse("nieznany@example.com")
    mailer = open_mailer(smtp_server.url)

    with pytest.raises(PermanentSendError, match="nieznany@example.com"):
        mailer.send(SENDER, ["klient@example.com", "nieznany@example.com"], notice())
    mailer.close()

    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [["klient@example.com"]]


def test_server_down_is_a_transient_error() -> None:
    """Nobody listening is a transient fault: the outbox will retry."""
    mailer = open_mailer(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError):
        mailer.send(SENDER, ["klient@example.com"], notice())


def test_server_outage_is_transient_and_sending_resumes_after_it(smtp_server: SmtpServer) -> None:
    """A send during an outage raises TransientError; once the server is back the mailer works."""
    mailer = open_mailer(smtp_server.url)
    mailer.send(SENDER, ["klient@example.com"], notice(1))

    smtp_server.stop()
    try:
        with pytest.raises(TransientError):
            mailer.send(SENDER, ["klient@example.com"], notice(2))
    finally:
        smtp_server.start()

    mailer.send(SENDER, ["klient@example.com"], notice(3))
    mailer.close()
    assert [m.data for m in smtp_server.wait_for(2)] == [notice(1), notice(3)]


def test_check_passes_for_a_reachable_server(smtp_server: SmtpServer) -> None:
    """check() succeeds when the SMTP server answers."""
    mailer = open_mailer(smtp_server.url)
    mailer.check()
    mailer.close()


def test_check_of_an_unreachable_server_is_transient() -> None:
    """check() names the unreachable server."""
    port = free_port()
    mailer = open_mailer(f"smtp://127.0.0.1:{port}")
    with pytest.raises(TransientError, match=str(port)):
        mailer.check()


def test_unknown_scheme_is_a_config_error() -> None:
    """An SMTP URL with an unknown scheme is refused with the variable's name."""
    with pytest.raises(ConfigError, match="MAILINTAKE_SMTP_URL"):
        open_mailer("lmtp://127.0.0.1:24")


# --- file:// -------------------------------------------------------------------------------


def test_file_mailer_writes_each_message_unchanged_to_its_own_eml(
    tmp_path: Path, eight_bit_mail: bytes
) -> None:
    """Each sent message becomes one .eml file holding exactly the bytes given."""
    outbox = tmp_path / "outbox"
    mailer = open_mailer(f"file://{outbox}")
    raws = [eight_bit_mail, notice(1), notice(2)]

    for raw in raws:
        mailer.send(SENDER, ["klient@example.com"], raw)

    files = sorted(outbox.iterdir())
    assert [f.read_bytes() for f in files] == raws
    assert all(re.fullmatch(r"\d{8}T\d{12}Z-[0-9a-f]{12}\.eml", f.name) for f in files)


def test_file_mailer_keeps_identical_messages_to_different_recipients_apart(
    tmp_path: Path,
) -> None:
    """The same bytes sent to two envelopes are two files, not one overwritten."""
    mailer = open_mailer(f"file://{tmp_path}")

    mailer.send(SENDER, ["a@example.com"], notice())
    mailer.send(SENDER, ["b@example.com"], notice())

    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_file_mailer_leaves_no_temporary_files(tmp_path: Path) -> None:
    """Only finished .eml files remain in the directory after sending."""
    mailer = open_mailer(f"file://{tmp_path}")
    mailer.send(SENDER, ["klient@example.com"], notice())

    assert [f.suffix for f in tmp_path.iterdir()] == [".eml"]
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]


def test_file_mailer_check_creates_the_directory(tmp_path: Path) -> None:
    """check() on file:// creates the missing directory."""
    mailer = open_mailer(f"file://{tmp_path / 'var' / 'outbox'}")
    mailer.check()
    assert (tmp_path / "var" / "outbox").is_dir()


def test_file_mailer_into_an_unwritable_place_is_transient(tmp_path: Path) -> None:
    """A directory that cannot be created is a transient fault for a send."""
    blocker = tmp_path / "plik"
    blocker.write_text("not a directory")
    mailer = open_mailer(f"file://{blocker / 'outbox'}")
    with pytest.raises(TransientError):
        mailer.send(SENDER, ["klient@example.com"], notice())
