"""The conformance corpus: where it is, and reading it (MANIFEST kinds, expectations).

The corpus is real-world mail from other projects' test suites; it is test data
that does not ship with mailintake (several sources are GPL). Tests that read it
carry `@pytest.mark.corpus`; `tests/conftest.py` skips them with one reason when
the corpus is absent, or fails them when `MAILINTAKE_TEST_CORPUS_REQUIRED=1`
(which `.ci/run` sets whenever it finds the corpus). Every behaviour these tests
check also has a test on the project's own fixtures (`tests/fixtures/`), so a
lone clone tests everything it ships.

Owns: the corpus location (`MAILINTAKE_TEST_CORPUS`, default `../shared/corpus`
beside the repository), listing files by kind from `MANIFEST.tsv`, loading
Zammad's `.yml` and the derived `expected.json` expectations, and the
parametrisation of tests over corpus files. Must not parse mail itself or
decide what a test expects.
"""

from __future__ import annotations

import base64
import csv
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _corpus_root() -> Path:
    """`MAILINTAKE_TEST_CORPUS` (relative to the current directory), else `../shared/corpus`."""
    configured = os.environ.get("MAILINTAKE_TEST_CORPUS", "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return REPO.parent / "shared" / "corpus"


CORPUS = _corpus_root()

#: Kinds that are RFC 5322 messages (see the corpus README, "msgs").
MESSAGE_KINDS = frozenset(
    {"message", "bounce", "autoreply", "arf-report", "mdn", "challenge-response", "degenerate"}
)


def corpus_present() -> bool:
    """Whether the corpus is there (its MANIFEST.tsv is the mark of a whole copy)."""
    return (CORPUS / "MANIFEST.tsv").is_file()


def corpus_required() -> bool:
    """Whether a missing corpus fails the corpus tests instead of skipping them (`.ci/run`)."""
    return os.environ.get("MAILINTAKE_TEST_CORPUS_REQUIRED", "") == "1"


def absent_reason() -> str:
    """The one reason every corpus test gives when the corpus is not there."""
    return f"conformance corpus not found at {CORPUS} (set MAILINTAKE_TEST_CORPUS to run it)"


def corpus_params(values: Sequence[Any], ids: Callable[[Any], str] | None = None) -> list[Any]:
    """Parameters for a test over corpus files; one placeholder when the corpus is absent.

    Without the placeholder pytest would skip the test for an "empty parameter set",
    a second reason beside the corpus marker's one.
    """
    if not corpus_present():
        return [pytest.param(None, id="corpus-absent")]
    return [pytest.param(v, id=ids(v) if ids else None) for v in values]


@dataclass(frozen=True)
class CorpusFile:
    """One row of MANIFEST.tsv."""

    path: str
    size: int
    sha256: str
    kind: str

    @property
    def full_path(self) -> Path:
        return CORPUS / self.path

    def read_bytes(self) -> bytes:
        return self.full_path.read_bytes()


@cache
def manifest() -> tuple[CorpusFile, ...]:
    """Every data file of the corpus, in MANIFEST order (empty when absent)."""
    path = CORPUS / "MANIFEST.tsv"
    if not path.is_file():
        return ()
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return tuple(
            CorpusFile(r["path"], int(r["size_bytes"]), r["sha256"], r["kind"]) for r in rows
        )


def files_of_kind(*kinds: str, under: str = "") -> list[CorpusFile]:
    """Corpus files of the given kinds, optionally only below folder `under`."""
    return [f for f in manifest() if f.kind in kinds and f.path.startswith(under)]


def message_files() -> list[CorpusFile]:
    """Every RFC 5322 message file (kinds in MESSAGE_KINDS)."""
    return [f for f in manifest() if f.kind in MESSAGE_KINDS]


def load_json(relative: str) -> dict[str, Any]:
    """A JSON expectation file, e.g. `tnefparse/expected.json`."""
    return json.loads((CORPUS / relative).read_text(encoding="utf-8"))


# --- Zammad -----------------------------------------------------------------


def _ruby_loader() -> type:
    """A SafeLoader that reads Psych's Ruby tags as plain maps (zammad/SOURCE.md)."""
    import yaml

    class RubyLoader(yaml.SafeLoader):
        pass

    def plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    def binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
        return base64.b64decode(loader.construct_scalar(node))

    RubyLoader.add_constructor("!binary", binary)
    RubyLoader.add_multi_constructor("!", plain)
    return RubyLoader


@dataclass(frozen=True)
class ZammadCase:
    """One `mailNNN.box` with its Zammad `.yml` expectation."""

    box: Path
    expected: dict[str, Any]

    @property
    def name(self) -> str:
        return self.box.stem

    def real_attachments(self) -> list[dict[str, Any]]:
        """Expected attachments without Zammad's own `message.html` copies."""
        found = []
        for att in self.expected.get("attachments") or []:
            prefs = att.get("preferences") or {}
            if prefs.get("content-alternative") in (True, "true"):
                continue
            found.append(att)
        return found


def zammad_cases() -> list[ZammadCase]:
    """Every `zammad/**/mail*.box` that has a `.yml` beside it, sorted by path."""
    loader = _ruby_loader()
    import yaml

    cases = []
    for box in sorted((CORPUS / "zammad").rglob("mail*.box")):
        yml = box.with_suffix(".yml")
        if yml.is_file():
            data = yaml.load(yml.read_bytes(), Loader=loader)  # noqa: S506 - SafeLoader subclass
            cases.append(ZammadCase(box, data))
    return cases


def attachment_data(att: dict[str, Any]) -> bytes:
    """An expected attachment's bytes (`!binary` is base64, plain strings are UTF-8)."""
    data = att.get("data")
    if isinstance(data, bytes):
        return data
    return str(data or "").encode("utf-8")
