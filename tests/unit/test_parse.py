"""Behaviour of `adapters.parse` on hand-made messages: decoding, names, bodies, own text."""

from __future__ import annotations

import base64
import email.policy
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailintake.adapters.parse import (
    LARGE_MESSAGE_BYTES,
    UnparseableMail,
    html_to_text,
    parse,
    sanitize_filename,
    strip_reply,
)
from tests.corpus import CORPUS, corpus_params, corpus_present, load_json, message_files

POLISH = "zrzut_ekranu_ąęłńóśźż.png"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def message(headers: str, body: str, charset: str = "utf-8") -> bytes:
    """CRLF message bytes from header lines and a body written with LF."""
    text = headers.strip("\n") + "\n\n" + body
    return text.replace("\n", "\r\n").encode(charset)


def with_attachment(disposition: str, content_type: str = "image/png") -> bytes:
    """A multipart/mixed message: a short text and one base64 attachment."""
    payload = base64.encodebytes(PNG).decode("ascii")
    return message(
        "From: Jan Kowalski <Jan.Kowalski@Example.PL>\n"
        "To: support@log-systems.com\n"
        "Subject: zrzut\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b1"\n',
        "--b1\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "W załączniku zrzut.\n"
        "--b1\n"
        f"Content-Type: {content_type}\n"
        "Content-Transfer-Encoding: base64\n"
        f"Content-Disposition: {disposition}\n\n"
        f"{payload}"
        "--b1--\n",
    )


def percent(name: str, charset: str) -> str:
    return "".join(f"%{b:02X}" for b in name.encode(charset))


# --- attachment names -------------------------------------------------------


@pytest.mark.parametrize("charset", ["windows-1250", "iso-8859-2"])
def test_rfc2231_polish_filename_is_decoded(charset: str) -> None:
    """An RFC 2231 `filename*=` in a Polish code page gives the Polish name."""
    raw = with_attachment(f"attachment; filename*={charset}''{percent(POLISH, charset)}")
    (att,) = parse(raw).attachments
    assert att.filename == POLISH
    assert att.data == PNG


def test_rfc2231_continuations_are_joined() -> None:
    """RFC 2231 §3 continuations (`filename*0*`, `filename*1*`) form one name."""
    encoded = percent(POLISH, "iso-8859-2")
    cut = encoded.index("%", len(encoded) // 2)
    raw = with_attachment(
        f"attachment;\n filename*0*=iso-8859-2''{encoded[:cut]};\n filename*1*={encoded[cut:]}"
    )
    assert parse(raw).attachments[0].filename == POLISH


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("windows-1250", "Q"), ("iso-8859-2", "B"), ("utf-8", "B")],
)
def test_rfc2047_polish_filename_is_decoded(charset: str, encoding: str) -> None:
    """An encoded word in a quoted filename (Outlook, Gmail) is decoded."""
    data = POLISH.encode(charset)
    if encoding == "B":
        word = base64.b64encode(data).decode("ascii")
    else:
        word = "".join(chr(b) if chr(b).isalnum() and b < 0x80 else f"={b:02X}" for b in data)
    raw = with_attachment(f'attachment; filename="=?{charset}?{encoding}?{word}?="')
    assert parse(raw).attachments[0].filename == POLISH


@pytest.mark.parametrize("charset", ["utf-8", "windows-1250"])
def test_raw_8bit_filename_is_decoded(charset: str) -> None:
    """A filename sent as raw 8-bit bytes (no encoding at all) still reads as Polish."""
    raw = with_attachment('attachment; filename="@@NAME@@"')
    raw = raw.replace(b"@@NAME@@", POLISH.encode(charset))
    assert parse(raw).attachments[0].filename == POLISH


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.txt", "y.txt"),
        ("/tmp/../a.log", "a.log"),
        ("log\x00file\x07.txt", "logfile.txt"),
        ("...hidden.txt", "hidden.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("", "attachment"),
        (None, "attachment"),
        ("..", "attachment"),
    ],
)
def test_sanitize_filename_removes_paths_and_control_characters(
    name: str | None, expected: str
) -> None:
    """Path parts, control and bidi characters and leading dots are removed; never empty."""
    assert sanitize_filename(name) == expected


