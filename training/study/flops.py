"""Parameter and training-FLOP counts of a `ModelConfig`, as the scaling study reports them.

Parameters (one definition, `ModelConfig.num_parameters`):
- embedding: the token embedding matrix, plus the output layer when it is not tied to it
  (vocab * hidden, or 2 * vocab * hidden untied). A tied output layer *is* the embedding
  matrix, so it is counted once, here.
- non-embedding: everything else: the layers' linear maps and the RMSNorm weights
  (Kaplan et al. 2020's N).
- total = embedding + non-embedding = `sum(p.numel() for p in model.parameters())`.

Training FLOPs per token (forward + backward = 3 x forward; a multiply-add is 2 FLOPs),
counted as Porian et al. 2024 (arXiv 2406.19146) do, after Kaplan et al. 2020's table 1:
- matmul: 6 * the weights of the layers' linear maps (q, k, v, o, gate, up, down). Norms,
  rotary embeddings and the softmax are elementwise and left out; the embedding lookup
  is a gather, not a product.
- attention: 6 * n_layers * seq_len * d_attn for causal attention, d_attn = heads * head_dim
  (query heads: grouped KV heads share keys but every query head still takes its own
  products). Per token and layer the forward pass takes QK^T and AV over the keys it sees,
  4 * d_attn FLOPs per key; causal attention sees seq_len / 2 keys on average (the
  triangle's area over seq_len, Kaplan's convention). A sliding window of w < seq_len
  keys sees the band's area over seq_len, w - w^2 / (2 seq_len), which is seq_len / 2 at
  w = seq_len.
- output layer: 6 * hidden * vocab, whether tied or not (the product is computed either way;
  Porian et al. show that leaving it out, as 6N with non-embedding N does, is what bends
  Kaplan's compute-optimal exponent at small scale).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError

__all__ = ["ParameterCount", "FlopsPerToken", "count_parameters", "training_flops_per_token"]


@dataclass(frozen=True)
class ParameterCount:
    total: int
    non_embedding: int
    embedding: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class FlopsPerToken:
    """Training FLOPs per token, by part; `total` times the tokens is the run's compute."""

    matmul: int
    attention: float
    output_layer: int

    @property
    def total(self) -> float:
        return self.matmul + self.attention + self.output_layer

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "total": self.total}


def count_parameters(config: ModelConfig) -> ParameterCount:
    total = config.num_parameters()
    non_embedding = config.num_parameters(include_embeddings=False)
    return ParameterCount(total=total, non_embedding=non_embedding, embedding=total - non_embedding)


def training_flops_per_token(config: ModelConfig, seq_len: int) -> FlopsPerToken:
    """FLOPs per token of one training step on windows of `seq_len` tokens (module docstring)."""
    if not isinstance(seq_len, int) or seq_len <= 0:
        raise ConfigError(f"seq_len must be a positive integer, got {seq_len!r}")
    h, layers = config.hidden_size, config.num_hidden_layers
    d_attn = config.num_attention_heads * config.head_dim
    d_kv = config.num_key_value_heads * config.head_dim
    linear_weights = layers * (2 * h * d_attn + 2 * h * d_kv + 3 * h * config.intermediate_size)
    window = seq_len if config.sliding_window is None else min(config.sliding_window, seq_len)
    keys_per_query = window - window * window / (2 * seq_len)
    return FlopsPerToken(
        matmul=6 * linear_weights,
        attention=3 * layers * 4 * d_attn * keys_per_query,
        output_layer=6 * h * config.vocab_size,
    )
