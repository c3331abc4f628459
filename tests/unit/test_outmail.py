"""Behaviour of `adapters.outmail.compose`: the wire bytes read back as what was meant."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailintake.adapters.outmail import MAX_REFERENCES, Outgoing, compose, new_message_id
from mailintake.adapters.parse import parse
from mailintake.adapters.parse.filenames import sanitize_filename
from mailintake.domain.mail import Attachment
from mailintake.domain.mailrules import LOOP_HEADER

POLISH_SUBJECT = "[LOG-000123] Zgłoszenie przyjęte: zażółć gęślą jaźń"
LONG_SUBJECT = (
    "[LOG-000123] Raport R-12 zawiesza aplikację po kliknięciu Generuj, a po kilku minutach "
    "program kończy pracę bez żadnego komunikatu o błędzie; dzieje się to codziennie rano"
)
LONG_ID = "LOG-000123." + "a" * 120 + "@log-systems.com"
TRICKY_TEXT = (
    "Dzień dobry,\n"
    "From the log we see the error.\n"
    ".\n"
    ".kropka na początku\n"
    "trailing spaces   \n"
    "tab at end\t\n" + "długa linia " * 30 + "\n"
    "emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢\n"
    "=?utf-8?q?not_a_header?= =_ --\n"
    "no newline at the end  "
)
TRICKY_HTML = "<p>Dzień dobry</p>\n<p>From here.</p>\n" + "<span>ąę</span>" * 40 + "\n😀"


def outgoing(**changes: object) -> Outgoing:
    """A typical auto-reply; `changes` override its fields."""
    values: dict[str, object] = {
        "sender": "support@log-systems.com",
        "to": ("jan.kowalski@example.pl",),
        "subject": POLISH_SUBJECT,
        "text": TRICKY_TEXT,
        "html": TRICKY_HTML,
        "message_id": "LOG-000123.abc@log-systems.com",
        "in_reply_to": "client-1@example.pl",
        "references": ("root@example.pl", "client-1@example.pl"),
        "date": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    }
    values.update(changes)
    return Outgoing(**values)  # type: ignore[arg-type]


def read_back(raw: bytes) -> EmailMessage:
    """The composed bytes as a mail client's parser sees them."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_block(raw: bytes) -> str:
    """The raw top-level header block, folding kept."""
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii")


def body_text(msg: EmailMessage, subtype: str) -> str:
    """The decoded text of the `text/<subtype>` part, line ends as LF."""
    part = msg.get_body((subtype,))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("subject", [POLISH_SUBJECT, LONG_SUBJECT, "Plain ASCII subject"])
def test_subject_reads_back_unchanged(subject: str) -> None:
    """Polish, long and ASCII subjects read back exactly as given."""
    msg = read_back(compose(outgoing(subject=subject)))
    assert msg["Subject"] == subject


def test_subject_with_line_breaks_cannot_inject_a_header() -> None:
    """CR/LF in a client's subject becomes one space; no Bcc header appears."""
    raw = compose(outgoing(subject="Pomoc\r\nBcc: victim@example.com\nX-Evil: 1"))
    msg = read_back(raw)
    assert msg["Subject"] == "Pomoc Bcc: victim@example.com X-Evil: 1"
    assert msg["Bcc"] is None
    assert msg["X-Evil"] is None


def test_ascii_text_that_looks_like_an_encoded_word_reads_back_literally() -> None:
    """A subject containing "=?…?=" is encoded, so readers do not decode it."""
    subject = "Re: =?utf-8?q?Zg=C5=82oszenie?= again"
    assert read_back(compose(outgoing(subject=subject)))["Subject"] == subject


def test_non_ascii_subject_is_rfc2047_encoded_and_ascii_is_not() -> None:
    """Only non-ASCII text is written as encoded words; the ticket key in front stays plain."""
    polish = header_block(compose(outgoing(subject=POLISH_SUBJECT)))
    plain = header_block(compose(outgoing(subject="Plain ASCII subject")))
    assert "Subject: [LOG-000123] =?utf-8?" in polish  # filters can match the key in the raw header
    assert "Subject: Plain ASCII subject\r\n" in plain


@pytest.mark.parametrize("name", ["Wsparcie LOG Systems — Zażółć", "LOG Systems Support", "A. B"])
def test_from_display_name_and_address_read_back(name: str) -> None:
    """The From display name (Polish, plain, with specials) and address read back."""
    msg = read_back(compose(outgoing(sender_name=name)))
    [address] = msg["From"].addresses
    assert address.display_name == name
    assert address.addr_spec == "support@log-systems.com"