def test_sanitize_filename_bounds_length_and_keeps_extension() -> None:
    """A 1000-character name is cut to `max_len`, keeping its extension."""
    name = sanitize_filename("a" * 1000 + ".tar.gz")
    assert len(name) == 150
    assert name.endswith(".gz")


def test_sanitize_filename_bounds_utf8_bytes() -> None:
    """Long Polish names also fit a 255-byte file system name."""
    name = sanitize_filename("ą" * 300 + ".png")
    assert len(name.encode("utf-8")) <= 255
    assert name.endswith(".png")


def test_sanitize_filename_uses_the_fallback() -> None:
    """An unusable name gives the fallback, itself sanitised."""
    assert sanitize_filename("\x00\x01", fallback="../image.png") == "image.png"


def test_parsed_attachment_names_are_sanitised() -> None:
    """Traversal, control-character and over-long names are made safe by `parse`."""
    evil = parse(with_attachment('attachment; filename="../../etc/passwd"'))
    nul = parse(with_attachment('attachment; filename="a\x01b.png"'))
    long = parse(with_attachment(f'attachment; filename="{"x" * 1000}.png"'))
    assert evil.attachments[0].filename == "passwd"
    assert nul.attachments[0].filename == "ab.png"
    assert len(long.attachments[0].filename) <= 150
    assert long.attachments[0].filename.endswith(".png")


def test_nameless_attachment_gets_a_name_from_its_type() -> None:
    """A part without a name is called after its content type, with an extension."""
    att = parse(with_attachment("attachment")).attachments[0]
    assert att.filename == "image.png"


def test_inline_image_keeps_its_content_id() -> None:
    """An image referenced by Content-ID is kept, marked inline, the ID bare."""
    raw = with_attachment("inline").replace(
        b"Content-Disposition: inline", b"Content-ID: <logo@LOG>\r\nContent-Disposition: inline"
    )
    att = parse(raw).attachments[0]
    assert att.inline is True
    assert att.content_id == "logo@LOG"
    assert att.data == PNG


def test_attached_message_is_kept_as_eml() -> None:
    """A message/rfc822 part becomes `<subject>.eml` holding the enclosed message."""
    raw = message(
        "From: a@example.com\nSubject: fwd\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n',
        "--b\nContent-Type: text/plain\n\nsee below\n"
        "--b\nContent-Type: message/rfc822\n\n"
        "From: client@example.com\nSubject: =?utf-8?Q?B=C5=82=C4=85d?=\n\nHello there!\n"
        "--b--\n",
    )
    parsed = parse(raw)
    (att,) = parsed.attachments
    assert att.filename == "Błąd.eml"
    assert att.content_type == "message/rfc822"
    assert b"Hello there!" in att.data
    assert "Hello there!" not in parsed.text


# --- headers ------------------------------------------------------------------


def test_folded_encoded_subject_rejoins_ticket_key() -> None:
    """A `[LOG-000123]` key split over folded encoded words is one line again."""
    raw = message(
        "From: a@example.com\n"
        "Subject: =?UTF-8?Q?Re:_[LOG-00?=\n =?UTF-8?Q?0123]_B=C5=82=C4=85d?=\n"
        "\tw raporcie\n",
        "x\n",
    )
    assert parse(raw).subject == "Re: [LOG-000123] Błąd w raporcie"


def test_folded_plain_subject_is_one_line() -> None:
    """A plainly folded subject is unfolded and its white space collapsed."""
    raw = message("From: a@example.com\nSubject: Re:  Problem z logowaniem\n \t[LOG-000123]\n", "")
    assert parse(raw).subject == "Re: Problem z logowaniem [LOG-000123]"


