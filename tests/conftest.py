"""Shared pytest fixtures and the conformance-corpus gate.

The real servers live in tests/servers.py and are registered here. Tests marked
`corpus` read the external conformance corpus (tests/corpus.py): without it they
are skipped with one reason, or failed when `MAILINTAKE_TEST_CORPUS_REQUIRED=1`.
The run ends with one line saying whether the conformance suite ran; `.ci/run`
asks for it in a file (`MAILINTAKE_CORPUS_SUMMARY`) and prints it last.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.corpus import CORPUS, absent_reason, corpus_present, corpus_required
from tests.fixture_mail import read

pytest_plugins = ["tests.servers"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """The same test on both databases the product supports (SPEC section 11)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailintake.db'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'mailintake.db'}"


@pytest.fixture(params=["own", pytest.param("corpus", marks=pytest.mark.corpus)])
def eight_bit_mail(request) -> bytes:
    """A client mail in raw 8-bit UTF-8 with CRLF ends, one line not UTF-8: ours, then the corpus's."""
    if request.param == "own":
        return read("client-thunderbird-8bit.eml")
    raw = (CORPUS / "django-helpdesk/tests/test_files/utf-nondecodable.eml").read_bytes()
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


# --- the conformance corpus ------------------------------------------------------------------

_corpus_tests: set[str] = set()
_corpus_outcomes: dict[str, str] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A corpus test without the corpus: skipped, or failed when the corpus is required."""
    if item.get_closest_marker("corpus") is None or corpus_present():
        return
    if corpus_required():
        pytest.fail(
            f"conformance corpus required (MAILINTAKE_TEST_CORPUS_REQUIRED=1) but not found at "
            f"{CORPUS}",
            pytrace=False,
        )
    pytest.skip(absent_reason())


def pytest_collection_finish(session: pytest.Session) -> None:
    _corpus_tests.update(i.nodeid for i in session.items if i.get_closest_marker("corpus"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The outcome of each corpus test: its first non-pass, else passed after the call.

    Under pytest-xdist the controller collects nothing: its tests are known by the
    `corpus` keyword of the reports the workers send back."""
    if "corpus" in report.keywords:
        _corpus_tests.add(report.nodeid)
    if report.nodeid not in _corpus_tests or _corpus_outcomes.get(report.nodeid) in (
        "failed",
        "skipped",
    ):
        return
    if report.failed or report.skipped:
        _corpus_outcomes[report.nodeid] = "failed" if report.failed else "skipped"
    elif report.when == "call":
        _corpus_outcomes[report.nodeid] = "passed"


def corpus_summary() -> str | None:
    """One line: whether the conformance suite ran, and if not, how many tests and why."""
    if not _corpus_tests:
        return None
    counts = Counter(_corpus_outcomes.get(n, "not run") for n in _corpus_tests)
    tally = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    if corpus_present():
        return f"conformance suite: ran {len(_corpus_tests)} corpus tests on {CORPUS} ({tally})"
    if corpus_required():
        return f"conformance suite: FAILED, required but not found at {CORPUS} ({tally})"
    return f"conformance suite: not run, {absent_reason()} ({tally} of its tests)"


def pytest_terminal_summary(terminalreporter) -> None:
    if hasattr(terminalreporter.config, "workerinput"):
        return  # a pytest-xdist worker: the controller sums up every worker's reports
    line = corpus_summary()
    if line is None:
        return
    target = os.environ.get("MAILINTAKE_CORPUS_SUMMARY")
    if target:
        Path(target).write_text(line + "\n", encoding="utf-8")
    else:
        terminalreporter.write_line(line)
