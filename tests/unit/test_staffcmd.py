"""Staff subject tags and the staff sender check (SPEC section 6)."""

from __future__ import annotations

import contextlib
import email
import email.policy
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailintake.domain.staffauth import AuthKind, AuthMode, parse_auth_mode, verify_sender
from mailintake.domain.staffcmd import Action, Command, find_ticket_key, parse_command, strip_tags
from mailintake.domain.status import CloseReason, Status
from mailintake.errors import Refusal
from tests.corpus import CORPUS

OURS = "mx.log-systems.com"
STAFF = "jan.kowalski@log-systems.com"

# Every tag of SPEC section 6 in Polish and English, with and without diacritics,
# in the case variants staff actually type.
TAGS = [
    ("[ANALIZA]", Action.ANALIZA),
    ("[analiza]", Action.ANALIZA),
    ("[Analysis]", Action.ANALIZA),
    ("[W TRAKCIE]", Action.W_TRAKCIE),
    ("[w trakcie]", Action.W_TRAKCIE),
    ("[w  trakcie]", Action.W_TRAKCIE),
    ("[W_TRAKCIE]", Action.W_TRAKCIE),
    ("[In Progress]", Action.W_TRAKCIE),
    ("[in-progress]", Action.W_TRAKCIE),
    ("[POPRAWKA]", Action.POPRAWKA),
    ("[poprawka 2026-12-15]", Action.POPRAWKA),
    ("[ fix 2026-12-15 ]", Action.POPRAWKA),
    ("[FIX]", Action.POPRAWKA),
    ("[PUBLIKACJA 2026-12-20]", Action.PUBLIKACJA),
    ("[publikacja]", Action.PUBLIKACJA),
    ("[Release 2026-12-20]", Action.PUBLIKACJA),
    ("[ROZWIĄZANY]", Action.ROZWIAZANY),
    ("[ROZWIAZANY]", Action.ROZWIAZANY),
    ("[rozwiązany]", Action.ROZWIAZANY),
    ("[Resolved]", Action.ROZWIAZANY),
    ("[OBEJŚCIE]", Action.OBEJSCIE),
    ("[OBEJSCIE]", Action.OBEJSCIE),
    ("[obejście]", Action.OBEJSCIE),
    ("[WORKAROUND]", Action.OBEJSCIE),
    ("[PYTANIE]", Action.PYTANIE),
    ("[Question]", Action.PYTANIE),
    ("[NOTATKA]", Action.NOTATKA),
    ("[note]", Action.NOTATKA),
    ("[KOMPLETNE]", Action.KOMPLETNE),
    ("[complete]", Action.KOMPLETNE),
    ("[ZAMKNIJ]", Action.ZAMKNIJ),
    ("[Close]", Action.ZAMKNIJ),
    ("[DUPLIKAT LOG-000120]", Action.DUPLIKAT),
    ("[duplicate LOG-000120]", Action.DUPLIKAT),
    ("[PODZIEL]", Action.PODZIEL),
    ("[split]", Action.PODZIEL),
    ("[REJESTRUJ]", Action.REJESTRUJ),
    ("[Register]", Action.REJESTRUJ),
    ("[PRZEJMIJ]", Action.PRZEJMIJ),
    ("[przejmij]", Action.PRZEJMIJ),
    ("[Take]", Action.PRZEJMIJ),
    ("[POMOC]", Action.POMOC),
    ("[help]", Action.POMOC),
]

# Where a tag may stand: before or after reply/forward prefixes, before or after the key.
PLACES = [
    "{tag} [LOG-000123] Błąd przy eksporcie",
    "[LOG-000123] {tag} Błąd przy eksporcie",
    "Re: [LOG-000123] Błąd przy eksporcie {tag}",
    "{tag} Re: [LOG-000123] Błąd przy eksporcie",
    "Odp: {tag} [LOG-000123] Błąd przy eksporcie",
    "AW: [LOG-000123] {tag} Błąd przy eksporcie",
    "Fwd: {tag} Błąd przy eksporcie [LOG-000123]",
    "PD: RE: [LOG-000123] {tag}",
]


