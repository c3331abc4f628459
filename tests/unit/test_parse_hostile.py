"""Hostile and quirky mail through `adapters.parse` (issue 10): who sent it, what it is called, bounds."""

from __future__ import annotations

import pytest

from mailintake.adapters.parse import UnparseableMail, parse
from mailintake.adapters.parse.defects import MAX_DEFECTS
from mailintake.adapters.parse.headers import MAX_ID_BYTES
from mailintake.adapters.parse.mime import MAX_PARTS
from mailintake.domain import staffauth
from mailintake.services.registration import _address


def message(headers: str, body: str = "Treść\n") -> bytes:
    text = headers.strip("\n") + "\n\n" + body
    return text.replace("\n", "\r\n").encode("utf-8")


# --- addresses come from the address part only ------------------------------------------

FORGED_FROMS = [
    ("=?utf-8?q?Anna:_anna.nowak@log-systems.com?= <intern@log-systems.com>", "intern@log-systems.com"),
    ("=?utf-8?b?YW5uYS5ub3dha0Bsb2ctc3lzdGVtcy5jb20=?= <intern@log-systems.com>", "intern@log-systems.com"),
    ('"anna.nowak@log-systems.com" <intern@log-systems.com>', "intern@log-systems.com"),
    ("anna.nowak@log-systems.com <intern@log-systems.com>", "intern@log-systems.com"),
    ("Anna (anna.nowak@log-systems.com) <intern@log-systems.com>", "intern@log-systems.com"),
    ("<intern@log-systems.com> anna.nowak@log-systems.com", "intern@log-systems.com"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "address"), FORGED_FROMS)
def test_sender_address_never_comes_from_the_display_name(value, address):
    """A display name that looks like an address (encoded or not) never becomes the sender."""
    mail = parse(message(f"From: {value}\nSubject: x"))
    assert mail.from_addr == address


@pytest.mark.parametrize(
    "value", ["Jan Kowalski", "", "<>", "=?utf-8?q?jan=40example.pl?=", "a@b@c", "undisclosed"]
)
def test_from_without_a_parsable_address_leaves_the_sender_unknown(value):
    """No `user@domain` in the raw From: no sender at all, not a made-up one."""
    assert parse(message(f"From: {value}\nSubject: x")).from_addr is None


def test_no_sender_is_taken_from_reply_to_or_sender():
    """Reply-To and Sender say where replies go, not who wrote: without From there is no sender."""
    mail = parse(
        message("Sender: anna.nowak@log-systems.com\nReply-To: jan@example.pl\nSubject: x")
    )
    assert mail.from_addr is None


def test_two_from_fields_naming_different_addresses_leave_the_sender_unknown():
    """A second From on top (a DKIM replay) makes the author ambiguous: no sender."""
    raw = message("From: jan@example.pl\nFrom: Intruz <intruz@evil.example.com>\nSubject: x")
    mail = parse(raw)
    assert mail.from_addr is None
    assert any("several authors in From" in d for d in mail.defects)


def test_one_from_naming_several_authors_leaves_the_sender_unknown():
    """An RFC 5322 mailbox-list in From (`a@x, b@y`): which one wrote is a guess: no sender."""
    for value in ("jan@example.pl, intruz@evil.example.com", "Jan <jan@example.pl>, <a@b.pl>"):
        mail = parse(message(f"From: {value}\nSubject: x"))
        assert mail.from_addr is None, value
    assert parse(message("From: jan@example.pl, Jan <jan@example.pl>\nSubject: x")).from_addr


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?anna.nowak?=@log-systems.com",
        "<=?utf-8?q?anna.nowak=40log-systems.com?=>",
        "Anna <=?utf-8?q?anna.nowak?=@log-systems.com>",
        "anna.nowak@=?utf-8?q?log-systems.com?=",
        "jan\x1b[2J@example.pl",
        "Jan <jan\x00@example.pl>",
    ],
)
def test_an_encoded_word_or_control_in_the_addr_spec_is_no_address(value):
    """RFC 2047 section 5: no encoded word in an addr-spec; control characters are invalid."""
    assert parse(message(f"From: {value}\nSubject: x")).from_addr is None


