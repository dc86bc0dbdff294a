"""Choosing the next token from logits: greedy, or temperature with top-k / top-p."""

from __future__ import annotations

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
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty < 1:
            raise ConfigError(f"repetition_penalty must be >= 1, got {self.repetition_penalty}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


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
    logits = logits / params.temperature
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