@pytest.mark.parametrize(("tag", "action"), TAGS)
def test_every_tag_is_read_in_both_languages_and_any_case(tag: str, action: Action) -> None:
    """Each SPEC tag, Polish or English, any case, diacritics optional, names its action."""
    command = parse_command(f"Re: [LOG-000123] {tag} Błąd przy eksporcie")
    assert command.action is action
    assert command.tag == tag


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(("tag", "action"), [TAGS[0], TAGS[8], TAGS[16], TAGS[27]])
def test_a_tag_is_read_wherever_it_stands(place: str, tag: str, action: Action) -> None:
    """A tag counts before or after Re:/Odp:/AW:/Fwd:/PD: and before or after the key."""
    assert parse_command(place.format(tag=tag)).action is action


@pytest.mark.parametrize(
    ("tag", "status", "resolution"),
    [
        ("[ANALIZA]", Status.ANALIZA, None),
        ("[W TRAKCIE]", Status.W_TRAKCIE, None),
        ("[POPRAWKA]", Status.CZEKA_NA_POPRAWKE, None),
        ("[PUBLIKACJA]", Status.CZEKA_NA_PUBLIKACJE, None),
        ("[ROZWIĄZANY]", Status.ROZWIAZANY, "full"),
        ("[OBEJŚCIE]", Status.ROZWIAZANY, "workaround"),
        ("[KOMPLETNE]", Status.ANALIZA, None),
        ("[ZAMKNIJ]", Status.ZAMKNIETY, None),
        ("[DUPLIKAT LOG-000120]", Status.ZAMKNIETY, None),
        ("[PYTANIE]", None, None),
        ("[NOTATKA]", None, None),
        ("[PODZIEL]", None, None),
        ("[REJESTRUJ]", None, None),
        ("[PRZEJMIJ]", None, None),
        ("[POMOC]", None, None),
        ("no tag at all", None, None),
    ],
)
def test_each_command_names_its_target_status_and_resolution(
    tag: str, status: Status | None, resolution: str | None
) -> None:
    """A command carries the status it moves to and, for a solution, its kind (SPEC §6)."""
    command = parse_command(tag)
    assert (command.target_status, command.resolution) == (status, resolution)


def test_closing_commands_carry_their_close_reason() -> None:
    """[ZAMKNIJ] closes with reason staff, [DUPLIKAT …] with reason duplicate (SPEC §2)."""

    def reason(subject: str, unanswered: bool = False) -> CloseReason | None:
        return parse_command(subject).close_reason(question_unanswered=unanswered)

    assert reason("[ZAMKNIJ]") is CloseReason.STAFF
    assert reason("[ZAMKNIJ]", unanswered=True) is CloseReason.NO_RESPONSE
    assert reason("[DUPLIKAT LOG-000120]", unanswered=True) is CloseReason.DUPLICATE
    assert reason("[W TRAKCIE]") is None


def test_a_command_built_by_hand_fills_in_its_target() -> None:
    """Command(action) alone already knows its target status and resolution."""
    assert Command(Action.OBEJSCIE).target_status is Status.ROZWIAZANY
    assert Command(Action.OBEJSCIE).resolution == "workaround"


def test_a_subject_without_a_tag_is_relayed() -> None:
    """No tag means the staff reply goes to the client as a message on the ticket."""
    command = parse_command("RE: [LOG-000123] Błąd przy eksporcie")
    assert command == Command(Action.RELAY)
    assert command.target_status is None


@pytest.mark.parametrize(
    "subject",
    [
        "[EXTERNAL] Re: [LOG-000123] Błąd",
        "[SPAM] [LOG-000123] Błąd",
        "[Ticket#2024031510000123] Re: [LOG-000123] Błąd",
        "Re: [LOG-000123] [PILNE] Błąd w module [Raporty]",
        "Re: [LOG-000123] [REKLAMACJA] nie działa",
        "Re: [LOG-000123] [COMPLAINT] still broken",
        "[ZEWNĘTRZNY] Odp: [LOG-000123] Błąd",
        "Re: [LOG-000123] [] Błąd",
    ],
)
def test_mail_system_and_client_brackets_are_not_commands(subject: str) -> None:
    """Brackets that look nothing like a tag are subject text, so the reply is relayed."""
    assert parse_command(subject).action is Action.RELAY


