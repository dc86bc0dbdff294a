"""The contract between the engine and a model runtime."""

from __future__ import annotations

from typing import Any, Protocol

import torch

from pycodesmall.config import ModelConfig

__all__ = ["Backend", "left_pad"]


class Backend(Protocol):
    """Runs the model; knows nothing of tokens' meaning, sampling or stopping.

    Logits come back as a float32 tensor of shape (B, vocab); the cache is opaque to the
    engine. `prefill` takes prompts left-padded to one length (`pad_lengths[b]` pad ids
    in front of row b) and returns logits for the last position of each row, each row
    repeated `num_samples` times (rows b*num_samples ... b*num_samples + num_samples - 1),
    with the cache sized for `max_new_tokens` more steps.

    For prefix reuse (`pycodesmall.runtime.prefix_reuse`), the cache that `prefill` returns
    has a `prompt_state`: the prompt's keys and values, which later calls leave untouched.
    `prefill(..., prefix=(state, n))` with a single prompt whose first n tokens produced
    the first n slots of `state` runs the model on the remaining tokens only.
    """

    name: str
    config: ModelConfig

    def prefill(self, tokens: torch.Tensor, pad_lengths: torch.Tensor, num_samples: int,
                max_new_tokens: int, prefix: tuple[Any, int] | None = None) -> tuple[torch.Tensor, Any]:
        ...

    def step(self, tokens: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
        """tokens: (B,) the token sampled last for each row; returns next logits (B, vocab)."""
        ...


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) int64 ids padded on the left with `pad_id`, and the pad length of each row."""
    length = max(len(p) for p in prompts)
    tokens = torch.full((len(prompts), length), pad_id, dtype=torch.long)
    pads = torch.tensor([length - len(p) for p in prompts], dtype=torch.long)
    for row, prompt in enumerate(prompts):
        tokens[row, length - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
    return tokens, pads
