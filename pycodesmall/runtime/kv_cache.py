"""A preallocated key/value cache: one K and one V tensor per layer, written in place."""

from __future__ import annotations

import torch

__all__ = ["KVCache", "LayerCache", "attention_mask"]


class LayerCache:
    """K and V of one layer, (B, n_kv_heads, max_len, head_dim), filled from index 0."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor):
        self.k, self.v = k, v

    def update(self, k: torch.Tensor, v: torch.Tensor, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        end = index + k.shape[2]
        self.k[:, :, index:end] = k
        self.v[:, :, index:end] = v
        return self.k[:, :, :end], self.v[:, :, :end]


class KVCache:
    """All layers' caches plus what the attention mask needs: valid keys and the fill level."""

    def __init__(self, layers: list[LayerCache], key_valid: torch.Tensor, positions: torch.Tensor,
                 length: int):
        self.layers = layers
        self.key_valid = key_valid  # (B, max_len) False at left padding
        self.positions = positions  # (B,) rotary position of the next token of each row
        self.length = length  # slots filled so far
        self.has_padding = bool((~key_valid).any())
        self.prompt_state: list[LayerCache] | None = None  # set by prefill, for prefix reuse

    @classmethod
    def allocate(cls, batch: int, n_layers: int, n_kv_heads: int, max_len: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device) -> "KVCache":
        shape = (batch, n_kv_heads, max_len, head_dim)
        layers = [LayerCache(torch.zeros(shape, dtype=dtype, device=device),
                             torch.zeros(shape, dtype=dtype, device=device)) for _ in range(n_layers)]
        key_valid = torch.ones(batch, max_len, dtype=torch.bool, device=device)
        return cls(layers, key_valid, torch.zeros(batch, dtype=torch.long, device=device), 0)

    @property
    def capacity(self) -> int:
        return self.key_valid.shape[1]

    def repeat_interleave(self, repeats: int) -> "KVCache":
        if repeats == 1:
            return self
        layers = [LayerCache(c.k.repeat_interleave(repeats, 0), c.v.repeat_interleave(repeats, 0))
                  for c in self.layers]
        return KVCache(layers, self.key_valid.repeat_interleave(repeats, 0),
                       self.positions.repeat_interleave(repeats, 0), self.length)


def attention_mask(key_valid: torch.Tensor, start: int, length: int,
                   sliding_window: int | None) -> torch.Tensor:
    """(B, 1, length, start+length) boolean mask for queries at cache slots start..start+length-1.

    Causal, restricted to valid keys and to the sliding window. A padding query may always
    see itself, so that no row of the mask is empty (an empty row makes softmax NaN).
    """
    end = start + length
    q = torch.arange(start, end, device=key_valid.device).view(-1, 1)
    k = torch.arange(end, device=key_valid.device).view(1, -1)
    allowed = k <= q
    if sliding_window is not None:
        allowed &= q - k < sliding_window
    mask = allowed.unsqueeze(0) & key_valid[:, None, :end]  # (B, length, end)
    mask |= (q == k).unsqueeze(0)
    return mask.unsqueeze(1)