def test_the_ticket_key_is_not_a_command() -> None:
    """`[LOG-000123]` is the key, not a tag, also with another prefix configured."""
    assert parse_command("[LOG-000123]").action is Action.RELAY
    assert parse_command("[ACME-000007] [NOTATKA]", prefix="ACME").action is Action.NOTATKA


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("[POPRAWKA 2026-12-15]", date(2026, 12, 15)),
        ("[fix 2026-1-5]", date(2026, 1, 5)),
        ("[ fix  2026-12-15 ]", date(2026, 12, 15)),
        ("[fix: 2026-12-15]", date(2026, 12, 15)),
        ("[POPRAWKA 15.12.2026]", date(2026, 12, 15)),
        ("[poprawka 5.1.2027 r.]", date(2027, 1, 5)),
        ("[PUBLIKACJA 20.12.2026]", date(2026, 12, 20)),
        ("[release 2026-12-20]", date(2026, 12, 20)),
        ("[POPRAWKA]", None),
        ("[release]", None),
    ],
)
def test_fix_and_release_dates_are_optional_iso_or_polish(tag: str, expected: date | None) -> None:
    """The ETA or release date is read as YYYY-MM-DD or DD.MM.YYYY, or is absent."""
    assert parse_command(f"Re: [LOG-000123] {tag}").date == expected


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("[DUPLIKAT LOG-000120]", "LOG-000120"),
        ("[duplikat log-000120]", "LOG-000120"),
        ("[Duplicate LOG-120]", "LOG-000120"),
        ("[DUPLICATE: LOG-120]", "LOG-000120"),
    ],
)
def test_the_duplicate_key_is_normalised(tag: str, key: str) -> None:
    """The ticket named by [DUPLIKAT …] is given as a full key whatever its spelling."""
    assert parse_command(f"[LOG-000123] {tag}").duplicate_of == key


def test_the_same_tag_twice_counts_once() -> None:
    """A reply that keeps the tag of the mail it answers repeats the command, not adds one."""
    command = parse_command("Re: [LOG-000123] [NOTATKA] Re: [notatka] logi")
    assert command.action is Action.NOTATKA


@pytest.mark.parametrize(
    ("subject", "polish", "english"),
    [
        ("[LOG-000123] [ROZWIĄZANY] [ZAMKNIJ]", "kilka poleceń", "several commands"),
        ("[NOTATKA] Re: [LOG-000123] [PYTANIE]", "kilka poleceń", "several commands"),
        ("[fix 2026-12-15] [fix 2026-12-16]", "kilka poleceń", "several commands"),
        ("[LOG-000123] [POPRAWKA 2026-13-45]", "nieprawidłowa data", "bad date"),
        ("[LOG-000123] [fix tomorrow]", "nieprawidłowa data", "bad date"),
        ("[LOG-000123] [PUBLIKACJA 31.02.2026]", "nieprawidłowa data", "bad date"),
        ("[LOG-000123] [fix 15-12-2026]", "nieprawidłowa data", "bad date"),
        ("[LOG-000123] [DUPLIKAT]", "podaj numer", "give the ticket key"),
        ("[LOG-000123] [duplicate ABC-000120]", "podaj numer", "give the ticket key"),
        ("[LOG-000123] [DUPLIKAT LOG-12x]", "podaj numer", "give the ticket key"),
        ("[LOG-000123] [ZAMKNIJ teraz]", "nie przyjmuje argumentu", "takes no argument"),
        ("[LOG-000123] [ROZWIAZNY]", "nieznany tag", "unknown tag"),
        ("[LOG-000123] [NOTKA]", "nieznany tag", "unknown tag"),
        ("[LOG-000123] [W TRAKICE]", "nieznany tag", "unknown tag"),
        ("[LOG-000123] [resolve]", "nieznany tag", "unknown tag"),
        ("[LOG-000123] [ZAMKNIĘTY]", "nieznany tag", "unknown tag"),
        ("[LOG-000123] [Czeka na poprawkę]", "nieznany tag", "unknown tag"),
    ],
)
def test_unclear_commands_are_refused_in_polish_and_english(
    subject: str, polish: str, english: str
) -> None:
    """Several commands, a bad date, a missing key or a mistyped tag is refused (SPEC §6)."""
    with pytest.raises(Refusal) as refused:
        parse_command(subject)
    assert polish in str(refused.value)
    assert english in str(refused.value)


