"""The ONNX Runtime backend: the exported decoder (see `pycodesmall.onnx_graph`) run by ORT.

The KV cache is one preallocated buffer per layer and kind, sized for the prompt and
every new token, bound as both the graph's past input and its present output: ORT's
attention operator writes each call's new keys/values into it in place, so nothing is
copied as the context grows, and rolling back rejected draft tokens is only a change of
the fill level. On CPU the buffers are numpy arrays that the OrtValues share. CPU with
`onnxruntime`, CUDA with `onnxruntime-gpu`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pycodesmall.config import ModelConfig
from pycodesmall.errors import MissingExtraError
from pycodesmall.onnx_export import require_onnxruntime
from pycodesmall.onnx_graph import cache_names
from pycodesmall.runtime.kv_cache import attention_mask

__all__ = ["OnnxBackend", "OnnxCache"]


@dataclass
class OnnxCache:
    """Keys/values of every layer (B, n_kv_heads, capacity, head_dim) and their bindings.

    arrays: the buffers as numpy arrays (on CPU; on CUDA None), in `cache_names` order;
    values: the same buffers as OrtValues; key_valid: (B, capacity) False at left padding;
    positions: (B,) rotary position of each row's next token; length: slots filled so far;
    prompt_state: the arrays again, whose prompt slots no later call writes, for prefix reuse.
    """

    arrays: list[np.ndarray] | None
    values: list
    binding: object
    key_valid: torch.Tensor
    positions: np.ndarray
    length: int
    prompt_state: list[np.ndarray] | None = None

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
        bias_type = next(i.type for i in self.session.get_inputs() if i.name == "attention_bias")
        self._dtype = np.float16 if "float16" in bias_type else np.float32  # of the cache and the bias
        self._past, self._present = cache_names(config, "past"), cache_names(config, "present")

    # --- the cache -----------------------------------------------------------------------

    def _allocate(self, batch: int, capacity: int, key_valid: torch.Tensor, positions: np.ndarray,
                  copy_from: list[np.ndarray] | None = None, rows: slice | np.ndarray = slice(None),
                  filled: int = 0) -> OnnxCache:
        """A cache of `capacity` slots whose first `filled` slots are `copy_from[rows]`'s."""
        c = self.config
        shape = (batch, c.num_key_value_heads, capacity, c.head_dim)
        arrays = [np.zeros(shape, dtype=self._dtype) for _ in self._past]
        if copy_from is not None:
            for array, source in zip(arrays, copy_from):
                array[:, :, :filled] = source[rows, :, :filled]
        if self._ort_device[0] == "cpu":  # the OrtValues share the arrays' memory
            values = [self._ort.OrtValue.ortvalue_from_numpy(a) for a in arrays]
        else:
            values = [self._ort.OrtValue.ortvalue_from_numpy(a, *self._ort_device) for a in arrays]
            arrays = None
        binding = self.session.io_binding()
        for past, present, value in zip(self._past, self._present, values):
            binding.bind_ortvalue_input(past, value)
            binding.bind_ortvalue_output(present, value)
        return OnnxCache(arrays, values, binding, key_valid, positions, filled)

    def _host_arrays(self, cache: OnnxCache) -> list[np.ndarray]:
        return cache.arrays if cache.arrays is not None else [v.numpy() for v in cache.values]

    # --- running the graph ---------------------------------------------------------------

    def _bias(self, cache: OnnxCache, start: int, length: int) -> np.ndarray:
        """(B, 1, length, start+length) additive attention bias. Without padding or a sliding
        window it is all zeros: the attention operator applies the causal mask itself."""
        batch = len(cache.positions)
        if not cache.has_padding and self.config.sliding_window is None:
            return np.zeros((batch, 1, length, start + length), dtype=self._dtype)
        allowed = attention_mask(cache.key_valid, start, length, self.config.sliding_window).numpy()
        return np.where(allowed, 0, np.finfo(self._dtype).min).astype(self._dtype)

    def _run(self, cache: OnnxCache, tokens: np.ndarray, positions: np.ndarray,
             logits_index: np.ndarray) -> np.ndarray:
        """Append `tokens` (B, S) at slot `cache.length`; logits (B, len(logits_index), vocab)."""
        batch, new = tokens.shape
        start, end = cache.length, cache.length + new
        feeds = {"input_ids": tokens, "position_ids": positions, "attention_bias": self._bias(cache, start, new),
                 "seqlens_k": np.full(batch, end - 1, dtype=np.int32),
                 "total_sequence_length": np.array(end, dtype=np.int32), "logits_index": logits_index}
        binding = cache.binding
        for name, array in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(array))
        logits = np.empty((batch, len(logits_index), self.config.vocab_size), dtype=np.float32)
        if self._ort_device[0] == "cpu":
            binding.bind_output("logits", "cpu", 0, np.float32, logits.shape, logits.ctypes.data)
        else:
            binding.bind_output("logits", "cpu")
        self.session.run_with_iobinding(binding)
        if self._ort_device[0] != "cpu":
            logits = binding.get_outputs()[0].numpy()
        cache.length = end
        return logits

    # --- the Backend interface -----------------------------------------------------------

    def prefill(self, tokens: torch.Tensor, pad_lengths: torch.Tensor, num_samples: int,
                max_new_tokens: int, prefix: tuple[list[np.ndarray], int] | None = None
                ) -> tuple[torch.Tensor, OnnxCache]:
        """`prefix`: (the `prompt_state` of an earlier cache, n) whose first n slots hold the
        keys and values of this single prompt's first n tokens; only the rest is run."""
        B, T = tokens.shape
        capacity = T + max_new_tokens
        if capacity > self.config.max_position_embeddings:
            raise ValueError(f"{T} prompt tokens + {max_new_tokens} new ones exceed the "
                             f"{self.config.max_position_embeddings} positions of this model")
        slots = torch.arange(T)
        key_valid = torch.ones(B, capacity, dtype=torch.bool)
        key_valid[:, :T] = slots.unsqueeze(0) >= pad_lengths.unsqueeze(1)
        positions = (slots.unsqueeze(0) - pad_lengths.unsqueeze(1)).clamp(min=0).numpy()
        earlier, start = prefix if prefix is not None else (None, 0)
        cache = self._allocate(B, capacity, key_valid, (T - pad_lengths).numpy(), earlier,
                               slice(0, 1), start)
        logits = self._run(cache, tokens[:, start:].numpy(), positions[:, start:], np.array([T - start - 1]))
        cache.prompt_state = self._host_arrays(cache)
        if num_samples > 1:
            rows = np.repeat(np.arange(B), num_samples)
            repeated = self._allocate(B * num_samples, capacity, key_valid.repeat_interleave(num_samples, 0),
                                      np.repeat(cache.positions, num_samples), cache.prompt_state, rows, T)
            repeated.prompt_state, cache = cache.prompt_state, repeated
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
        logits = self._run(cache, tokens.numpy(), positions, np.arange(K))
        cache.positions = cache.positions + K
        return torch.from_numpy(logits), cache

    def truncate(self, cache: OnnxCache, length: int) -> OnnxCache:
        """Forget every slot from `length` on (drafted tokens that were rejected): the next
        call writes over them."""
        if length < cache.length:
            cache.positions = cache.positions - (cache.length - length)
            cache.length = length
        return cache
