"""The mail rules (SPEC section 5) against real bounces, auto-replies and reports.

Reads the conformance corpus (tests/corpus.py; its README.md says how a test can use
each source), parses each file with `adapters.parse` and checks `mailrules.classify` and
`adapters.bounces.parse_bounce`. The same rules on the project's own mail:
tests/unit/test_fixture_mail.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailintake.adapters.bounces import parse_bounce
from mailintake.domain.mail import ParsedMail
from mailintake.domain.mailrules import Kind, classify
from tests.corpus import CORPUS, corpus_params, corpus_present

SUPPORT = "support@log-systems.com"
STAFF = frozenset({"anna.kowalska@log-systems.com"})

pytestmark = pytest.mark.corpus


def _parse(raw: bytes) -> ParsedMail:
    """The real parser, imported here so that collecting this module never needs it."""
    from mailintake.adapters.parse import parse

    return parse(raw)


def _files(pattern: str) -> list[Path]:
    return sorted(p for p in CORPUS.glob(pattern) if p.is_file())


def _classify(path: Path):
    raw = path.read_bytes()
    mail = _parse(raw)
    return mail, raw, classify(mail, support_address=SUPPORT, staff=STAFF)


def _sisimai_bounces() -> list[Path]:
    files = _files("sisimai/maildir/*/*.eml")
    return [
        p for p in files if p.parent.name != "not" and not p.name.startswith(("rfc3834", "arf"))
    ]


def _bounceparser_bounces() -> list[Path]:
    """BounceParser's bounces; its `reports: 0` spam samples are plain spam, not bounces."""
    if not corpus_present():
        return []
    cases = json.loads((CORPUS / "bounceparser/expected.json").read_text())["cases"]
    return [
        p
        for p in _files("bounceparser/t/corpus/*.msg")
        if cases.get(p.name, {}).get("is_bounce") and cases[p.name].get("reports") != 0
    ]


BOUNCES = [
    *_files("flufl.bounce/flufl/bounce/tests/data/*.txt"),
    *_bounceparser_bounces(),
    *_sisimai_bounces(),
    *_files("flanker/tests/fixtures/messages/bounce/*.eml"),
]
AUTOREPLIES = [
    *_files("sisimai/maildir/*/rfc3834-*.eml"),
    *[
        CORPUS / "bounceparser/t/corpus" / n
        for n in ("aol-vacation.msg", "polish-autoreply.msg", "autoreply.msg")
    ],
]
CHALLENGES = [
    CORPUS / "bounceparser/t/corpus" / n
    for n in ("bluebottle.msg", "boxbe-cr.msg", "boxbe-cr2.msg", "whitelist.msg")
]
REPORTS = [
    *_files("sisimai/maildir/*/arf-*.eml"),
    *_files("flanker/tests/fixtures/messages/complaints/*.eml"),
    CORPUS / "flanker/tests/fixtures/messages/disposition-notification.eml",
]


# Corpus "bounces" and reports with no machine evidence at all: no report structure, no
# Auto-Submitted, no null or daemon envelope, no daemon or postmaster address — only words,
# a no-reply or list-robot local part, or a person forwarding a bounce. A client's mail can
# look the same, so they are client mail staff see (issue 10: never vanish on wording).
NO_MACHINE_EVIDENCE = {
    "flufl.bounce/flufl/bounce/tests/data/bounce_02.txt",  # E500_SMTP_Mail_Service@, words
    "flufl.bounce/flufl/bounce/tests/data/simple_20.txt",  # a person's "RE: ... non remis"
    "flufl.bounce/flufl/bounce/tests/data/simple_22.txt",  # Symantec_AntiVirus..@, words
    *(f"sisimai/maildir/bsd/lhost-amazonses-{n:02d}.eml" for n in range(9, 14)),  # no-reply@, JSON
    "sisimai/maildir/bsd/lhost-fml-02.eml",  # neko-admin@ list robot
    "sisimai/maildir/bsd/lhost-fml-03.eml",
    *(f"sisimai/maildir/{d}/lhost-kddi-01.eml" for d in ("bsd", "dos", "mac")),  # no-reply@
    "sisimai/maildir/bsd/lhost-sendmail-14.eml",  # "Fwd: Returned mail" from a person
    "sisimai/maildir/err/make-test-36.eml",  # the same
    *(f"sisimai/maildir/bsd/arf-{n}.eml" for n in (22, 23, 24)),  # a JMRP subject only
}