INLINE_FROMS = [
    ("Jan Kowalski [mailto:jan@example.pl]", "jan@example.pl"),
    ("Jan Kowalski <jan@example.pl>", "jan@example.pl"),
    ("jan@example.pl", "jan@example.pl"),
    ("anna.nowak@log-systems.com <intruz@evil.example.com>", "intruz@evil.example.com"),
    ('"anna.nowak@log-systems.com" <intruz@evil.example.com>', "intruz@evil.example.com"),
    ("Jan Kowalski", ""),
]


@pytest.mark.parametrize(("value", "address"), INLINE_FROMS)
def test_inline_forward_sender_comes_from_the_address_part(value, address):
    """[REJESTRUJ]'s inline `From:` line: the address part, never an address-like name."""
    rebuilt = _address(value)
    assert (parse(message(f"From: {rebuilt}\nSubject: x")).from_addr or "") == address


# --- duplicated single-instance fields ---------------------------------------------------


@pytest.mark.parametrize("name", staffauth.SINGLETONS)
def test_a_duplicated_single_instance_field_is_never_trusted(name):
    """Any of the ten RFC 5322 single-instance fields twice: untrusted, even with checks off."""
    headers = {name: ("one", "two"), "from": ("anna.nowak@log-systems.com",)}
    if name == "from":
        headers = {"from": ("anna.nowak@log-systems.com", "anna.nowak@log-systems.com")}
    verdict = staffauth.verify_sender(
        staffauth.parse_auth_mode("none"), "anna.nowak@log-systems.com", headers
    )
    assert not verdict.trusted
    assert name in verdict.reason


def test_repeatable_fields_may_appear_twice():
    """Received, Comments, Keywords and Resent-* may repeat (RFC 5322 §3.6): still trusted."""
    headers = {"received": ("a", "b"), "comments": ("a", "b"), "resent-from": ("a", "b")}
    verdict = staffauth.verify_sender(
        staffauth.parse_auth_mode("none"), "anna.nowak@log-systems.com", headers
    )
    assert verdict.trusted


# --- header quirks ---------------------------------------------------------------------


def test_white_space_before_the_colon_still_names_the_header():
    """`Subject : x` (RFC 5322 obsolete syntax) is the Subject, and the headers below survive."""
    mail = parse(
        message("From: Jan <jan@example.pl>\nSubject : Awaria raportu\nMessage-ID: <a1@example.pl>")
    )
    assert mail.subject == "Awaria raportu"
    assert mail.message_id == "a1@example.pl"
    assert mail.from_addr == "jan@example.pl"


def test_a_broken_rfc2231_name_does_not_wipe_a_good_filename():
    """`name*` with no value on Content-Type keeps Content-Disposition's `filename`."""
    raw = message(
        "From: jan@example.pl\nSubject: logi\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=b",
        "--b\nContent-Type: text/plain\n\nW załączniku\n--b\n"
        "Content-Type: application/octet-stream; name*\n"
        'Content-Disposition: attachment; filename="spooler.log"\n'
        "Content-Transfer-Encoding: base64\n\nYWJj\n--b--\n",
    )
    assert [a.filename for a in parse(raw).attachments] == ["spooler.log"]


def _forward(inner: bytes) -> bytes:
    outer = message(
        "From: Anna <anna.nowak@log-systems.com>\nSubject: Fwd\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=b",
        "--b\nContent-Type: text/plain\n\nPrzekazuję\n--b\nContent-Type: message/rfc822\n\n",
    )
    return outer + inner + b"\r\n--b--\r\n"


def test_attached_message_with_a_raw_8bit_subject_is_named_right_and_its_files_count():
    """An attached message's raw UTF-8 Subject names its .eml; the logs inside it are listed."""
    inner = message(
        "From: Jan <jan@example.pl>\nSubject: Raport zakończony błędem\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=c",
        "--c\nContent-Type: text/plain\n\nx\n--c\nContent-Type: application/octet-stream\n"
        'Content-Disposition: attachment; filename="LOGSystem.log"\n\nlog\n--c--\n',
    )
    files = {a.filename: a for a in parse(_forward(inner)).attachments}
    assert "Raport zakończony błędem.eml" in files
    assert files["LOGSystem.log"].enclosed
    assert files["LOGSystem.log"].data.strip() == b"log"


# --- bounded work -----------------------------------------------------------------------


