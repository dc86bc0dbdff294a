"""Choosing the next token from logits: greedy, or temperature with top-k / top-p."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from pycodesmall.errors import ConfigError

__all__ = ["SamplingParams", "sample", "penalize_repetition"]


@dataclass(frozen=True)
class SamplingParams:
    """temperature 0 is greedy decoding; `seed` makes sampling repeatable.

    repetition_penalty > 1 makes tokens that this sequence already generated less likely
    (the prompt is exempt: code must repeat its names), as in Keskar et al. (2019): small
    models otherwise fall into loops under greedy decoding.
    """

    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if not (_is_real(self.temperature) and math.isfinite(self.temperature) and self.temperature >= 0):
            raise ConfigError(f"temperature must be a finite number >= 0, got {self.temperature!r}")
        if self.top_k is not None and not (_is_int(self.top_k) and self.top_k >= 1):
            raise ConfigError(f"top_k must be an integer >= 1, got {self.top_k!r}")
        if self.top_p is not None and not (_is_real(self.top_p) and 0 < self.top_p <= 1):
            raise ConfigError(f"top_p must be a number in (0, 1], got {self.top_p!r}")
        if self.seed is not None and not (_is_int(self.seed) and 0 <= self.seed < 2**64):
            raise ConfigError(f"seed must be an integer in [0, 2**64), got {self.seed!r}")
        if not (_is_real(self.repetition_penalty) and math.isfinite(self.repetition_penalty)
                and self.repetition_penalty >= 1):
            raise ConfigError(f"repetition_penalty must be a finite number >= 1, got {self.repetition_penalty!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def penalize_repetition(logits: torch.Tensor, generated: list[list[int]], penalty: float) -> torch.Tensor:
    """(B, vocab) logits with each row's already generated tokens made less likely."""
    if penalty == 1 or not any(generated):
        return logits
    rows = torch.tensor([r for r, ids in enumerate(generated) for _ in set(ids)], dtype=torch.long)
    cols = torch.tensor([t for ids in generated for t in set(ids)], dtype=torch.long)
    rows, cols = rows.to(logits.device), cols.to(logits.device)
    seen = logits[rows, cols]
    logits = logits.clone()
    logits[rows, cols] = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits


def sample(logits: torch.Tensor, params: SamplingParams,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, vocab) float logits -> (B,) token ids."""
    if params.greedy:
        return logits.argmax(dim=-1)
    # Shifted so that the largest logit is 0 before scaling (the same distribution), and
    # divided by no less than the dtype's smallest normal number (1e-300 is 0 in fp32): a
    # tiny temperature then gives 0 and -inf, which is greedy, instead of nan.
    temperature = max(params.temperature, torch.finfo(logits.dtype).tiny)
    logits = (logits - logits.amax(dim=-1, keepdim=True)) / temperature
    if params.top_k is not None and params.top_k < logits.shape[-1]:
        kth = torch.topk(logits, params.top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p is not None and params.top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        # Drop a token once the tokens before it already cover top_p of the mass.
        drop = probs.cumsum(dim=-1) - probs > params.top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