def test_recipients_read_back() -> None:
    """Every To address reads back, in order."""
    to = tuple(f"client{i}@some-long-company-name.example.pl" for i in range(5))
    msg = read_back(compose(outgoing(to=to)))
    assert tuple(a.addr_spec for a in msg["To"].addresses) == to


def test_threading_headers_are_bare_and_unfolded_even_for_a_long_id() -> None:
    """Message-ID, In-Reply-To and References stay on one line as bare <ids>."""
    raw = compose(outgoing(message_id=LONG_ID, in_reply_to=LONG_ID, references=("r@x.pl", LONG_ID)))
    headers = header_block(raw)
    assert f"\r\nMessage-ID: <{LONG_ID}>\r\n" in headers
    assert f"\r\nIn-Reply-To: <{LONG_ID}>\r\n" in headers
    assert f"\r\nReferences: <r@x.pl> <{LONG_ID}>\r\n" in headers
    assert "=?" not in headers.split("Message-ID:", 1)[1].split("Auto-Submitted", 1)[0]


def test_references_are_trimmed_to_root_and_newest() -> None:
    """More than MAX_REFERENCES ids keep the thread root and the newest ones."""
    refs = tuple(f"id{i}@example.pl" for i in range(MAX_REFERENCES + 5))
    msg = read_back(compose(outgoing(references=refs)))
    kept = msg["References"].split()
    assert kept == [f"<{refs[0]}>", *(f"<{r}>" for r in refs[-(MAX_REFERENCES - 1) :])]


def test_invalid_in_reply_to_is_left_out() -> None:
    """A reply-to id with a line break or no "@" is not written, so it cannot inject."""
    raw = compose(outgoing(in_reply_to="x@y\r\nBcc: victim@example.com", references=()))
    msg = read_back(raw)
    assert msg["In-Reply-To"] is None
    assert msg["Bcc"] is None


def test_auto_reply_headers_are_present() -> None:
    """Auto-Submitted (RFC 3834), Exchange's suppression and our loop header are set."""
    msg = read_back(compose(outgoing()))
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert msg[LOOP_HEADER] == "support@log-systems.com"
    assert msg["Date"].datetime == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_staff_mail_can_go_without_auto_submitted() -> None:
    """`auto_submitted=None` leaves the header out."""
    assert read_back(compose(outgoing(auto_submitted=None)))["Auto-Submitted"] is None


def test_text_and_html_bodies_read_back_identically() -> None:
    """Both alternatives decode to the given text: "From ", dots, spaces, long lines, emoji."""
    msg = read_back(compose(outgoing()))
    assert msg.get_content_type() == "multipart/alternative"
    assert body_text(msg, "plain") == TRICKY_TEXT
    assert body_text(msg, "html") == TRICKY_HTML


def test_body_lines_never_start_with_from() -> None:
    """No body line starts "From " on the wire, so mbox relays cannot mangle it."""
    raw = compose(outgoing())
    assert not any(line.startswith(b"From ") for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\n"))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"subject": LONG_SUBJECT, "message_id": LONG_ID, "in_reply_to": LONG_ID},
        {"subject": "x" * 2000},
        {"subject": "ż" * 700, "sender_name": "Ł" * 300},
        {"references": tuple(f"{'r' * 150}{i}@example.pl" for i in range(10))},
        {"text": "a" * 5000, "html": "\r\n".join(["ą" * 600] * 3)},
    ],
)
def test_every_line_is_crlf_and_at_most_998_bytes(changes: dict[str, object]) -> None:
    """RFC 5322 section 2.1.1: CRLF line ends only, no line longer than 998 bytes."""
    raw = compose(outgoing(**changes))
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 998
    msg = read_back(raw)
    if "subject" in changes:
        assert msg["Subject"] == changes["subject"]


def test_boundary_differs_between_messages() -> None:
    """Each message gets its own random multipart boundary."""
    first = read_back(compose(outgoing())).get_boundary()
    second = read_back(compose(outgoing())).get_boundary()
    assert first and second and first != second