def test_a_mistyped_tag_is_answered_with_the_tag_meant() -> None:
    """The refusal of a typo names the tag it resembles, so staff can resend at once."""
    with pytest.raises(Refusal, match=r"did you mean \[ROZWIĄZANY\]"):
        parse_command("[LOG-000123] [ROZWIAZNY]")


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("[LOG-000123] Błąd", "LOG-000123"),
        ("Re: Odp: Błąd [LOG-000123]", "LOG-000123"),
        ("Re: [log-000123] Błąd", "LOG-000123"),
        ("Re: [ LOG-000123 ] Błąd", "LOG-000123"),
        ("Re: [LOG-123] Błąd", "LOG-000123"),
        ("[DUPLIKAT LOG-000120] [LOG-000123]", "LOG-000123"),
        ("Re: LOG-000123 Błąd", None),
        ("Re: [LOG-] Błąd", None),
        ("Re: [ACME-000123] Błąd", None),
        ("Błąd", None),
    ],
)
def test_the_ticket_key_is_found_in_brackets_only(subject: str, key: str | None) -> None:
    """`[LOG-000123]` anywhere, any case, short numbers padded; never a bare or other key."""
    assert find_ticket_key(subject) == key


def test_the_ticket_key_follows_the_configured_prefix() -> None:
    """With prefix ACME the key is `[ACME-000123]` and `[LOG-000123]` is not ours."""
    assert find_ticket_key("Re: [acme-123] [LOG-000001]", prefix="ACME") == "ACME-000123"


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: [LOG-000123] [ROZWIĄZANY] Błąd przy eksporcie", "Błąd przy eksporcie"),
        ("[w trakcie] Odp: AW: Fwd: [LOG-000123] Błąd", "Błąd"),
        ("PD: RE: FW: WG: SV: Błąd [LOG-000123]", "Błąd"),
        ("Re[2]: Odp: Błąd", "Błąd"),
        (
            "[EXTERNAL] Re: [LOG-000123] Błąd w module [Raporty]",
            "[EXTERNAL] Re: Błąd w module [Raporty]",
        ),
        ("Błąd: Re: nie działa", "Błąd: Re: nie działa"),
        ("Reset hasła", "Reset hasła"),
    ],
)
def test_strip_tags_leaves_the_subject_people_wrote(subject: str, clean: str) -> None:
    """Keys, command tags and leading reply/forward prefixes go; other text stays."""
    assert strip_tags(subject) == clean


@pytest.mark.parametrize(
    ("subject", "action", "target"),
    [
        ("[LOG-000123] [W TRAKCIE] [NOTATKA] Błąd", Action.W_TRAKCIE, Status.W_TRAKCIE),
        ("[note] Re: [LOG-000123] [in progress]", Action.W_TRAKCIE, Status.W_TRAKCIE),
        ("[LOG-000123] [ROZWIĄZANY] [notatka]", Action.ROZWIAZANY, Status.ROZWIAZANY),
        ("[LOG-000123] [POPRAWKA 2026-12-15] [NOTATKA]", Action.POPRAWKA, Status.CZEKA_NA_POPRAWKE),
        ("[NOTATKA] [DUPLIKAT LOG-000120] [LOG-000123]", Action.DUPLIKAT, Status.ZAMKNIETY),
        ("[LOG-000123] [NOTATKA] [W TRAKCIE] Re: [NOTATKA]", Action.W_TRAKCIE, Status.W_TRAKCIE),
    ],
)
def test_a_status_tag_with_a_note_is_a_silent_status_change(
    subject: str, action: Action, target: Status
) -> None:
    """A status tag with [NOTATKA]/[note] is that status change, marked silent (SPEC §6)."""
    command = parse_command(subject)
    assert (command.action, command.target_status, command.silent) == (action, target, True)
    assert not command.mails_staff_text


@pytest.mark.parametrize(
    "other", ["[PYTANIE]", "[PODZIEL]", "[PRZEJMIJ]", "[POMOC]", "[REJESTRUJ]"]
)
def test_a_note_joins_only_a_status_tag(other: str) -> None:
    """[NOTATKA] with anything but a status tag is two commands: refused."""
    with pytest.raises(Refusal, match="several commands"):
        parse_command(f"[LOG-000123] {other} [NOTATKA]")


