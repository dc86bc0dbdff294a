"""Per-token log-probabilities of whole files, for bits per byte.

Files are longer than the context, so they are scored in overlapping windows: each window
keeps half a context of already-scored tokens in front of the new ones, so every token
after the first window is predicted from at least half a context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Scorer", "model_scorer", "token_logprobs"]


@dataclass(frozen=True)
class Scorer:
    """What bits per byte needs from a model. `score(ids)` returns the natural-log
    probabilities of ids[1:], each given the ids before it; `start_id` is prepended to
    every file so that its first token is scored too."""

    encode: Callable[[str], list[int]]
    score: Callable[[list[int]], list[float]]
    start_id: int
    context: int


def model_scorer(model) -> Scorer:
    return Scorer(encode=model.tokenizer.encode, score=model.score,
                  start_id=model.tokenizer.eot_id,
                  context=model.config.max_position_embeddings)


def token_logprobs(score: Callable[[list[int]], list[float]], ids: list[int],
                   window: int) -> list[float]:
    """log p(ids[i] | ids[:i]) for every i >= 1, in windows of at most `window` tokens."""
    if window < 2:
        raise ValueError(f"window must be at least 2 tokens, got {window}")
    keep = window // 2  # tokens of context carried into the next window
    logprobs: list[float] = []
    start = 0
    while len(logprobs) < len(ids) - 1:
        end = min(start + window, len(ids))
        scored = score(ids[start:end])  # predictions for ids[start + 1:end]
        first_new = len(logprobs) + 1
        logprobs.extend(scored[first_new - start - 1:])
        start = end - keep
    return logprobs
