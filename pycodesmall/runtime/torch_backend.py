"""The PyTorch backend: the model module itself, run with a preallocated KV cache.

The module gets fused, transposed copies of its projection weights
(`Transformer.fuse_for_inference`), which roughly doubles one-token decoding speed on CPU.
On CUDA each request's decoding step is captured once as a CUDA graph and replayed, which
removes the per-kernel launch cost that dominates a small model's step there.
"""

from __future__ import annotations

import torch

from pycodesmall.model import Transformer
from pycodesmall.runtime.kv_cache import KVCache, LayerCache, attention_mask

__all__ = ["TorchBackend"]


class _StaticLayerCache(LayerCache):
    """Writes at a tensor index and returns the whole buffers: the same shapes every step."""

    def update(self, k: torch.Tensor, v: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.k.index_copy_(2, index, k)
        self.v.index_copy_(2, index, v)
        return self.k, self.v


class _CudaGraphStep:
    """One cache's decoding step as a CUDA graph: inputs copied into static tensors, replay.

    Attention runs over the whole preallocated cache with a mask built inside the graph
    from the slot index, so shapes never change between steps. Captured per cache (per
    request), since the graph holds that cache's buffers.
    """

    def __init__(self, model: Transformer, cache: KVCache):
        device = cache.key_valid.device
        batch, window = cache.positions.shape[0], model.config.sliding_window
        self.tokens = torch.zeros(batch, 1, dtype=torch.long, device=device)
        self.positions = cache.positions.view(batch, 1).clone()
        self.index = torch.full((1,), cache.length, dtype=torch.long, device=device)
        layers = [_StaticLayerCache(layer.k, layer.v) for layer in cache.layers]
        slots = torch.arange(cache.capacity, device=device)
        key_valid = cache.key_valid

        def run() -> torch.Tensor:
            visible = key_valid & (slots <= self.index)
            if window is not None:
                visible &= self.index - slots < window
            return model(self.tokens, self.positions, visible[:, None, None, :], layers, self.index,
                         last_only=True)

        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up writes only the slot the first step fills anyway
            run()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.logits = run()

    def __call__(self, tokens: torch.Tensor, positions: torch.Tensor, index: int) -> torch.Tensor:
        self.tokens.copy_(tokens.view(-1, 1))
        self.positions.copy_(positions.view(-1, 1))
        self.index.fill_(index)
        self.graph.replay()
        return self.logits


class TorchBackend:
    name = "torch"

    def __init__(self, model: Transformer, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, cuda_graphs: bool = True):
        self.device = torch.device(device)
        self.dtype = dtype
        self.cuda_graphs = cuda_graphs and self.device.type == "cuda"
        self.model = model.to(device=self.device, dtype=dtype).eval().fuse_for_inference()
        self.config = model.config

    @torch.inference_mode()
    def prefill(self, tokens: torch.Tensor, pad_lengths: torch.Tensor, num_samples: int,
                max_new_tokens: int, prefix: tuple[list[LayerCache], int] | None = None
                ) -> tuple[torch.Tensor, KVCache]:
        """`prefix`: (the `prompt_state` of an earlier cache, n) whose first n slots hold the
        keys and values of this single prompt's first n tokens; only the rest is run."""
        c = self.config
        tokens, pad_lengths = tokens.to(self.device), pad_lengths.to(self.device)
        B, T = tokens.shape
        cache = KVCache.allocate(B, c.num_hidden_layers, c.num_key_value_heads, T + max_new_tokens,
                                 c.head_dim, self.dtype, self.device)
        start = 0
        if prefix is not None:
            layers, start = prefix
            for mine, earlier in zip(cache.layers, layers):
                mine.k[:, :, :start] = earlier.k[:1, :, :start]
                mine.v[:, :, :start] = earlier.v[:1, :, :start]
        slots = torch.arange(T, device=self.device)
        cache.key_valid[:, :T] = slots.unsqueeze(0) >= pad_lengths.unsqueeze(1)
        positions = (slots.unsqueeze(0) - pad_lengths.unsqueeze(1)).clamp(min=0)  # (B, T)
        mask = attention_mask(cache.key_valid, start, T - start, c.sliding_window)
        logits = self.model(tokens[:, start:], positions[:, start:], mask, cache.layers, start, last_only=True)
        cache.length = T
        cache.positions = T - pad_lengths
        cache.has_padding = bool(pad_lengths.any())
        expanded = cache.repeat_interleave(num_samples)
        expanded.prompt_state = cache.layers  # slots [:T] are never written again
        return logits.float().repeat_interleave(num_samples, 0), expanded

    @torch.inference_mode()
    def step(self, tokens: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        index = cache.length
        if index >= cache.capacity:
            raise RuntimeError(f"KV cache full ({cache.capacity} slots)")
        if self.cuda_graphs:
            if getattr(cache, "graph_step", None) is None:
                cache.graph_step = _CudaGraphStep(self.model, cache)
            logits = cache.graph_step(tokens.to(self.device), cache.positions, index)
            cache.length += 1
            cache.positions = cache.positions + 1
            return logits.to(torch.float32, copy=True), cache  # the graph reuses its output
        mask = None  # one query attends to every filled slot: no mask needed ...
        if cache.has_padding or self.config.sliding_window is not None:  # ... unless some are hidden
            mask = attention_mask(cache.key_valid, index, 1, self.config.sliding_window)
        logits = self.model(tokens.to(self.device).view(-1, 1), cache.positions.view(-1, 1), mask,
                            cache.layers, index, last_only=True)
        cache.length += 1
        cache.positions = cache.positions + 1
        return logits.float(), cache

    @torch.inference_mode()
    def verify(self, tokens: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        """tokens: (B, K) appended to the cache in one pass; returns logits (B, K, vocab)."""
        index, K = cache.length, tokens.shape[1]
        if index + K > cache.capacity:
            raise RuntimeError(f"KV cache full ({cache.capacity} slots)")
        mask = attention_mask(cache.key_valid, index, K, self.config.sliding_window)
        positions = cache.positions.view(-1, 1) + torch.arange(K, device=self.device)
        logits = self.model(tokens.to(self.device), positions, mask, cache.layers, index)
        cache.length += K
        cache.positions = cache.positions + K
        return logits.float(), cache

    def truncate(self, cache: KVCache, length: int) -> KVCache:
        """Forget every slot from `length` on (drafted tokens that were rejected)."""
        cache.positions = cache.positions - (cache.length - length)
        cache.length = length
        return cache