def test_new_message_id_carries_the_ticket_key() -> None:
    """Our Message-ID starts with the ticket key and ends with our domain."""
    mid = new_message_id("LOG-000123", "log-systems.com")
    assert mid.startswith("LOG-000123.")
    assert mid.endswith("@log-systems.com")
    assert new_message_id(None, "log-systems.com") != new_message_id(None, "log-systems.com")


def test_a_long_ascii_subject_unfolds_to_exactly_what_was_given() -> None:
    """Folding a long plain subject adds no space: unfolded, it is the subject we meant."""
    subject = "[mailintake] Raport dzienny / daily digest 2026-12-02: " + ", ".join(
        f"R-{i} {i * 7}" for i in range(1, 12)
    )
    raw = compose(outgoing(subject=subject))
    headers = raw.split(b"\r\n\r\n")[0].decode()
    assert "\r\n " in headers.split("Subject:")[1].split("\r\nDate")[0]  # it was folded
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["[LOG-000123]", "Re:", "błąd", "raport", "Zażółć", "=?x?=",
                                 "a" * 75, "ż" * 40, "x", "dla", "działu"]),
                min_size=1, max_size=12))  # fmt: skip
def test_any_subject_of_words_reads_back_exactly(words: list[str]) -> None:
    """Whatever mix of plain, Polish and long words, the subject decodes to what we wrote."""
    subject = " ".join(words)
    raw = compose(outgoing(subject=subject))
    assert read_back(raw)["Subject"] == subject
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


# -- attachments and Cc (issue 12) ---------------------------------------------------------

OUTLOOK_NAMES = [
    "Raport błędów – wrzesień.pdf",
    "log.zip",
    'zrzut "ekranu"; wersja 2.png',
    "Zestawienie_" + "ąę" * 60 + ".xlsx",
    "naïve café – ½ 😀.txt",
]


def attachment(name: str, data: bytes, content_type: str = "application/pdf") -> Attachment:
    return Attachment(filename=name, content_type=content_type, data=data)


@pytest.mark.parametrize("name", OUTLOOK_NAMES)
def test_an_attachment_reads_back_byte_identical_under_its_name(name: str) -> None:
    """Each attached file decodes to the same bytes under the same (Polish, long) name."""
    data = bytes(range(256)) * 50
    raw = compose(outgoing(attachments=(attachment(name, data),)))
    msg = read_back(raw)
    assert msg.get_content_type() == "multipart/mixed"
    assert body_text(msg, "plain") == TRICKY_TEXT
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == name
    assert part.get_payload(decode=True) == data
    [ours] = parse(raw).attachments  # our own parser reads it too, names made safe as always
    assert (ours.filename, ours.data) == (sanitize_filename(name), data)


def test_a_non_ascii_file_name_is_written_as_rfc2231_parameters() -> None:
    """Non-ASCII names use RFC 2231 `filename*` (continued when long), never raw 8-bit bytes."""
    raw = compose(outgoing(attachments=(attachment(OUTLOOK_NAMES[3], b"x"),)))
    head = raw.split(b"Content-Transfer-Encoding: base64")[0].rsplit(b"--=_", 1)[1]
    assert head.isascii()
    assert b"filename*0*=utf-8''Zestawienie_%C4%85%C4%99" in head
    assert b'name="' not in head  # no RFC 2047 inside a quoted string
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_an_unknown_content_type_goes_as_octet_stream() -> None:
    """A content type that is no `type/subtype` token is sent as application/octet-stream."""
    bad = attachment("a.bin", b"\x00\x01", content_type='text/plain"; x="\r\nBcc: x@y')
    [part] = list(read_back(compose(outgoing(attachments=(bad,)))).iter_attachments())
    assert part.get_content_type() == "application/octet-stream"


def test_copies_are_in_the_cc_header() -> None:
    """`cc` recipients read back from the Cc header."""
    msg = read_back(compose(outgoing(cc=("ewa@example.pl", "adam@example.pl"))))
    assert msg["Cc"] == "ewa@example.pl, adam@example.pl"
    assert read_back(compose(outgoing()))["Cc"] is None


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=200), st.binary(max_size=3000))
def test_any_sanitised_name_and_bytes_read_back(name: str, data: bytes) -> None:
    """Whatever file staff attach, it arrives as sent, lines within 998 bytes."""
    clean = sanitize_filename(name)
    raw = compose(outgoing(attachments=(attachment(clean, data),)))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    [part] = list(read_back(raw).iter_attachments())
    assert (part.get_filename(), part.get_payload(decode=True)) == (clean, data)