def test_addresses_ids_and_date() -> None:
    """Addresses are lower-case, names decoded, Message-IDs bare, the date aware."""
    raw = message(
        "From: =?UTF-8?Q?Pawe=C5=82_Nowak?= <Pawel.Nowak@Example.COM>\n"
        "To: Support <Support@log-systems.com>, b@x.pl\n"
        "Cc: c@x.pl\nReply-To: r@x.pl\n"
        "Message-ID: < abc@host >\n"
        "In-Reply-To: <p1@host>\n"
        "References: <r1@host>\n <r2@host> <p1@host>\n"
        "Date: Tue, 05 Mar 2024 10:15:00 +0100\n"
        "Subject: x\n",
        "hi\n",
    )
    mail = parse(raw)
    assert (mail.from_addr, mail.from_name) == ("pawel.nowak@example.com", "Paweł Nowak")
    assert mail.to == ("support@log-systems.com", "b@x.pl")
    assert (mail.cc, mail.reply_to) == (("c@x.pl",), ("r@x.pl",))
    assert mail.message_id == "abc@host"
    assert mail.in_reply_to == ("p1@host",)
    assert mail.references == ("r1@host", "r2@host", "p1@host")
    assert mail.date == datetime(2024, 3, 5, 9, 15, tzinfo=UTC)


def test_bad_date_is_none() -> None:
    """An unreadable Date header gives no date rather than an error."""
    assert parse(message("From: a@b.pl\nDate: yesterday-ish\nSubject: x\n", "x")).date is None


def test_headers_keep_every_value_in_order() -> None:
    """Headers are keyed lower-case, every value kept top first, raw ones as written."""
    auth = "mx.log-systems.com; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=x.pl"
    raw = message(
        "Received: from top\nReceived: from bottom\n"
        f"Authentication-Results: {auth}\nAuto-Submitted: auto-replied\n"
        "Return-Path: <>\nFrom: a@b.pl\nSubject: x\n",
        "x",
    )
    mail = parse(raw)
    assert mail.headers["received"] == ("from top", "from bottom")
    assert mail.header("authentication-results") == auth
    assert mail.header("Auto-Submitted") == "auto-replied"
    assert mail.header("return-path") == "<>"


def test_header_access_failure_in_stdlib_does_not_escape() -> None:
    """An Exchange Message-ID in square brackets (crashes the stdlib) still parses."""
    raw = message(
        "From: a@b.pl\nSubject: x\nMessage-ID: <[4A2E4B4A.8030905@example.com]>\n", "body\n"
    )
    assert parse(raw).message_id == "[4A2E4B4A.8030905@example.com]"


def test_empty_input_is_unparseable() -> None:
    """Zero bytes (or only white space) raise UnparseableMail."""
    with pytest.raises(UnparseableMail):
        parse(b"")
    with pytest.raises(UnparseableMail):
        parse(b"\r\n \r\n")


# --- bodies -------------------------------------------------------------------


@pytest.mark.parametrize("charset", ["X-UNKNOWN", "unknown-8bit", "windows-1250", "bogus"])
def test_unknown_or_odd_charsets_fall_back(charset: str) -> None:
    """Unknown charset labels fall back to guessing (here: Polish Windows) without failing."""
    head = f"From: a@b.pl\nSubject: x\nContent-Type: text/plain; charset={charset}\n"
    mail = parse(message(head, "Zażółć gęślą jaźń\n", charset="windows-1250"))
    assert mail.text.strip() == "Zażółć gęślą jaźń"


def test_gb2312_label_decodes_as_gb18030() -> None:
    """`iso-gb2312` (seen from Chinese mailers) is read with the GB18030 superset."""
    head = "From: a@b.pl\nSubject: x\nContent-Type: text/plain; charset=iso-gb2312\n"
    assert parse(message(head, "机房环境\n", charset="gb18030")).text.strip() == "机房环境"


def test_html_only_mail_gets_text() -> None:
    """An HTML-only message has readable text; the HTML is kept as well."""
    html = (
        "<html><head><style>p{color:red}</style><title>T</title></head><body>"
        "<p>Dzie&#324; dobry,</p><p>program nie startuje.<br>Wersja 6.1.111.111</p>"
        "<script>alert(1)</script><ul><li>krok 1</li><li>krok 2</li></ul></body></html>"
    )
    mail = parse(
        message("From: a@b.pl\nSubject: x\nContent-Type: text/html; charset=utf-8\n", html)
    )
    assert mail.content_type == "text/html"
    assert mail.html is not None and "<p>" in mail.html
    assert mail.text.splitlines()[:4] == [
        "Dzień dobry,",
        "",
        "program nie startuje.",
        "Wersja 6.1.111.111",
    ]
    assert "alert" not in mail.text and "color" not in mail.text
    assert "- krok 1" in mail.text