def test_alone_a_status_tag_mails_the_staff_text_and_a_note_does_not() -> None:
    """Which commands send the staff text (and its files) to the client."""
    assert parse_command("[LOG-1] [W TRAKCIE]").mails_staff_text
    assert parse_command("[LOG-1] Re: Błąd").mails_staff_text
    assert parse_command("[LOG-1] [PYTANIE]").mails_staff_text
    for quiet in ("[NOTATKA]", "[PRZEJMIJ]", "[POMOC]", "[KOMPLETNE]", "[REJESTRUJ]"):
        assert not parse_command(f"[LOG-1] {quiet}").mails_staff_text, quiet


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("[ZAMKNIĘTY] Re: problem", "problem"),
        ("Re: [ZAMKNIJ teraz] problem", "problem"),
        ("[ZAM[LOG-000001]KNIJ] problem", "problem"),
        ("[POMOC]", ""),
        ("[REKLAMACJA] Błąd", "[REKLAMACJA] Błąd"),
    ],
)
def test_strip_tags_leaves_no_bracket_a_staff_reply_would_run_or_refuse(
    subject: str, clean: str
) -> None:
    """Mistyped tags and tags with bad arguments go too; harmless brackets stay."""
    assert strip_tags(subject) == clean


@given(st.text(max_size=80))
def test_a_staff_reply_to_a_cleaned_subject_is_a_plain_relay(subject: str) -> None:
    """A subject built from a cleaned one (a staff notice's) never runs or refuses a command."""
    command = parse_command(f"RE: [LOG-000123] Odpowiedź klienta: {strip_tags(subject)}")
    assert command.action is Action.RELAY


@given(st.lists(st.sampled_from(["[", "]", "ZAM", "KNIJ", "[LOG-1]", " ", "close", "NOTKA"])))
def test_no_pieced_together_tag_survives_cleaning(pieces: list[str]) -> None:
    """Removing one bracket never leaves a new tag made of what stood around it."""
    command = parse_command(f"[LOG-000123] {strip_tags(''.join(pieces))}")
    assert command.action is Action.RELAY


@given(st.text(max_size=80))
def test_strip_tags_is_idempotent(subject: str) -> None:
    """Cleaning a cleaned subject changes nothing."""
    once = strip_tags(subject)
    assert strip_tags(once) == once


@given(st.text(max_size=80))
def test_any_subject_gives_a_command_or_a_refusal(subject: str) -> None:
    """Whatever staff type, the answer is a command or a Refusal, never a crash."""
    with contextlib.suppress(Refusal):
        assert isinstance(parse_command(subject), Command)


@given(st.integers(min_value=1, max_value=9_999_999))
def test_any_key_we_issue_is_found_again(n: int) -> None:
    """Every key of the form `{prefix}-{n:06d}` in brackets is found as written."""
    assert find_ticket_key(f"Re: [LOG-{n:06d}] x") == f"LOG-{n:06d}"


# --- sender check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("none", AuthMode(AuthKind.NONE)),
        (" Exchange ", AuthMode(AuthKind.EXCHANGE)),
        ("authres:mx.log-systems.com", AuthMode(AuthKind.AUTHRES, OURS)),
        ("AUTHRES: MX.Log-Systems.com", AuthMode(AuthKind.AUTHRES, OURS)),
    ],
)
def test_auth_modes_are_read_from_the_setting(value: str, mode: AuthMode) -> None:
    """MAILINTAKE_STAFF_AUTH is none, exchange or authres:<authserv-id>, case-insensitive."""
    assert parse_auth_mode(value) == mode


@pytest.mark.parametrize("value", ["", "authres", "authres:", "authres:mx..x", "dkim", "none:x"])
def test_a_bad_auth_mode_names_the_setting(value: str) -> None:
    """A bad value is refused with a message naming the variable and the choices."""
    with pytest.raises(ValueError, match="MAILINTAKE_STAFF_AUTH"):
        parse_auth_mode(value)


def _ar(*values: str, **other: list[str]) -> dict[str, list[str]]:
    return {"authentication-results": list(values), **other}


