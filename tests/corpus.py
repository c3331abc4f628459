"""Access to the shared real-world mail corpus (`../shared/corpus`) for tests.

Owns: listing corpus files by kind from `MANIFEST.tsv`, loading Zammad's `.yml`
expectations and the derived `expected.json` files. Must not parse mail itself
or decide what a test expects; tests skip when the corpus is absent.
"""

from __future__ import annotations

import base64
import csv
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

# tests/corpus.py → repository root → its parent, where `shared/corpus` lives.
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

#: Kinds that are RFC 5322 messages (see the corpus README, "msgs").
MESSAGE_KINDS = frozenset(
    {"message", "bounce", "autoreply", "arf-report", "mdn", "challenge-response", "degenerate"}
)


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


def require_corpus() -> Path:
    """The corpus folder; CI (which lays ../shared beside the clone) fails without it, others skip."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"mail corpus not found at {CORPUS}")
        pytest.skip(f"mail corpus not found at {CORPUS}")
    return CORPUS


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