def test_plain_part_is_preferred_over_html() -> None:
    """In multipart/alternative the text part is the text; HTML is kept aside."""
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@b.pl", "x"
    msg.set_content("plain words\n")
    msg.add_alternative("<p>html words</p>", subtype="html")
    mail = parse(msg.as_bytes())
    assert mail.text.strip() == "plain words"
    assert mail.html is not None and "html words" in mail.html
    assert mail.attachments == ()


def test_html_to_text_blocks_breaks_and_entities() -> None:
    """Block elements and <br> make lines, entities are unescaped, scripts dropped."""
    html = "<div>a&amp;b</div><div>c<br/>d&nbsp;e</div><script>x()</script>"
    assert html_to_text(html) == "a&b\nc\nd e"


def test_html_blockquote_becomes_quote() -> None:
    """A <blockquote> (Gmail's quoted history) is rendered with "> " marks."""
    assert html_to_text("<p>yes</p><blockquote>old</blockquote>") == "yes\n\n> old"


# --- the sender's own words ------------------------------------------------------

OUTLOOK_PL = """Dzień dobry,
w załączniku logi. Wersja 6.1.111.111.

Pozdrawiam
Jan Kowalski

________________________________
Od: Pomoc LOG Systems <support@log-systems.com>
Wysłane: wtorek, 5 marca 2024 10:15
Do: Jan Kowalski <jan@example.pl>
Temat: [LOG-000123] Prośba o uzupełnienie

Prosimy o podanie wersji.
"""

GMAIL_EN = """Thanks, it works now.

On Tue, Mar 5, 2024 at 10:15 AM LOG Systems Support <support@log-systems.com>
wrote:

> Please send the log files.
>
> --
> LOG Systems
"""


def test_outlook_polish_reply_is_stripped() -> None:
    """Outlook's "Od:/Wysłane:" history and the "Pozdrawiam" closing are removed."""
    own = strip_reply(OUTLOOK_PL)
    assert own == "Dzień dobry,\nw załączniku logi. Wersja 6.1.111.111."


def test_gmail_english_reply_is_stripped() -> None:
    """A wrapped "On … wrote:" line and the `>` quotes below it are removed."""
    assert strip_reply(GMAIL_EN) == "Thanks, it works now."


def test_polish_original_message_separator() -> None:
    """Text under "-----Wiadomość oryginalna-----" is history."""
    text = "Proszę o kontakt.\n\n-----Wiadomość oryginalna-----\nOd: x@y.pl\nTreść"
    assert strip_reply(text) == "Proszę o kontakt."


def test_thunderbird_polish_bottom_post_keeps_answer() -> None:
    """Answers written below or between quoted lines are kept, the quotes dropped."""
    text = (
        "W dniu 05.03.2024 o 10:15, Pomoc LOG Systems pisze:\n"
        "> Prosimy o wersję.\n"
        "Wersja 6.1.111.111\n"
        "> Częstotliwość?\n"
        "Zawsze\n"
    )
    assert strip_reply(text) == "Wersja 6.1.111.111\nZawsze"


def test_napisal_attribution_is_removed() -> None:
    """ "… napisał(a):" above a quote is history."""
    text = "OK, dziękuję.\n\nJan Nowak <jan@x.pl> napisał(a):\n> stary tekst\n"
    assert strip_reply(text) == "OK, dziękuję."


def test_polish_closing_and_mobile_footer_are_removed() -> None:
    """ "Z poważaniem" and "Wysłano z iPhone'a" end the own text; a lone closing stays."""
    text = "Nadal nie działa.\n\nZ poważaniem,\nAnna Nowak\nFirma Sp. z o.o."
    assert strip_reply(text) == "Nadal nie działa."
    assert strip_reply("Dzięki!\n\nWysłano z iPhone'a") == "Dzięki!"
    assert strip_reply("Pozdrawiam") == "Pozdrawiam"


