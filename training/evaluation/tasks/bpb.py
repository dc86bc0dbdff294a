"""Bits per byte on held-out files: the one loss that compares models with different
tokenizers. It is the total negative log-likelihood of every file's tokens, in bits,
divided by the number of UTF-8 bytes of the original source."""

from __future__ import annotations

import math

from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.evaluation.results import TaskResult
from pycodesmall.training.evaluation.scoring import Scorer, token_logprobs

__all__ = ["evaluate", "file_bits"]


def file_bits(scorer: Scorer, text: str, window: int) -> tuple[float, int]:
    """(bits, tokens) of one file, its first token predicted from `scorer.start_id`."""
    ids = [scorer.start_id] + scorer.encode(text)
    logprobs = token_logprobs(scorer.score, ids, window)
    return -sum(logprobs) / math.log(2), len(ids) - 1


def evaluate(config, generate=None, scorer: Scorer | None = None) -> TaskResult:
    if not config.corpus:
        raise ValueError("the bpb task needs held-out corpus files (--corpus)")
    window = config.bpb_window or scorer.context
    samples = []
    for file in load_corpus_files(config.corpus, config.limit):
        size = len(file.text.encode("utf-8"))
        if size == 0:
            continue
        bits, tokens = file_bits(scorer, file.text, window)
        samples.append({"path": file.path, "package": file.package, "bytes": size,
                        "tokens": tokens, "bits": bits, "bits_per_byte": bits / size})
    total_bytes = sum(sample["bytes"] for sample in samples)
    total_bits = sum(sample["bits"] for sample in samples)
    total_tokens = sum(sample["tokens"] for sample in samples)
    summary = {"files": len(samples), "bytes": total_bytes, "tokens": total_tokens,
               "window": window,
               "bits_per_byte": total_bits / total_bytes if total_bytes else None,
               "bytes_per_token": total_bytes / total_tokens if total_tokens else None}
    return TaskResult("bpb", summary, samples)