AUTHRES = AuthMode(AuthKind.AUTHRES, OURS)
ALL_PASS = f"{OURS}; dkim=pass header.d=log-systems.com; dmarc=pass header.from=Log-Systems.com."
EXCHANGE = AuthMode(AuthKind.EXCHANGE)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            _ar(ALL_PASS),
            "dmarc=pass for log-systems.com",
        ),
        (_ar(f"{OURS}; dmarc=pass (p=reject)"), "dmarc=pass for log-systems.com"),
        (_ar(f"{OURS}; dkim=pass header.d=log-systems.com"), "dkim=pass for log-systems.com"),
        (_ar(f"{OURS}; dkim=pass header.i=@Log-Systems.COM"), "dkim=pass for log-systems.com"),
        (
            _ar(f"{OURS}; dkim=pass header.d=attacker.example; dkim=pass header.d=log-systems.com"),
            "dkim=pass for log-systems.com",
        ),
        (
            _ar(f"{OURS}; spf=pass smtp.mailfrom=jan.kowalski@log-systems.com"),
            "spf=pass for log-systems.com",
        ),
        (_ar(f"{OURS}; spf=pass smtp.mailfrom=log-systems.com"), "spf=pass for log-systems.com"),
        (
            _ar(
                f"{OURS};\r\n\tdmarc=pass (p=REJECT)\r\n\theader.from=log-systems.com",
                "mx.other.example; dmarc=fail header.from=log-systems.com",
            ),
            "dmarc=pass for log-systems.com",
        ),
    ],
)
def test_our_own_pass_for_the_senders_domain_is_trusted(
    headers: dict[str, list[str]], reason: str
) -> None:
    """dmarc=pass, or dkim/spf=pass for the From domain, in our topmost header is trusted."""
    assert verify_sender(AUTHRES, STAFF, headers).__dict__ == {"trusted": True, "reason": reason}


def test_a_pass_for_a_parent_domain_is_aligned() -> None:
    """A signature of log-systems.com covers mail from pl.log-systems.com (relaxed alignment)."""
    headers = _ar(f"{OURS}; dkim=pass header.d=log-systems.com")
    assert verify_sender(AUTHRES, "anna@pl.log-systems.com", headers).trusted


@pytest.mark.parametrize(
    ("sender", "headers", "reason"),
    [
        (STAFF, {}, f"no Authentication-Results from {OURS}"),
        (
            STAFF,
            _ar("mx.attacker.example; dmarc=pass header.from=log-systems.com"),
            f"no Authentication-Results from {OURS}",
        ),
        (
            STAFF,
            _ar(
                "mx.attacker.example; none",
                f"{OURS}; dmarc=pass header.from=log-systems.com",
            ),
            f"Authentication-Results from {OURS} is not topmost (top: mx.attacker.example)",
        ),
        (
            STAFF,
            _ar(
                "spf=pass smtp.mailfrom=log-systems.com; dmarc=pass header.from=log-systems.com",
                f"{OURS}; dmarc=pass header.from=log-systems.com",
            ),
            f"Authentication-Results from {OURS} is not topmost (top: an unreadable header)",
        ),
        (
            STAFF,
            _ar(f"{OURS}; dkim=fail header.d=log-systems.com; spf=softfail; dmarc=fail"),
            "dmarc=fail; dkim=fail; spf=softfail",
        ),
        (
            STAFF,
            _ar(f"{OURS}; dkim=pass header.d=attacker.example; dmarc=fail"),
            "dmarc=fail; dkim=pass for attacker.example, not log-systems.com",
        ),
        (
            STAFF,
            _ar(f"{OURS}; dkim=pass header.d=log-systems.com.attacker.example"),
            "dkim=pass for log-systems.com.attacker.example, not log-systems.com",
        ),
        (
            STAFF,
            _ar(f"{OURS}; dkim=pass header.d=systems.com"),
            "dkim=pass for systems.com, not log-systems.com",
        ),
        (
            STAFF,
            _ar(f"{OURS}; dkim=pass header.d=mail.log-systems.com"),
            "dkim=pass for mail.log-systems.com, not log-systems.com",
        ),
        (
            STAFF,
            _ar(f"{OURS}; spf=pass smtp.mailfrom=bounce@attacker.example"),
            "spf=pass for attacker.example, not log-systems.com",
        ),
        (
            STAFF,
            _ar(f"{OURS}; dmarc=pass header.from=attacker.example"),
            "dmarc=pass for attacker.example, not log-systems.com",
        ),
        (STAFF, _ar(f"{OURS}; dkim=pass"), "dkim=pass without a domain"),
        (STAFF, _ar(f"{OURS}; none"), "no dmarc, dkim or spf result for log-systems.com"),
        (STAFF, _ar(f"{OURS}; dmarc=bestguesspass"), "dmarc=bestguesspass"),
        ("", _ar(f"{OURS}; dmarc=pass"), "From address '' has no domain"),
    ],
)
def test_spoofed_or_unproven_staff_mail_is_not_trusted(
    sender: str, headers: dict[str, list[str]], reason: str
) -> None:
    """Missing, foreign, lower, failed or unaligned results never make a sender trusted."""
    assert verify_sender(AUTHRES, sender, headers).__dict__ == {
        "trusted": False,
        "reason": reason,
    }