def test_signature_dash_dash_is_removed_but_lists_stay() -> None:
    """The "-- " signature goes; a "- step" list in the description stays."""
    text = "Kroki:\n- otwórz raport\n- kliknij Drukuj\n\n-- \nJan Kowalski\ntel. 123"
    assert strip_reply(text) == "Kroki:\n- otwórz raport\n- kliknij Drukuj"


def test_plain_text_without_history_is_kept_whole() -> None:
    """A message with no history or signature is returned as written (trimmed)."""
    text = (
        "Program zgłasza błąd 0x80004005 przy starcie.\nData: 2024-03-05\nDo: działu IT\n"
        "Uwaga: ten e-mail dotyczy serwera produkcyjnego.\n"
    )
    assert strip_reply(text) == text.strip()


def test_parse_fills_own_text() -> None:
    """`parse` puts the stripped reply into `own_text` and keeps the full `text`."""
    raw = message("From: a@b.pl\nSubject: Re: x\nContent-Type: text/plain; charset=utf-8\n", "")
    mail = parse(raw + OUTLOOK_PL.replace("\n", "\r\n").encode())
    assert mail.own_text.startswith("Dzień dobry,")
    assert "Prosimy" in mail.text and "Prosimy" not in mail.own_text


# --- TNEF: the conformance corpus (own streams: test_parse_fixtures.py) ----------

TNEF_DIR = CORPUS / "tnefparse" / "tests" / "examples"
BROKEN_TNEF = {"bad_checksum.tnef", "garbage-at-end.tnef", "minimal_attachment.tnef"}


def tnef_cases() -> list[dict[str, object]]:
    if not corpus_present():
        return []
    return load_json("tnefparse/expected.json")["cases"]


