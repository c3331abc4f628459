"""The inbox adapter against a real Dovecot (IMAP) and a real Maildir on disk."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailintake.adapters.inbox import Inbox, InboxItem, open_inbox, uid_set
from mailintake.errors import ConfigError, TransientError
from tests.servers import DovecotServer, free_port

BIG = 10**7
T0 = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)


def message(subject: str, body: str = "Opis problemu.") -> bytes:
    """A small RFC 5322 message with CRLF line ends, as it travels on the wire."""
    return (
        f"From: Klient <klient@example.com>\r\nTo: support@log-systems.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@example.com>\r\n"
        f"\r\n{body}\r\n"
    ).encode()


@dataclass
class Box:
    """One mailbox under test: how to deliver into it and look into its folders."""

    url: str
    password: str | None
    deliver: Callable[[bytes, datetime], None]
    contents: Callable[[str], list[bytes]]
    opened: list[Inbox]

    def open(self, **options: object) -> Inbox:
        inbox = open_inbox(self.url, password=self.password, **options)  # type: ignore[arg-type]
        self.opened.append(inbox)
        return inbox


def imap_box(dovecot: DovecotServer) -> Box:
    user = dovecot.new_user()
    return Box(
        url=dovecot.url(user),
        password=dovecot.password,
        deliver=lambda raw, when: dovecot.append(user, raw, msg_time=when),
        contents=lambda folder: dovecot.fetch_all(user, folder),
        opened=[],
    )


def maildir_box(root: Path) -> Box:
    def deliver(raw: bytes, when: datetime) -> None:
        # Deliver like an MTA: write in tmp/, rename into new/ (Maildir spec).
        name = f"{when.timestamp():.0f}.{uuid.uuid4().hex}.test"
        (root / "tmp" / name).write_bytes(raw)
        os.utime(root / "tmp" / name, (when.timestamp(), when.timestamp()))
        os.rename(root / "tmp" / name, root / "new" / name)

    def contents(folder: str) -> list[bytes]:
        path = root if folder == "INBOX" else root / f".{folder}"
        subs = [path / sub for sub in ("new", "cur") if (path / sub).is_dir()]
        files = [f for sub in subs for f in sub.iterdir()]
        return [f.read_bytes() for f in sorted(files, key=lambda f: f.stat().st_mtime)]

    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True)
    return Box(f"maildir://{root}", None, deliver, contents, [])


@pytest.fixture(params=["imap", "maildir"])
def box(request: pytest.FixtureRequest, tmp_path: Path):
    """Each behaviour test runs against Dovecot and against a Maildir."""
    if request.param == "imap":
        made = imap_box(request.getfixturevalue("dovecot"))
    else:
        made = maildir_box(tmp_path / "inbox")
    yield made
    for inbox in made.opened:
        inbox.close()


def fetch_all(inbox: Inbox, max_bytes: int = BIG) -> list[InboxItem]:
    return list(inbox.fetch(max_bytes=max_bytes))


def test_fetch_yields_every_waiting_message_oldest_first_with_size_and_arrival(
    box: Box, eight_bit_mail: bytes
) -> None:
    """Waiting messages come oldest first, byte-identical, with their size and arrival time."""
    raws = [message("drugi"), eight_bit_mail, message("pierwszy")]
    times = [T0 + timedelta(minutes=5), T0 + timedelta(minutes=9), T0]
    for raw, when in zip(raws, times, strict=True):
        box.deliver(raw, when)

    items = fetch_all(box.open(), max_bytes=BIG)

    assert [item.raw for item in items] == [raws[2], raws[0], raws[1]]
    assert [item.size for item in items] == [len(raws[2]), len(raws[0]), len(raws[1])]
    assert [item.received_at for item in items] == [times[2], times[0], times[1]]
    assert all(item.received_at.utcoffset() == timedelta(0) for item in items)
    assert len({item.ref for item in items}) == 3


def test_fetch_of_an_empty_inbox_yields_nothing(box: Box) -> None:
    """An empty inbox yields no items."""
    assert fetch_all(box.open()) == []


def test_fetch_in_small_batches_yields_every_message(box: Box) -> None:
    """Reading bodies in batches smaller than the mailbox still yields every message once."""
    raws = [message(f"nr {n}") for n in range(5)]
    for n, raw in enumerate(raws):
        box.deliver(raw, T0 + timedelta(seconds=n))

    items = list(box.open().fetch(max_bytes=BIG, batch=2))

    assert [item.raw for item in items] == raws


def test_mark_processed_moves_messages_to_a_created_processed_folder(box: Box) -> None:
    """Processed messages leave the inbox for the Processed folder, which is created on demand."""
    raws = [message(f"nr {n}") for n in range(3)]
    for n, raw in enumerate(raws):
        box.deliver(raw, T0 + timedelta(seconds=n))
    inbox = box.open()

    inbox.mark_processed([item.ref for item in fetch_all(inbox)])

    assert box.contents("INBOX") == []
    assert sorted(box.contents("Processed")) == sorted(raws)
    assert fetch_all(inbox) == []


def test_mark_processed_moves_only_the_named_messages(box: Box) -> None:
    """Messages not named stay in the inbox, still waiting."""
    raws = [message(f"nr {n}") for n in range(3)]
    for n, raw in enumerate(raws):
        box.deliver(raw, T0 + timedelta(seconds=n))
    inbox = box.open()
    items = fetch_all(inbox)

    inbox.mark_processed([items[1].ref])

    assert [item.raw for item in fetch_all(inbox)] == [raws[0], raws[2]]
    assert box.contents("Processed") == [raws[1]]


def test_custom_folder_names_are_used(box: Box) -> None:
    """The processed and quarantine folder names come from the configuration."""
    box.deliver(message("a"), T0)
    box.deliver(message("b"), T0 + timedelta(seconds=1))
    inbox = box.open(processed_folder="Obsluzone", quarantine_folder="Kwarantanna")
    first, second = fetch_all(inbox)

    inbox.mark_processed([first.ref])
    inbox.quarantine([second.ref])

    assert box.contents("Obsluzone") == [first.raw]
    assert box.contents("Kwarantanna") == [second.raw]


def test_oversize_message_has_no_raw_and_can_be_quarantined(box: Box) -> None:
    """A message over the limit is listed with its size but no bytes, and goes to Quarantine."""
    small, large = message("mala"), message("duza", body="x" * 5000)
    box.deliver(small, T0)
    box.deliver(large, T0 + timedelta(seconds=1))
    inbox = box.open()

    items = fetch_all(inbox, max_bytes=1000)
    assert [(item.raw, item.size) for item in items] == [(small, len(small)), (None, len(large))]

    inbox.quarantine([items[1].ref])
    assert box.contents("Quarantine") == [large]
    assert box.contents("INBOX") == [small]


def test_wait_returns_when_stop_is_set(box: Box) -> None:
    """Setting the stop event ends a wait long before its timeout."""
    inbox = box.open()
    fetch_all(inbox)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()

    started = time.monotonic()
    inbox.wait(timeout=60, stop=stop)

    assert time.monotonic() - started < 60


def test_move_with_no_refs_changes_nothing(box: Box) -> None:
    """Moving an empty list of refs leaves the mailbox as it was."""
    box.deliver(message("a"), T0)
    inbox = box.open()

    inbox.mark_processed([])
    inbox.quarantine([])

    assert len(fetch_all(inbox)) == 1


# --- IMAP only -----------------------------------------------------------------------------


def test_fetch_does_not_mark_messages_seen(dovecot: DovecotServer) -> None:
    """Reading with BODY.PEEK leaves \\Seen unset, so a shared mailbox looks untouched."""
    user = dovecot.new_user()
    dovecot.append(user, message("a"))
    inbox = open_inbox(dovecot.url(user), password=dovecot.password)

    fetch_all(inbox)
    inbox.close()

    assert b"\\Seen" not in dovecot.flags(user)[0]


def test_imap_ref_carries_uidvalidity_and_uid(dovecot: DovecotServer) -> None:
    """An IMAP ref is imap:<uidvalidity>:<uid> of the message."""
    user = dovecot.new_user()
    dovecot.append(user, message("a"))
    inbox = open_inbox(dovecot.url(user), password=dovecot.password)

    (item,) = fetch_all(inbox)
    inbox.close()

    kind, uidvalidity, uid = item.ref.split(":")
    assert (kind, int(uid)) == ("imap", dovecot.list_uids(user)[0])
    assert int(uidvalidity) > 0


def test_ref_from_another_uidvalidity_is_not_moved(dovecot: DovecotServer) -> None:
    """A ref whose UIDVALIDITY differs names another message now, so it is left alone."""
    user = dovecot.new_user()
    dovecot.append(user, message("a"))
    inbox = open_inbox(dovecot.url(user), password=dovecot.password)
    (item,) = fetch_all(inbox)
    _, uidvalidity, uid = item.ref.split(":")

    inbox.mark_processed([f"imap:{int(uidvalidity) + 1}:{uid}"])
    inbox.close()

    assert len(dovecot.list_uids(user)) == 1
    assert dovecot.list_uids(user, "Processed") == []


def test_idle_wait_wakes_when_mail_arrives(dovecot: DovecotServer) -> None:
    """An IDLE wait returns well before its timeout when a message is delivered meanwhile."""
    user = dovecot.new_user()
    inbox = open_inbox(dovecot.url(user), password=dovecot.password, idle=True)
    assert fetch_all(inbox) == []
    new = message("nowy")
    threading.Timer(0.3, dovecot.append, args=(user, new)).start()

    started = time.monotonic()
    inbox.wait(timeout=60, stop=threading.Event())

    assert time.monotonic() - started < 60
    assert [item.raw for item in fetch_all(inbox)] == [new]
    inbox.close()


def test_wait_returns_at_once_for_mail_that_arrived_after_the_last_fetch(
    dovecot: DovecotServer,
) -> None:
    """Mail delivered between a fetch and the next wait is not slept through."""
    user = dovecot.new_user()
    inbox = open_inbox(dovecot.url(user), password=dovecot.password, idle=True)
    fetch_all(inbox)
    dovecot.append(user, message("w miedzyczasie"))

    started = time.monotonic()
    inbox.wait(timeout=60, stop=threading.Event())

    assert time.monotonic() - started < 60
    inbox.close()


def test_server_outage_raises_transient_error_then_recovers(dovecot: DovecotServer) -> None:
    """While the server is down calls raise TransientError; after restart the same inbox works."""
    user = dovecot.new_user()
    dovecot.append(user, message("a"))
    inbox = open_inbox(dovecot.url(user), password=dovecot.password)
    (item,) = fetch_all(inbox)

    dovecot.stop()
    try:
        with pytest.raises(TransientError):
            fetch_all(inbox)
        with pytest.raises(TransientError):
            inbox.mark_processed([item.ref])
    finally:
        dovecot.start()

    inbox.mark_processed([item.ref])
    assert dovecot.list_uids(user) == []
    assert len(dovecot.list_uids(user, "Processed")) == 1
    inbox.close()


def test_dropped_connection_is_reopened_transparently(dovecot: DovecotServer) -> None:
    """A connection the server closed while we were not looking is replaced without an error."""
    user = dovecot.new_user()
    dovecot.append(user, message("a"))
    inbox = open_inbox(dovecot.url(user), password=dovecot.password)
    fetch_all(inbox)

    dovecot.stop()
    dovecot.start()

    assert len(fetch_all(inbox)) == 1
    inbox.close()


def test_without_move_messages_are_copied_and_only_they_expunged(
    dovecot_rfc3501: DovecotServer,
) -> None:
    """Without MOVE, processed mail is copied and only its UIDs expunged; others stay put."""
    server = dovecot_rfc3501
    user = server.new_user()
    for n in range(3):
        server.append(user, message(f"nr {n}"))
    with server.session(user) as client:  # another client marked one message \Deleted
        client.select_folder("INBOX")
        client.add_flags([server.list_uids(user)[2]], [b"\\Deleted"])
    inbox = open_inbox(server.url(user), password=server.password)
    items = fetch_all(inbox)

    inbox.mark_processed([items[0].ref])
    inbox.close()

    assert server.fetch_all(user, "Processed") == [items[0].raw]
    assert server.fetch_all(user) == [items[1].raw, items[2].raw]


def test_without_idle_wait_still_ends_when_stop_is_set(dovecot_rfc3501: DovecotServer) -> None:
    """A server without IDLE is polled: wait sleeps, and a stop request ends the sleep."""
    inbox = open_inbox(dovecot_rfc3501.url(dovecot_rfc3501.new_user()), password="secret")
    fetch_all(inbox)
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()

    started = time.monotonic()
    inbox.wait(timeout=60, stop=stop)

    assert time.monotonic() - started < 60
    inbox.close()


def test_check_passes_for_a_reachable_mailbox(dovecot: DovecotServer) -> None:
    """check() succeeds when the server, the login and the folder are fine."""
    inbox = open_inbox(dovecot.url(dovecot.new_user()), password=dovecot.password)
    inbox.check()
    inbox.close()


def test_check_names_a_missing_folder(dovecot: DovecotServer) -> None:
    """check() on a folder that does not exist names it; transient: it may be created later."""
    inbox = open_inbox(dovecot.url(dovecot.new_user(), "Nieistniejacy"), password="secret")
    with pytest.raises(TransientError, match="cannot open folder 'Nieistniejacy'"):
        inbox.check()


def test_check_reports_a_refused_login_without_the_password(dovecot: DovecotServer) -> None:
    """A wrong password is reported as a refused login and the password is not in the text."""
    inbox = open_inbox(dovecot.url(dovecot.new_user()), password="zle-haslo-123")
    with pytest.raises(TransientError, match="login refused") as failure:
        inbox.check()
    assert "zle-haslo-123" not in str(failure.value)


def test_unreachable_server_raises_transient_error() -> None:
    """Nobody listening on the port is a transient fault."""
    inbox = open_inbox(f"imap://u@127.0.0.1:{free_port()}/INBOX", password="x")
    with pytest.raises(TransientError, match="cannot connect"):
        inbox.check()


def test_unknown_scheme_is_a_config_error() -> None:
    """An inbox URL with an unknown scheme is refused with the variable's name."""
    with pytest.raises(ConfigError, match="MAILINTAKE_INBOX_URL"):
        open_inbox("pop3://u@host/INBOX")


