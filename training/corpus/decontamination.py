"""Drop corpus files that share a long token run with HumanEval or MBPP.

Tokens are identifiers, numbers and single punctuation characters, so the match ignores
whitespace, indentation style and line endings. A file is contaminated when it contains
any `ngram`-token run of a benchmark prompt, solution or test. Two kinds of runs are
left out of the index because ordinary code shares them by chance: runs with fewer than
`min_distinct_words` distinct words of two or more letters (`[1, 2, 3, ...]`,
`['a', 'b', 'c', ...]`, `def __init__(self, a, b): self.a = a ...`), and runs found in
`common_task_limit` tasks or more (a shared test preamble).

Windows are compared by a 64-bit polynomial hash over per-token hashes, computed with
numpy; the index maps each hash to the tasks it came from and the run's text, for the
report.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycodesmall.errors import ConfigError
from pycodesmall.training.corpus.config import DecontaminationConfig

__all__ = ["Contamination", "ContaminationIndex", "load_benchmarks"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"^(?=.*[^\W\d_])\w{2,}$")  # two or more word characters, one a letter


@functools.lru_cache(maxsize=None)
def _is_word(token: str) -> bool:
    return bool(_WORD.match(token))
_BASE = np.uint64(1_000_003)


@dataclass(frozen=True)
class Contamination:
    tasks: tuple[str, ...]
    ngram: str


def load_benchmarks(config: DecontaminationConfig) -> dict[str, list[str]]:
    """Texts per task id ("HumanEval/0", "mbpp/11"): prompts, solutions and tests of every split.

    The full and sanitized MBPP files share task ids, so a task's texts from both are merged.
    """
    tasks: dict[str, list[str]] = defaultdict(list)
    for row in _read_rows(config.humaneval):
        tasks[row["task_id"]] += [row["prompt"] + row["canonical_solution"], row["test"]]
    for row in _read_rows(config.mbpp):
        tasks[f"mbpp/{row['task_id']}"] += [row["text"], row["code"], "\n".join(row["test_list"])]
    for row in _read_rows(config.mbpp_sanitized):
        tasks[f"mbpp/{row['task_id']}"] += [row["prompt"], row["code"], "\n".join(row["test_list"])]
    return dict(tasks)


def _read_rows(path: str) -> list[dict]:
    p = Path(path)
    try:
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8") as f:
            if p.name.endswith((".jsonl", ".jsonl.gz")):
                return [json.loads(line) for line in f if line.strip()]
            return json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"decontamination: no benchmark file at {path}; set its path in the "
                          "[decontamination] section of the corpus config") from None


def _window_hashes(tokens: list[str], n: int) -> np.ndarray:
    """Polynomial hash of every run of `n` consecutive tokens (uint64, wrapping)."""
    if len(tokens) < n:
        return np.empty(0, dtype=np.uint64)
    values = np.fromiter(map(hash, tokens), dtype=np.int64, count=len(tokens)).view(np.uint64)
    windows = len(tokens) - n + 1
    result = np.zeros(windows, dtype=np.uint64)
    for j in range(n):
        result = result * _BASE + values[j:j + windows]
    return result


class ContaminationIndex:
    def __init__(self, tasks: dict[str, list[str]], ngram: int, min_distinct_words: int,
                 common_task_limit: int):
        self.ngram = ngram
        owners: dict[int, set[str]] = defaultdict(set)
        examples: dict[int, tuple[str, list[str], int]] = {}
        for task, texts in tasks.items():
            for text in texts:
                tokens = _TOKEN.findall(text)
                for i, h in enumerate(_window_hashes(tokens, ngram).tolist()):
                    owners[h].add(task)
                    examples.setdefault(h, (task, tokens, i))
        self._index: dict[int, Contamination] = {}
        self.skipped = {"common": 0, "few_words": 0}
        for h, found_in in owners.items():
            _, tokens, i = examples[h]
            window = tokens[i:i + ngram]
            if len(found_in) >= common_task_limit:
                self.skipped["common"] += 1
            elif len({t for t in window if _is_word(t)}) < min_distinct_words:
                self.skipped["few_words"] += 1
            else:
                self._index[h] = Contamination(tuple(sorted(found_in)), " ".join(window))

    @classmethod
    def from_config(cls, config: DecontaminationConfig) -> "ContaminationIndex":
        return cls(load_benchmarks(config), config.ngram, config.min_distinct_words,
                   config.common_task_limit)

    def __len__(self) -> int:
        return len(self._index)

    def match(self, text: str) -> Contamination | None:
        """The first benchmark run found in `text`, or None for a clean file."""
        for h in _window_hashes(_TOKEN.findall(text), self.ngram).tolist():
            found = self._index.get(h)
            if found is not None:
                return found
        return None
