"""Prefill that reuses the keys and values of the previous prompt's unchanged beginning.

While someone types, consecutive prompts agree on all but a few tokens near the cursor.
`PrefixReuse` wraps a backend: each single-sequence prefill passes the backend the
previous prompt's cached keys and values (the cache's `prompt_state`) and the length of
the beginning the two prompts share, and the backend runs the model on the rest only.
The logits and the cache are those of a full prefill.
"""

from __future__ import annotations

from typing import Any

import torch

from pycodesmall.runtime.backend import Backend

__all__ = ["PrefixReuse", "shared_prefix_length"]


class PrefixReuse:
    """A backend whose single-sequence `prefill` computes only what differs from the last one."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._ids: list[int] = []
        self._state: Any = None
        self.reused = 0  # prompt tokens the last prefill took from the previous one

    def prefill(self, tokens: torch.Tensor, pad_lengths: torch.Tensor, num_samples: int,
                max_new_tokens: int) -> tuple[torch.Tensor, Any]:
        if tokens.shape[0] != 1:  # batches of prompts go the usual way
            self._ids, self._state, self.reused = [], None, 0
            return self.backend.prefill(tokens, pad_lengths, num_samples, max_new_tokens)
        ids = tokens[0].tolist()
        common = 0
        if self._state is not None:  # at least the last token is run: its logits are needed
            common = shared_prefix_length(self._ids, ids, len(ids) - 1)
        prefix = (self._state, common) if common else None
        logits, cache = self.backend.prefill(tokens, pad_lengths, num_samples, max_new_tokens, prefix)
        self._ids, self._state, self.reused = ids, cache.prompt_state, common
        return logits, cache

    def __getattr__(self, attribute: str) -> Any:  # name, config, step, verify, truncate
        return getattr(self.backend, attribute)


def shared_prefix_length(a: list[int], b: list[int], limit: int) -> int:
    """How many leading ids `a` and `b` share, at most `limit`."""
    n = min(len(a), len(b), limit)
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
