"""Access to the recorded vendor traffic in ../shared/corpus, read in place (never copied)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(os.environ.get("DURABLE_LLM_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))


requires_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"recorded corpus not found at {CORPUS}")
"""For tests that pick particular recordings out of the corpus."""


@cache
def exchanges(api: str) -> list[dict[str, Any]]:
    """All recorded exchanges of one API folder, sorted by file name, each with its `file` name."""
    folder = CORPUS / api
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        data["file"] = path.name
        out.append(data)
    return out


def corpus_params(api: str, predicate=lambda ex: True) -> list[Any]:
    """pytest parameters, one per exchange; a single skipped one when the corpus is absent."""
    found = exchanges(api)
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"recorded corpus not found at {CORPUS / api}"))]
    return [pytest.param(ex, id=ex["file"]) for ex in found if predicate(ex)]


def chains(api: str) -> dict[str, list[dict[str, Any]]]:
    """Exchanges grouped by cassette, in turn order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for ex in exchanges(api):
        grouped.setdefault(ex["chain"]["cassette"], []).append(ex)
    for turns in grouped.values():
        turns.sort(key=lambda ex: ex["chain"]["turn"])
    return grouped