def test_header_names_are_matched_in_any_case() -> None:
    """Headers given with their written capitalisation are still read."""
    headers = {"Authentication-Results": [f"{OURS}; dmarc=pass header.from=log-systems.com"]}
    assert verify_sender(AUTHRES, STAFF, headers).trusted


@pytest.mark.corpus
def test_a_real_gmail_header_is_not_ours() -> None:
    """A real message whose only Authentication-Results is Google's is not trusted by us.

    The same on the project's own Gmail-relayed message: tests/unit/test_fixture_mail.py.
    """
    raw = (CORPUS / "bounceparser/t/corpus/spam-rejection42.msg").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = {"authentication-results": message.get_all("Authentication-Results", [])}
    verdict = verify_sender(AUTHRES, "postmaster@example.net", headers)
    assert verdict.__dict__ == {
        "trusted": False,
        "reason": f"no Authentication-Results from {OURS}",
    }
    google = verify_sender(
        parse_auth_mode("authres:mx.google.com"), "postmaster@example.net", headers
    )
    assert google.__dict__ == {"trusted": False, "reason": "spf=neutral"}


@pytest.mark.parametrize(
    ("headers", "trusted", "reason"),
    [
        (
            {"x-ms-exchange-organization-authas": ["Internal"]},
            True,
            "X-MS-Exchange-Organization-AuthAs: Internal",
        ),
        (
            {"X-MS-Exchange-Organization-AuthAs": [" internal "]},
            True,
            "X-MS-Exchange-Organization-AuthAs: Internal",
        ),
        ({}, False, "no X-MS-Exchange-Organization-AuthAs (not from inside)"),
        (
            {"x-ms-exchange-organization-authas": ["External"]},
            False,
            "X-MS-Exchange-Organization-AuthAs is 'External', not Internal",
        ),
        (
            {"x-ms-exchange-organization-authas": ["Anonymous"]},
            False,
            "X-MS-Exchange-Organization-AuthAs is 'Anonymous', not Internal",
        ),
        (
            {
                "x-ms-exchange-organization-authas": ["Internal", "External"],
                "authentication-results": [f"{OURS}; dmarc=pass"],
            },
            False,
            "X-MS-Exchange-Organization-AuthAs is 'External', not Internal",
        ),
        (
            {"authentication-results": ["spf=pass smtp.mailfrom=log-systems.com; dmarc=pass"]},
            False,
            "no X-MS-Exchange-Organization-AuthAs (not from inside)",
        ),
    ],
)
def test_exchange_mode_trusts_only_internal_mail(
    headers: dict[str, list[str]], trusted: bool, reason: str
) -> None:
    """In exchange mode only AuthAs: Internal counts; External, Anonymous or none do not."""
    assert verify_sender(EXCHANGE, STAFF, headers).__dict__ == {
        "trusted": trusted,
        "reason": reason,
    }


def test_mode_none_trusts_the_from_address_and_says_so() -> None:
    """In development mode every staff address is trusted and the reason tells why."""
    verdict = verify_sender(AuthMode(AuthKind.NONE), STAFF, {})
    assert verdict.trusted
    assert "MAILINTAKE_STAFF_AUTH=none" in verdict.reason