@pytest.mark.parametrize(
    ("uids", "expected"),
    [([1], "1"), ([3, 1, 2], "1:3"), ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"), ([5, 5, 6], "5:6")],
)
def test_uid_set_is_compact(uids: list[int], expected: str) -> None:
    """UID lists become compact IMAP sequence sets."""
    assert uid_set(uids) == expected


# --- Maildir only --------------------------------------------------------------------------


def test_maildir_is_created_when_missing(tmp_path: Path) -> None:
    """Opening a Maildir that does not exist creates it with cur, new and tmp."""
    root = tmp_path / "var" / "inbox"
    inbox = open_inbox(f"maildir://{root}")

    inbox.check()

    assert all((root / sub).is_dir() for sub in ("cur", "new", "tmp"))
    assert fetch_all(inbox) == []


def test_maildir_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """maildir://var/inbox names ./var/inbox."""
    monkeypatch.chdir(tmp_path)
    open_inbox("maildir://var/inbox")
    assert (tmp_path / "var" / "inbox" / "new").is_dir()


def test_maildir_reads_cur_messages_with_flags_and_moves_them_as_maildir_plus(
    tmp_path: Path,
) -> None:
    """Messages already in cur/ (with :2,flags) are waiting too and move into .Processed/cur."""
    root = tmp_path / "inbox"
    inbox = open_inbox(f"maildir://{root}")
    raw = message("z cur")
    (root / "cur" / "1700000000.abc.host:2,S").write_bytes(raw)

    (item,) = fetch_all(inbox)
    inbox.mark_processed([item.ref])

    assert item.ref == "1700000000.abc.host"
    assert (root / ".Processed" / "cur" / "1700000000.abc.host:2,S").read_bytes() == raw
    assert (root / ".Processed" / "maildirfolder").exists()


def test_maildir_received_at_is_the_delivery_time(tmp_path: Path) -> None:
    """A Maildir message's arrival time is its file's modification time, in UTC."""
    root = tmp_path / "inbox"
    box = maildir_box(root)
    box.deliver(message("a"), T0)

    (item,) = fetch_all(open_inbox(f"maildir://{root}"))

    assert item.received_at == T0
