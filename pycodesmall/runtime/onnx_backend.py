"""The ONNX Runtime backend: the exported decoder (see `pycodesmall.onnx_export`) run by ORT.

The KV cache stays in ORT's own tensors (`OrtValue`s): each call's present keys/values
are fed back as the next call's past without a round trip through numpy, which on CUDA
also keeps them on the device. CPU with `onnxruntime`, CUDA with `onnxruntime-gpu`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pycodesmall.config import ModelConfig
from pycodesmall.errors import MissingExtraError
from pycodesmall.onnx_export import input_names, output_names, require_onnxruntime
from pycodesmall.runtime.kv_cache import attention_mask

__all__ = ["OnnxBackend", "OnnxCache"]


@dataclass
class OnnxCache:
    """Past keys/values of every layer (B, n_kv_heads, length, head_dim), as OrtValues.

    key_valid: (B, capacity) False at left padding; positions: (B,) rotary position of
    each row's next token; length: slots filled so far; prompt_state: the prompt's keys
    and values as prefill left them (later calls make new OrtValues), for prefix reuse.
    """

    past: list
    key_valid: torch.Tensor
    positions: np.ndarray
    length: int
    prompt_state: list | None = None

    @property
    def capacity(self) -> int:
        return self.key_valid.shape[1]

    def __post_init__(self) -> None:
        self.has_padding = not bool(self.key_valid.all())


class OnnxBackend:
    def __init__(self, path: str | Path, config: ModelConfig, device: str | torch.device = "cpu",
                 num_threads: int | None = None, spin: bool = True, name: str = "onnx"):
        """`spin=False` lets idle worker threads sleep at once: slower on an idle machine,
        much faster on a busy one, where a spinning thread steals its peers' time slices.
        `name`: "onnx-int8" for a quantized export, whose results depend on how many tokens
        one call runs (activations are quantized per call)."""
        ort = require_onnxruntime("The ONNX Runtime backend")
        self.name = name
        self._ort = ort
        self.config = config
        self.device = torch.device(device)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = num_threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        providers = ["CPUExecutionProvider"]
        self._ort_device = ("cpu", 0)
        if self.device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise MissingExtraError("onnxruntime-gpu", "gpu", "The ONNX Runtime backend on CUDA")
            providers = [("CUDAExecutionProvider", {"device_id": self.device.index or 0}), *providers]
            self._ort_device = ("cuda", self.device.index or 0)
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self._inputs, self._outputs = input_names(config), output_names(config)
        past_type = self.session.get_inputs()[4].type  # 'tensor(float)' or 'tensor(float16)'
        self._cache_dtype = np.float16 if "float16" in past_type else np.float32

    def _value(self, array: np.ndarray):
        return self._ort.OrtValue.ortvalue_from_numpy(array, *self._ort_device)

    def _run(self, tokens: np.ndarray, positions: np.ndarray, mask: np.ndarray,
             logits_index: np.ndarray, past: list) -> tuple[np.ndarray, list]:
        feeds = {name: self._value(np.ascontiguousarray(a)) for name, a in zip(
            self._inputs, (tokens, positions, mask, logits_index))}
        feeds.update(zip(self._inputs[4:], past))
        logits, *present = self.session.run_with_ort_values(self._outputs, feeds)
        return logits.numpy(), present

    def _mask(self, cache: OnnxCache, start: int, length: int) -> np.ndarray:
        if length == 1 and not cache.has_padding and self.config.sliding_window is None:
            return np.ones((len(cache.positions), 1, 1, start + 1), dtype=bool)
        return attention_mask(cache.key_valid, start, length, self.config.sliding_window).numpy()

    def prefill(self, tokens: torch.Tensor, pad_lengths: torch.Tensor, num_samples: int,
                max_new_tokens: int, prefix: tuple[list, int] | None = None
                ) -> tuple[torch.Tensor, OnnxCache]:
        """`prefix`: (the `prompt_state` of an earlier cache, n) whose first n slots hold the
        keys and values of this single prompt's first n tokens; only the rest is run."""
        c = self.config
        B, T = tokens.shape
        slots = torch.arange(T)
        key_valid = torch.ones(B, T + max_new_tokens, dtype=torch.bool)
        key_valid[:, :T] = slots.unsqueeze(0) >= pad_lengths.unsqueeze(1)
        positions = (slots.unsqueeze(0) - pad_lengths.unsqueeze(1)).clamp(min=0)
        if prefix is None:
            start = 0
            empty = np.zeros((B, c.num_key_value_heads, 0, c.head_dim), dtype=self._cache_dtype)
            past = [self._value(empty) for _ in self._inputs[4:]]
        else:
            earlier, start = prefix
            past = [self._value(np.ascontiguousarray(p.numpy()[:1, :, :start])) for p in earlier]
        cache = OnnxCache(past, key_valid, (T - pad_lengths).numpy(), start)
        logits, present = self._run(tokens[:, start:].numpy(), positions[:, start:].numpy(),
                                    self._mask(cache, start, T - start), np.array([T - start - 1]), past)
        cache.past, cache.length, cache.prompt_state = present, T, present
        if num_samples > 1:
            cache = OnnxCache([self._value(np.repeat(p.numpy(), num_samples, axis=0)) for p in present],
                              key_valid.repeat_interleave(num_samples, 0),
                              np.repeat(cache.positions, num_samples), T, prompt_state=present)
            logits = np.repeat(logits, num_samples, axis=0)
        return torch.from_numpy(logits[:, 0]), cache

    def step(self, tokens: torch.Tensor, cache: OnnxCache) -> tuple[torch.Tensor, OnnxCache]:
        logits, cache = self.verify(tokens.view(-1, 1), cache)
        return logits[:, 0], cache

    def verify(self, tokens: torch.Tensor, cache: OnnxCache) -> tuple[torch.Tensor, OnnxCache]:
        """tokens: (B, K) appended to the cache in one pass; returns logits (B, K, vocab)."""
        K = tokens.shape[1]
        if cache.length + K > cache.capacity:
            raise RuntimeError(f"KV cache full ({cache.capacity} slots)")
        positions = cache.positions[:, None] + np.arange(K)
        logits, cache.past = self._run(tokens.numpy(), positions, self._mask(cache, cache.length, K),
                                       np.arange(K), cache.past)
        cache.length += K
        cache.positions = cache.positions + K
        return torch.from_numpy(logits), cache

    def truncate(self, cache: OnnxCache, length: int) -> OnnxCache:
        """Forget every slot from `length` on (drafted tokens that were rejected)."""
        if length < cache.length:
            cache.past = [self._value(np.ascontiguousarray(p.numpy()[:, :, :length])) for p in cache.past]
            cache.positions = cache.positions - (cache.length - length)
            cache.length = length
        return cache