def wrap_tnef(data: bytes) -> bytes:
    """A small Outlook-like message carrying `data` as winmail.dat."""
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "outlook@example.com", "TNEF"
    msg.set_content("See attachment.\n")
    msg.add_attachment(data, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes()


@pytest.mark.corpus
@pytest.mark.parametrize(
    "case", corpus_params(tnef_cases(), ids=lambda c: Path(str(c["file"])).name)
)
def test_tnef_is_unpacked_or_kept(case: dict[str, object]) -> None:
    """winmail.dat yields its named attachments; a broken one is kept intact with a defect."""
    name = Path(str(case["file"])).name
    data = (TNEF_DIR / name).read_bytes()
    mail = parse(wrap_tnef(data))
    names = [a.filename for a in mail.attachments]
    if name in BROKEN_TNEF:
        kept = [a for a in mail.attachments if a.filename == "winmail.dat"]
        assert kept and kept[0].data == data
        assert any("TNEF" in d for d in mail.defects)
    else:
        expected = [sanitize_filename(n) for n in case["attachment_long_filenames"]]  # type: ignore[union-attr]
        assert set(expected) <= set(names)
        if "winmail.dat" in names:  # kept only beside a recorded problem
            assert any("TNEF" in d for d in mail.defects)


@pytest.mark.corpus
def test_corpus_tnef_body_is_used_when_the_message_has_none() -> None:
    """A TNEF stream carrying a body supplies the text of an otherwise empty message."""
    path = TNEF_DIR / "triples.tnef"
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "outlook@example.com", "TNEF"
    msg.set_content(path.read_bytes(), maintype="application", subtype="ms-tnef")
    assert parse(msg.as_bytes()).text.strip()


@pytest.mark.parametrize(
    ("text", "own"),
    [
        ("Thanks for the help.\n\nBest regards\nJohn Smith", "Thanks for the help."),
        ("Thanks for the help.\n\nKIND REGARDS\nJohn", "Thanks for the help."),
        # U+017F (long s) matches "s" case-insensitively: still a signature.
        ("Thanks for the help.\n\nBe\u017ft regards\nJohn Smith", "Thanks for the help."),
        (
            "Problem opisany.\n\nCONFIDENTIALITY: This e-mail and attachments are confidential.",
            "Problem opisany.",
        ),
        ("Raport działa.\nfrom: a@b.pl\nto: c@d.pl\nsubject: x\n\nstare", "Raport działa."),
    ],
)
def test_english_signatures_disclaimers_and_headers_are_removed(text: str, own: str) -> None:
    """English closings, disclaimers and header blocks end the own text, in any letter case."""
    assert strip_reply(text) == own


def test_lines_are_trimmed_when_nothing_is_stripped() -> None:
    """Own text without any history keeps its lines, each trimmed of surrounding blanks."""
    assert strip_reply("  Raport R-12 nie działa.  \n\t  Wersja 6.1  \n") == (
        "Raport R-12 nie działa.\nWersja 6.1"
    )


@pytest.mark.corpus
def test_reply_shortcut_never_changes_own_text_on_the_corpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Skipping mail-parser-reply when it cannot match gives its result on every corpus mail."""
    from mailintake.adapters.parse import owntext

    texts = []
    for item in message_files():
        try:
            texts.append(parse(item.read_bytes()).text)
        except UnparseableMail:
            continue
    fast = [strip_reply(t) for t in texts]
    monkeypatch.setattr(owntext, "_LIBRARY_PINNED", False)
    assert [strip_reply(t) for t in texts] == fast
    assert len(texts) > 500


def big_mail(data: bytes, second: bool = False) -> bytes:
    """A client mail (text + HTML) carrying `data` as a named zip, as Outlook sends it."""
    msg = EmailMessage()
    msg["From"] = "Jan Kowalski <jan@example.pl>"
    msg["To"] = "support@log-systems.com"
    msg["Subject"] = "Logi programu"
    msg.set_content("W załączniku logi.\n")
    msg.add_alternative("<p>W załączniku logi.</p>", subtype="html")
    if second:
        msg.add_attachment(b"small", maintype="application", subtype="octet-stream",
                           filename="a.bin")  # fmt: skip
    msg.add_attachment(data, maintype="application", subtype="zip", filename="logi_ąę.zip")
    return msg.as_bytes(policy=email.policy.SMTP)


@pytest.mark.parametrize("second", [False, True])
def test_large_message_attachment_is_decoded_exactly(second: bool) -> None:
    """A message above the large-message size keeps its body and attachment byte for byte."""
    data = random.Random(7).randbytes(LARGE_MESSAGE_BYTES)
    mail = parse(big_mail(data, second))
    assert mail.text.strip() == "W załączniku logi."
    assert mail.html is not None and "logi" in mail.html
    [big] = [a for a in mail.attachments if a.content_type == "application/zip"]
    assert big.filename == "logi_ąę.zip"
    assert big.data == data
    assert len(mail.attachments) == (2 if second else 1)


@pytest.mark.corpus
def test_large_message_path_gives_the_normal_result_on_the_corpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every corpus mail parses the same when its base64 parts take the large-message path."""
    from mailintake.adapters.parse import large

    def results() -> list[object]:
        found: list[object] = []
        for item in message_files():
            try:
                found.append(parse(item.read_bytes()))
            except UnparseableMail as exc:
                found.append(str(exc))
        return found

    monkeypatch.setattr(large, "LARGE_MESSAGE_BYTES", 1 << 40)
    normal = results()
    monkeypatch.setattr(large, "LARGE_MESSAGE_BYTES", 0)
    monkeypatch.setattr(large, "_LARGE_PART_BYTES", 0)
    assert results() == normal


def test_a_tag_with_endless_attributes_keeps_the_text_around_it() -> None:
    """Attributes are never shown: a tag that runs on is read as the bare tag (issue 10)."""
    from mailintake.adapters.parse import html_to_text

    long_tag = "<p " + 'a="1" ' * 2000 + ">"
    assert html_to_text(f"Dzień dobry{long_tag}awaria</p><p>Jan</p>") == (
        "Dzień dobry\n\nawaria\n\nJan"
    )
    assert html_to_text("<div>tekst</div><p " + "a " * 2000) == "tekst"