def _params(paths: list[Path]) -> list:
    return corpus_params(paths, ids=lambda p: str(p.relative_to(CORPUS)))


def _machine_made(paths: list[Path]) -> list[Path]:
    return [p for p in paths if str(p.relative_to(CORPUS)) not in NO_MACHINE_EVIDENCE]


def _unevidenced(paths: list[Path]) -> list[Path]:
    return [p for p in paths if str(p.relative_to(CORPUS)) in NO_MACHINE_EVIDENCE]


@pytest.mark.parametrize("path", _params(_machine_made(BOUNCES)))
def test_bounce_is_never_a_client_nor_answered(path: Path) -> None:
    """Every corpus bounce with machine evidence is not client mail, and never answered."""
    _, _, result = _classify(path)
    assert result.kind not in (Kind.CLIENT, Kind.STAFF), result
    assert not result.may_autoreply, result


@pytest.mark.parametrize("path", _params(_unevidenced(BOUNCES + REPORTS)))
def test_a_bounce_with_no_machine_evidence_is_client_mail(path: Path) -> None:
    """Words, a role-looking local part or a display name alone make no bounce (issue 10)."""
    _, _, result = _classify(path)
    assert result.kind is Kind.CLIENT, result


@pytest.mark.parametrize("path", _params(AUTOREPLIES + CHALLENGES))
def test_autoreplies_and_challenges_are_not_answered(path: Path) -> None:
    """Out-of-office, vacation and challenge/response mail never gets an automatic answer."""
    _, _, result = _classify(path)
    assert not result.may_autoreply, result
    assert result.kind is not Kind.CLIENT, result


@pytest.mark.parametrize("path", _params(AUTOREPLIES[:-1]))
def test_out_of_office_replies_are_autoreplies(path: Path) -> None:
    """Auto-replies with an RFC 3834 header or an out-of-office subject are AUTOREPLY."""
    _, _, result = _classify(path)
    assert result.kind is Kind.AUTOREPLY, result


@pytest.mark.parametrize("path", _params(_machine_made(REPORTS)))
def test_arf_and_mdn_are_reports(path: Path) -> None:
    """ARF abuse reports and MDN read receipts are REPORT and never answered."""
    _, _, result = _classify(path)
    assert result.kind is Kind.REPORT, result
    assert not result.may_autoreply


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"], ids=lambda n: n)
def test_ordinary_mail_is_a_client_we_may_answer(name: str) -> None:
    """sisimai's non-bounces are ordinary client mail that may be acknowledged."""
    _, _, result = _classify(CORPUS / "sisimai/maildir/not" / name)
    assert result.kind is Kind.CLIENT, result
    assert result.may_autoreply, result


def test_unparseable_postmaster_notice_is_not_answered() -> None:
    """sisimai's `rb-issue-368-bug` (a bounce sisimai cannot parse) is not answered.

    It is listed under `not/` because it is no RFC 3464 report, but its `Return-Path: <>`,
    `Auto-Submitted: auto-replied` and postmaster sender forbid an answer (SPEC section 5).
    """
    _, _, result = _classify(CORPUS / "sisimai/maildir/not/rb-issue-368-bug.eml")
    assert result.kind is Kind.BOUNCE, result
    assert not result.may_autoreply


def test_bounce_that_looks_like_an_autoreply_is_a_bounce() -> None:
    """bounceparser's `non-autoreply.msg` says auto-replied but is an exim bounce."""
    mail, raw, result = _classify(CORPUS / "bounceparser/t/corpus/non-autoreply.msg")
    assert result.kind is Kind.BOUNCE, result
    bounce = parse_bounce(mail, raw)
    assert bounce is not None
    assert bounce.failed_recipients == ("hbsdpphvfex@blackwebportal.com",)


