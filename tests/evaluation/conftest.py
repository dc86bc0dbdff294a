"""Shared fixtures: the benchmark files and a tiny held-out corpus of stdlib modules."""

from __future__ import annotations

import bisect
import gzip
import heapq
import json
import os
import textwrap
from pathlib import Path

import pytest

from pycodesmall.training.evaluation.benchmark_data import DATA_DIR_ENV

REPOSITORY = Path(__file__).resolve().parents[2]


def _find_data_dir() -> Path | None:
    """$PYCODESMALL_EVAL_DATA, else a `shared/data` folder next to the checkout or above
    it (the project keeps the benchmark files there, outside the repository)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    for folder in REPOSITORY.parents:
        candidate = folder / "shared" / "data"
        if (candidate / "HumanEval.jsonl.gz").exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_dir() -> str:
    found = _find_data_dir()
    if found is None:
        pytest.skip(f"benchmark files not found: set {DATA_DIR_ENV} to the folder with "
                    "HumanEval.jsonl.gz, mbpp.jsonl and sanitized-mbpp.json")
    return str(found)


@pytest.fixture(scope="session")
def stdlib_corpus(tmp_path_factory) -> str:
    """Three standard-library modules in the corpus test-split format."""
    path = tmp_path_factory.mktemp("corpus") / "test.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for module in (textwrap, heapq, bisect):
            record = {"text": Path(module.__file__).read_text(encoding="utf-8"),
                      "path": f"Lib/{module.__name__}.py", "package": "cpython",
                      "source": "stdlib"}
            out.write(json.dumps(record) + "\n")
    return str(path)
