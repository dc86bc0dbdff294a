"""Bits per byte on held-out files: the one loss that compares models with different
tokenizers. It is the total negative log-likelihood of every file's tokens, in bits,
divided by the number of UTF-8 bytes of the original source."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.evaluation.results import TaskResult

__all__ = ["Scorer", "model_scorer", "file_bits", "evaluate"]


@dataclass(frozen=True)
class Scorer:
    """What bits per byte needs from a model. `score(ids)` returns the natural-log
    probabilities of ids[1:], each given the ids before it, for sequences of any length
    (`CodeModel.score` windows long ones); `start_id` goes in front of every file so that
    its first token is scored too."""

    encode: Callable[[str], list[int]]
    score: Callable[[list[int]], list[float]]
    start_id: int


def model_scorer(model) -> Scorer:
    return Scorer(encode=model.tokenizer.encode, score=model.score,
                  start_id=model.tokenizer.eot_id)


def file_bits(scorer: Scorer, text: str) -> tuple[float, int]:
    """(bits, tokens) of one file."""
    ids = [scorer.start_id] + scorer.encode(text)
    return -sum(scorer.score(ids)) / math.log(2), len(ids) - 1


def evaluate(config, generate=None, scorer: Scorer | None = None) -> TaskResult:
    if not config.corpus:
        raise ValueError("the bpb task needs held-out corpus files (--corpus)")
    samples = []
    for file in load_corpus_files(config.corpus, config.limit, config.corpus_files, config.seed):
        size = len(file.text.encode("utf-8"))
        if size == 0:
            continue
        bits, tokens = file_bits(scorer, file.text)
        samples.append({"path": file.path, "package": file.package, "bytes": size,
                        "tokens": tokens, "bits": bits, "bits_per_byte": bits / size})
    total_bytes = sum(sample["bytes"] for sample in samples)
    total_bits = sum(sample["bits"] for sample in samples)
    total_tokens = sum(sample["tokens"] for sample in samples)
    summary = {"files": len(samples), "bytes": total_bytes, "tokens": total_tokens,
               "bits_per_byte": total_bits / total_bytes if total_bytes else None,
               "bytes_per_token": total_bytes / total_tokens if total_tokens else None}
    return TaskResult("bpb", summary, samples)
