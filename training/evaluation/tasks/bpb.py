"""Bits per byte on held-out files, as `pycodesmall.bits_per_byte` defines it (whole files,
an end-of-document id in front, half-context overlapping windows), per file and in total."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pycodesmall.bits_per_byte import ScoreWindow, text_bits
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.evaluation.results import TaskResult

__all__ = ["Scorer", "model_scorer", "evaluate"]


@dataclass(frozen=True)
class Scorer:
    """What bits per byte needs from a model: its tokenizer's `encode`, a `score_window`
    over at most `context` ids, and the id that goes in front of every file."""

    encode: Callable[[str], list[int]]
    score_window: ScoreWindow
    start_id: int
    context: int

    def bits(self, text: str) -> tuple[float, int]:
        """(bits, tokens) of one file."""
        return text_bits(self.score_window, self.encode, self.start_id, text, self.context)


def model_scorer(model) -> Scorer:
    return Scorer(encode=model.tokenizer.encode, score_window=model.score_window,
                  start_id=model.tokenizer.eot_id, context=model.context_length)


def evaluate(config, generate=None, scorer: Scorer | None = None) -> TaskResult:
    if not config.corpus:
        raise ValueError("the bpb task needs held-out corpus files (--corpus)")
    samples = []
    for file in load_corpus_files(config.corpus, config.limit, config.corpus_files, config.seed):
        size = len(file.text.encode("utf-8"))
        if size == 0:
            continue
        bits, tokens = scorer.bits(file.text)
        samples.append({"path": file.path, "package": file.package, "bytes": size,
                        "tokens": tokens, "bits": bits, "bits_per_byte": bits / size})
    total_bytes = sum(sample["bytes"] for sample in samples)
    total_bits = sum(sample["bits"] for sample in samples)
    total_tokens = sum(sample["tokens"] for sample in samples)
    summary = {"files": len(samples), "bytes": total_bytes, "tokens": total_tokens,
               "bits_per_byte": total_bits / total_bytes if total_bytes else None,
               "bytes_per_token": total_bytes / total_tokens if total_tokens else None,
               "definition": "pycodesmall.bits_per_byte: whole files, end-of-document id in "
                             "front, windows of the context every half context"}
    return TaskResult("bpb", summary, samples)
