"""Reuse the keys and values of the previous prompt's unchanged beginning.

The library's engine prefills every prompt from scratch. While someone types, consecutive
prompts agree on all but a few tokens near the cursor, so this backend keeps the KV cache of
the last single-sequence prompt and runs the model only on the tokens after the common
beginning. It wraps the torch backend from outside; the library's backends could do the
same (see the LSP notes in the report), and then this module goes away.
"""

from __future__ import annotations

import torch

from pycodesmall import CodeModel
from pycodesmall.runtime.kv_cache import KVCache, attention_mask
from pycodesmall.runtime.torch_backend import TorchBackend

__all__ = ["PrefixReusingBackend", "reuse_prefixes"]


class PrefixReusingBackend:
    """A `TorchBackend` whose `prefill` computes only what differs from the previous prompt."""

    def __init__(self, backend: TorchBackend):
        self.inner = backend
        self.name = backend.name
        self._tokens: list[int] = []
        self._keys_values: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.reused = 0  # prompt tokens the last prefill took from the previous one

    @torch.inference_mode()
    def prefill(self, tokens: torch.Tensor, pad_lengths: torch.Tensor, num_samples: int,
                max_new_tokens: int) -> tuple[torch.Tensor, KVCache]:
        if tokens.shape[0] != 1:  # batches (never sent by the server) go the usual way
            self._tokens, self.reused = [], 0
            return self.inner.prefill(tokens, pad_lengths, num_samples, max_new_tokens)
        inner, c = self.inner, self.inner.config
        ids = tokens[0].tolist()
        length = len(ids)
        common = _common_length(self._tokens, ids, length - 1)  # at least one token to run
        cache = KVCache.allocate(1, c.num_hidden_layers, c.num_key_value_heads, length + max_new_tokens,
                                 c.head_dim, inner.dtype, inner.device)
        for layer, (k, v) in zip(cache.layers, self._keys_values):
            layer.k[:, :, :common] = k[:, :, :common]
            layer.v[:, :, :common] = v[:, :, :common]
        positions = torch.arange(common, length, device=inner.device).unsqueeze(0)  # (1, T_new)
        mask = attention_mask(cache.key_valid, common, length - common, c.sliding_window)
        logits = inner.model(tokens[:, common:].to(inner.device), positions, mask, cache.layers, common,
                             last_only=True)
        cache.length = length
        cache.positions = torch.full((1,), length, dtype=torch.long, device=inner.device)
        cache.has_padding = False
        self._tokens, self.reused = ids, common
        self._keys_values = [(layer.k[:, :, :length].clone(), layer.v[:, :, :length].clone())
                             for layer in cache.layers]
        return logits.float().repeat_interleave(num_samples, 0), cache.repeat_interleave(num_samples)

    def step(self, tokens: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        return self.inner.step(tokens, cache)


def reuse_prefixes(model: CodeModel) -> CodeModel:
    """Make `model`'s engine reuse prompt prefixes (torch backend only); returns `model`."""
    if isinstance(model.engine.backend, TorchBackend):
        model.engine.backend = PrefixReusingBackend(model.engine.backend)
    return model


def _common_length(a: list[int], b: list[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
