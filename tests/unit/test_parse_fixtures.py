"""`adapters.parse` on mail the project builds itself: TNEF, line endings, and its two fast paths.

Outlook's `winmail.dat` streams are built byte by byte (tests/tnef.py); the other
messages are the files in tests/fixtures/mail plus a few built here. The same
behaviours on other projects' real mail: tests/integration/test_corpus_parse.py and
the corpus tests in tests/unit/test_parse.py.
"""

from __future__ import annotations

import email.policy
import random
from email.message import EmailMessage

import pytest

from mailintake.adapters.parse import (
    UnparseableMail,
    assemble,
    large,
    owntext,
    parse,
    sanitize_filename,
    strip_reply,
)
from tests import tnef
from tests.fixture_mail import names, read
from tests.mails import COMPLETE_BODY, client_mail

ZIP = b"PK\x03\x04" + random.Random(3).randbytes(3000)
PNG = b"\x89PNG\r\n\x1a\n" + random.Random(4).randbytes(2000)
FILES = [("LOGSystem_logi.zip", ZIP), ("zrzut ekranu – błąd.png", PNG)]


def outlook_mail(
    data: bytes, *, ctype: str = "application/ms-tnef", name: str = "winmail.dat"
) -> bytes:
    """An Outlook message: a short text and `data` attached as its TNEF part."""
    msg = EmailMessage()
    msg["From"], msg["To"] = "Jan Kowalski <jan.kowalski@example.pl>", "support@log-systems.com"
    msg["Subject"] = "Raport R-12"
    msg.set_content("W załączniku logi i zrzut ekranu.\n")
    maintype, subtype = ctype.split("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=email.policy.SMTP)


# --- TNEF (SPEC section 5: winmail.dat is unpacked into its attachments) --------------------


@pytest.mark.parametrize(
    ("ctype", "name"),
    [
        ("application/ms-tnef", "winmail.dat"),
        ("application/vnd.ms-tnef", "att00001.dat"),
        ("application/octet-stream", "WINMAIL.DAT"),
    ],
)
def test_winmail_dat_is_unpacked_into_its_files(ctype: str, name: str) -> None:
    """A TNEF part, known by its type or its name, becomes the files inside it, byte for byte."""
    mail = parse(outlook_mail(tnef.stream(FILES), ctype=ctype, name=name))
    found = [(a.filename, a.content_type, a.data) for a in mail.attachments]
    assert found == [
        ("LOGSystem_logi.zip", "application/zip", ZIP),
        (sanitize_filename("zrzut ekranu – błąd.png"), "image/png", PNG),
    ]
    assert not [d for d in mail.defects if "TNEF" in d]


def test_tnef_without_long_names_keeps_the_short_titles() -> None:
    """Without Outlook's long-name property each file keeps its 8.3 title."""
    mail = parse(outlook_mail(tnef.stream(FILES, long_names=False)))
    assert [(a.filename, a.data) for a in mail.attachments] == [
        ("FILE1.DAT", ZIP),
        ("FILE2.DAT", PNG),
    ]


def test_tnef_with_a_bad_checksum_is_kept_whole_beside_its_files() -> None:
    """A stream with a wrong checksum is kept as winmail.dat, byte for byte, with a defect."""
    data = tnef.stream(FILES, bad_checksum=True)
    mail = parse(outlook_mail(data))
    kept = [a for a in mail.attachments if a.filename == "winmail.dat"]
    assert [a.data for a in kept] == [data]
    assert any("TNEF" in d and "checksum" in d for d in mail.defects)


@pytest.mark.parametrize("data", [b"not a TNEF stream at all", tnef.stream()])
def test_unreadable_tnef_is_kept_as_it_came(data: bytes) -> None:
    """Bytes that are no TNEF stream, or one holding nothing, stay winmail.dat with a defect."""
    mail = parse(outlook_mail(data))
    assert [(a.filename, a.data) for a in mail.attachments] == [("winmail.dat", data)]
    assert any("TNEF" in d for d in mail.defects)


def test_tnef_body_is_used_when_the_message_has_none() -> None:
    """A message that is only a TNEF part takes its text from the stream's body."""
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "Jan Kowalski <jan.kowalski@example.pl>", "Raport R-12"
    body = "Raport R-12 zamyka program po kliknięciu „Generuj”."
    msg.set_content(tnef.stream(FILES[:1], body=body), maintype="application", subtype="ms-tnef")
    mail = parse(msg.as_bytes())
    assert mail.text.strip() == body
    assert [a.filename for a in mail.attachments] == ["LOGSystem_logi.zip"]


def test_tnef_body_does_not_replace_the_mail_text() -> None:
    """When the message has its own text, the body inside winmail.dat is not used."""
    mail = parse(outlook_mail(tnef.stream(FILES, body="Tekst z winmail.dat")))
    assert mail.text.strip() == "W załączniku logi i zrzut ekranu."


# --- robustness and line endings ----------------------------------------------------------


def test_every_fixture_parses_and_empty_input_is_refused() -> None:
    """Each own message parses without an exception; the empty file is UnparseableMail."""
    for name in names():
        assert parse(read(name)).subject is not None
    with pytest.raises(UnparseableMail):
        parse(read("degenerate-empty.eml"))


def _essence(raw: bytes) -> tuple:
    mail = parse(raw)
    # Parts that are not base64 keep the line ends of the copy they came in.
    files = tuple(
        (a.filename, a.data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")) for a in mail.attachments
    )
    return mail.subject, mail.from_addr, mail.text, mail.own_text, files


@pytest.mark.parametrize("name", names())
def test_lf_crlf_and_cr_copies_parse_the_same(name: str) -> None:
    """The LF, CRLF and CR-only copies of a message give the same subject, sender, text and files."""
    lf = read(name).replace(b"\r\n", b"\n")
    results = [
        _essence(lf),
        _essence(lf.replace(b"\n", b"\r\n")),
        _essence(lf.replace(b"\n", b"\r")),
    ]
    assert results[0][0]
    assert results[0] == results[1] == results[2]


# --- the reply shortcut: skipping mail-parser-reply only where it cannot match ---------------

# Each text reaches one family of mail-parser-reply's English patterns (headers, signatures,
# disclaimers) or a case-folding oddity, or none at all.
REPLIES = [
    "Hello\n\nOn Mon, 16 Nov 2026 at 10:00, Anna <anna@example.com> wrote:\n> old text",
    "Works now.\n\nOn Mon, 16 Nov 2026 at 10:00 Anna <anna@example.com> wrote:\nold text, unquoted",
    "Thanks for the quick fix.\n\nBest regards\nJohn Smith\nExample Ltd",
    "Works now.\n\nKIND REGARDS\nJOHN",
    "Works now.\n\nThanks,\nJohn",
    "Works now.\n\nThank you,\nJohn",
    "Works now.\n\nBest,\nJohn",
    "Works now.\n\nAll the best\nJohn",
    "Works now.\n\nSent from my iPhone",
    "Works now.\n\nGet Outlook for Android",
    "Works now.\n\n-----Original Message-----\nFrom: a@example.com\nSent: Monday\nSubject: x\n\nold",
    "Works now.\n\nFrom: Anna <anna@example.com>\nSent: Monday, 16 November 2026 10:00\n"
    "To: support@log-systems.com\nSubject: x\n\nold text",
    "Works now.\n--\nJohn Smith",
    "Works now.\n__\nJohn",
    "Works now.\n\nThis e-mail and its attachments are confidential.",
    "Works now.\n\nCAUTION: This email originated from outside of the organization.",
    "Works now.\n\nThank\u017f,\nJohn",  # long s matches "s" case-insensitively
    "Works now.\n\nConf\u0131dential: this e-mail is for its addressee only.",  # dotless i
    "Raport R-12 działa.\nDziękujemy za pomoc.",
    "Plain text with no reply markers at all.\nSecond line.",
]


def test_reply_shortcut_never_changes_own_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping mail-parser-reply when none of its patterns can match gives exactly its result."""
    texts = REPLIES + [parse(read(n)).text for n in names()] + [COMPLETE_BODY]
    fast = [strip_reply(t) for t in texts]
    monkeypatch.setattr(owntext, "_LIBRARY_PINNED", False)
    assert [strip_reply(t) for t in texts] == fast
    assert sum(own != text.strip() for own, text in zip(fast, texts, strict=True)) >= 15


# --- the large-message path: big base64 parts decoded straight from the raw bytes ------------


def _built(data: bytes) -> list[bytes]:
    """Messages whose base64 parts the large path must cut out, or must leave alone."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "jan@example.pl", "support@log-systems.com", "Logi"
    msg.set_content("W załączniku logi.\n")
    msg.add_alternative("<p>W załączniku logi.</p>", subtype="html")
    msg.add_attachment(data, maintype="application", subtype="zip", filename="logi_ąę.zip")
    msg.add_attachment(data[:1], maintype="application", subtype="octet-stream", filename="1.bin")
    msg.add_attachment(data[:2], maintype="application", subtype="octet-stream", filename="2.bin")
    msg.add_attachment(b"", maintype="application", subtype="octet-stream", filename="empty.bin")
    msg.add_attachment(data, maintype="application", subtype="octet-stream")  # no name
    msg.add_attachment(tnef.stream(FILES), maintype="application", subtype="ms-tnef")
    msg.add_attachment(client_mail(attachments=[("a.zip", "application/zip", data)]),
                       maintype="message", subtype="rfc822", filename="fwd.eml")  # fmt: skip
    crlf = msg.as_bytes(policy=email.policy.SMTP)
    lf = msg.as_bytes(policy=email.policy.default)
    zip_body = crlf.index(b"\r\n\r\n", crlf.index(b"logi_")) + 4
    dirty = crlf[:zip_body] + b"*" + crlf[zip_body + 1 :]  # the zip's base64 is no longer clean
    short = crlf[:zip_body] + crlf[zip_body + 1 :]  # nor a whole number of base64 quanta
    boundary = msg.get_boundary().encode()
    after_zip = crlf.index(b"\r\n--" + boundary, zip_body)
    # A lone CR before a delimiter: the stdlib splits lines there, so its parts end elsewhere.
    lone_cr = crlf[:after_zip] + b"\r" + crlf[after_zip + 2 :]
    spaced = crlf.replace(b"--" + boundary + b"\r\n", b"--" + boundary + b"  \r\n")
    framed = crlf.replace(b"\r\n\r\n", b"\r\n\r\npreamble\r\n", 1) + b"epilogue\r\n"
    return [crlf, lf, dirty, short, lone_cr, spaced, framed]


def test_large_message_path_gives_the_normal_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every own message parses the same when its base64 parts take the large-message path."""
    samples = [read(n) for n in names()] + _built(random.Random(9).randbytes(5000))
    taken = []
    real = assemble._parse_large

    def spy(raw: bytes):
        result = real(raw)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(large, "LARGE_MESSAGE_BYTES", 1 << 40)
    normal = [parse(raw) for raw in samples]
    monkeypatch.setattr(large, "LARGE_MESSAGE_BYTES", 0)
    monkeypatch.setattr(large, "_LARGE_PART_BYTES", 0)
    monkeypatch.setattr(assemble, "_parse_large", spy)
    assert [parse(raw) for raw in samples] == normal
    assert sum(taken) >= 5  # the path really ran, on the built mail and the Outlook fixture
