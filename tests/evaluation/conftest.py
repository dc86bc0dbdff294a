"""Shared fixtures: the benchmark files and a tiny held-out corpus of stdlib modules."""

from __future__ import annotations

import bisect
import gzip
import heapq
import json
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir(benchmark_data_dir) -> str:
    return str(benchmark_data_dir)


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