def test_corpus_bounces_are_bounces_and_are_read() -> None:
    """Nearly every corpus bounce is BOUNCE, and each yields a Bounce, mostly with recipients.

    The few others are AUTOREPLY or BULK (list robots, no-reply senders), which is still
    "no ticket, no answer".
    """
    kinds, with_recipients = [], 0
    for path in BOUNCES:
        mail, raw, result = _classify(path)
        kinds.append(result.kind)
        if result.kind is Kind.BOUNCE:
            bounce = parse_bounce(mail, raw)
            assert bounce is not None, path
            with_recipients += bool(bounce.failed_recipients)
    bounces = kinds.count(Kind.BOUNCE)
    assert bounces / len(BOUNCES) >= BOUNCE_KIND_FLOOR
    assert with_recipients / bounces >= RECIPIENTS_FOUND_FLOOR


# Agreement floors, measured when this test was written (see _agreement); they only go up.
BOUNCE_KIND_FLOOR = 0.98  # 1011 of 1027; 15 have no machine evidence (NO_MACHINE_EVIDENCE)
RECIPIENTS_FOUND_FLOOR = 0.84  # 861 of 1020
FLUFL_FLOOR = 0.93  # 94 of 101: bounce_02 and simple_22 have no machine evidence
BOUNCEPARSER_FLOOR = 0.97  # 37 of 38
ORIGINAL_ID_FLOOR = 1.0


def _agreement(cases: list[tuple[str, set[str]]]) -> tuple[float, list[str]]:
    """Share of cases whose expected addresses are all among the failed recipients."""
    misses = []
    for name, expected in cases:
        mail, raw, _ = _classify(CORPUS / name)
        bounce = parse_bounce(mail, raw)
        found = set(bounce.failed_recipients) if bounce else set()
        if not expected <= found:
            misses.append(f"{name}: expected {sorted(expected)}, found {sorted(found)}")
    return 1 - len(misses) / len(cases), misses


def test_failed_recipients_agree_with_flufl_bounce() -> None:
    """Failed recipients match flufl.bounce's expected addresses in at least the floor share."""
    data = json.loads((CORPUS / "flufl.bounce/expected.json").read_text())
    merged: dict[str, set[str]] = {}
    for case in data["cases"]:
        merged.setdefault(case["file"], set()).update(a.lower() for a in case["expected_addresses"])
    cases = [(f"flufl.bounce/flufl/bounce/tests/data/{f}", a) for f, a in merged.items() if a]
    rate, misses = _agreement(cases)
    assert rate >= FLUFL_FLOOR, misses


def test_failed_recipients_agree_with_bounceparser() -> None:
    """Failed recipients match BounceParser's expected addresses in at least the floor share."""
    data = json.loads((CORPUS / "bounceparser/expected.json").read_text())
    cases = [
        (f"bounceparser/t/corpus/{name}", {a.lower() for a in case["addresses"]})
        for name, case in data["cases"].items()
        if case.get("is_bounce") and case.get("addresses")
    ]
    rate, misses = _agreement(cases)
    assert rate >= BOUNCEPARSER_FLOOR, misses


def test_original_message_id_agrees_with_bounceparser() -> None:
    """The bounced original's Message-ID matches BounceParser's `orig_message_id`."""
    data = json.loads((CORPUS / "bounceparser/expected.json").read_text())
    cases = {
        name: case["orig_message_id"].strip("<>")
        for name, case in data["cases"].items()
        if case.get("orig_message_id")
    }
    found = {}
    for name in cases:
        mail, raw, _ = _classify(CORPUS / "bounceparser/t/corpus" / name)
        bounce = parse_bounce(mail, raw)
        found[name] = bounce.original_message_id if bounce else None
    agree = sum(found[n] == cases[n] for n in cases) / len(cases)
    assert agree >= ORIGINAL_ID_FLOOR, {n: (cases[n], found[n]) for n in cases}