def test_a_hundred_thousand_references_are_trimmed_and_noted():
    """100,000 References: the first and the nearest 49 are kept, a defect says so."""
    refs = " ".join(f"<r{i}@example.pl>" for i in range(100_000))
    mail = parse(message(f"From: jan@example.pl\nSubject: x\nReferences: {refs}"))
    assert mail.references[0] == "r0@example.pl"
    assert mail.references[-1] == "r99999@example.pl"
    assert len(mail.references) == 50
    assert mail.thread_ids[0] == "r99999@example.pl"
    assert len(mail.thread_ids) <= 51
    assert any("References with" in d or "header fields over" in d for d in mail.defects)


def test_an_overlong_message_id_is_shortened_the_same_way_everywhere():
    """A 950-character non-ASCII Message-ID fits an index, and a reply naming it still matches."""
    mid = "ą" * 950 + "@example.pl"
    first = parse(message(f"From: jan@example.pl\nSubject: x\nMessage-ID: <{mid}>"))
    reply = parse(message(f"From: jan@example.pl\nSubject: x\nIn-Reply-To: <{mid}>"))
    assert first.message_id is not None
    assert len(first.message_id.encode()) <= MAX_ID_BYTES
    assert reply.thread_ids == (first.message_id,)


def test_mime_parts_over_the_cap_are_not_read_and_a_defect_says_so():
    """A message of 5,000 tiny parts: at most MAX_PARTS read, the cut is noted."""
    parts = "".join(
        f'--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="f{i}.bin"\n\nx\n'
        for i in range(5000)
    )
    raw = message(
        "From: jan@example.pl\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b",
        parts + "--b--\n",
    )
    mail = parse(raw)
    assert len(mail.attachments) < MAX_PARTS
    assert any(f"over {MAX_PARTS} MIME parts" in d for d in mail.defects)
    assert len(mail.defects) <= MAX_DEFECTS


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("".join(f"Cc: c{i}@example.pl\n" for i in range(5_000)), "header fields"),
        (f"X-Foo: {'a' * 16_000}\n" * 300, "header block"),
    ],
    ids=["5,000 fields", "300 x 16 KB fields"],
)
def test_a_header_block_past_the_bounds_is_refused_with_its_reason(extra, reason):
    """Linear, bounded work (issue 10): too many or too large fields → UnparseableMail, said."""
    with pytest.raises(UnparseableMail, match=reason):
        parse(message(extra + "Subject: x"))


def test_a_mime_part_header_past_the_bound_is_refused_and_parts_are_capped():
    """100,000 RFC 2231 continuations in one part header; parts counted by any header."""
    params = "".join(f";\n filename*{i}*=x" for i in range(100_000))
    raw = message(
        'Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        f"--b\nContent-Type: text/plain\nContent-Disposition: attachment{params}\n\nx\n--b--\n",
    )
    with pytest.raises(UnparseableMail, match="MIME part header"):
        parse(raw)
    parts = "".join(f"--b\nX-Part: {i}\nContent-Type: text/plain\n\nx\n" for i in range(3_000))
    mail = parse(message('Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
                         parts + "--b--\n"))  # fmt: skip
    assert any("MIME parts" in d for d in mail.defects)


def test_millions_of_lines_are_refused_with_the_reason():
    """5,000,000 bare CRs (each a line to the stdlib parser): refused, not 400 MB of lines."""
    with pytest.raises(UnparseableMail, match="lines"):
        parse(message("Subject: x", "a\r" * 5_000_000))


def test_an_encoded_enclosed_message_over_the_shape_limits_is_kept_as_a_file_unread() -> None:
    """A base64 message/rfc822 decodes to bytes the outer bounds never saw: the same limits
    apply before it is read, and over them it stays a file with the reason (issue 10)."""
    import base64

    from mailintake.adapters.parse.bounds import MAX_LINES

    inner = b"From: a@example.pl\r\nSubject: x\r\n\r\n" + b"\r" * (MAX_LINES + 10)
    encoded = base64.encodebytes(inner).decode().replace("\n", "\r\n")
    raw = (
        "From: Jan <jan@example.pl>\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nW załączniku.\r\n--b\r\n"
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{encoded}--b--\r\n"
    ).encode()
    mail = parse(raw)
    assert any("not read" in d for d in mail.defects), mail.defects
    assert [a.filename for a in mail.attachments] == ["message.eml"]
