"""Model configuration: one dataclass, stored as a Hugging Face `config.json`.

The file is `LlamaConfig`-compatible (or `MistralConfig` when a sliding window is set, since
Llama has no such field), so `transformers.AutoModelForCausalLM.from_pretrained(dir)` loads
a released model without pycodesmall installed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycodesmall.errors import ConfigError

__all__ = ["ModelConfig", "PRESETS"]

# A config.json is well under 1 KiB; anything this large is not one (and is not read whole).
MAX_CONFIG_BYTES = 1 << 20


@dataclass
class ModelConfig:
    vocab_size: int = 8192
    hidden_size: int = 256
    num_hidden_layers: int = 6
    num_attention_heads: int = 8
    num_key_value_heads: int | None = None  # None: as many as attention heads (no GQA)
    intermediate_size: int | None = None  # None: SwiGLU's 8/3 * hidden, rounded up to 64
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    tie_word_embeddings: bool = True
    sliding_window: int | None = None  # None: full causal attention
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None

    def __post_init__(self) -> None:
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.intermediate_size is None and _is_int(self.hidden_size):
            self.intermediate_size = _round_up(int(8 * self.hidden_size / 3), 64)
        problems = []
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "num_key_value_heads", "intermediate_size", "max_position_embeddings"):
            if not _is_int(getattr(self, name)) or getattr(self, name) <= 0:
                problems.append(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("rope_theta", "rms_norm_eps"):
            value = getattr(self, name)
            if not (_is_real(value) and math.isfinite(value) and value > 0):
                problems.append(f"{name} must be a positive finite number, got {value!r}")
        if not isinstance(self.tie_word_embeddings, bool):
            problems.append(f"tie_word_embeddings must be true or false, got {self.tie_word_embeddings!r}")
        if self.sliding_window is not None and not (_is_int(self.sliding_window) and self.sliding_window > 0):
            problems.append(f"sliding_window must be a positive integer or null, got {self.sliding_window!r}")
        for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
            value = getattr(self, name)
            if value is not None and not (_is_int(value) and value >= 0):
                problems.append(f"{name} must be a token id (an integer >= 0) or null, got {value!r}")
        if not problems:
            if self.hidden_size % self.num_attention_heads:
                problems.append(
                    f"hidden_size {self.hidden_size} is not divisible by "
                    f"num_attention_heads {self.num_attention_heads}")
            elif self.head_dim % 2:
                problems.append(f"head_dim {self.head_dim} must be even for rotary embeddings")
            if self.num_attention_heads % self.num_key_value_heads:
                problems.append(
                    f"num_attention_heads {self.num_attention_heads} is not a multiple of "
                    f"num_key_value_heads {self.num_key_value_heads}")
        if problems:
            raise ConfigError("invalid model config: " + "; ".join(problems))

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def num_parameters(self, include_embeddings: bool = True) -> int:
        """Parameter count computed from the shapes, without building the model."""
        h, kv = self.hidden_size, self.num_key_value_heads * self.head_dim
        per_layer = h * h * 2 + h * kv * 2 + 3 * h * self.intermediate_size + 2 * h
        embeddings = self.vocab_size * h * (1 if self.tie_word_embeddings else 2)
        return self.num_hidden_layers * per_layer + h + (embeddings if include_embeddings else 0)

    # --- Hugging Face config.json -------------------------------------------------------

    def to_hf_dict(self) -> dict[str, Any]:
        llama = self.sliding_window is None
        d = {
            "architectures": ["LlamaForCausalLM" if llama else "MistralForCausalLM"],
            "model_type": "llama" if llama else "mistral",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "tie_word_embeddings": self.tie_word_embeddings,
            "attention_bias": False,
            "mlp_bias": False,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "pad_token_id": self.pad_token_id,
            "torch_dtype": "float32",
        }
        if not llama:
            d["sliding_window"] = self.sliding_window
        return d

    @classmethod
    def from_hf_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """A config from a `config.json` object; every value is checked (types and ranges),
        so that a bad file fails here, not at the first forward pass or in an exporter."""
        model_type = d.get("model_type", "llama")
        if model_type not in ("llama", "mistral"):
            raise ConfigError(f"unsupported model_type {model_type!r}: expected 'llama' or 'mistral'")
        if d.get("hidden_act", "silu") != "silu":
            raise ConfigError(f"unsupported hidden_act {d['hidden_act']!r}: only 'silu' (SwiGLU)")
        if d.get("attention_bias") or d.get("mlp_bias"):
            raise ConfigError("bias terms are not supported")
        rope_scaling = d.get("rope_scaling")
        if rope_scaling is not None and not (
                isinstance(rope_scaling, dict)
                and rope_scaling.get("rope_type", rope_scaling.get("type", "default")) == "default"):
            raise ConfigError(f"rope_scaling {rope_scaling!r} is not supported: only null "
                              "(plain rotary embeddings)")
        rope_parameters = d.get("rope_parameters") or {}
        if not isinstance(rope_parameters, dict):
            raise ConfigError(f"rope_parameters must be an object, got {rope_parameters!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in fields}
        if "rope_theta" not in kwargs and "rope_theta" in rope_parameters:
            kwargs["rope_theta"] = rope_parameters["rope_theta"]
        config = cls(**kwargs)
        head_dim = d.get("head_dim")
        if head_dim is not None and (not _is_int(head_dim) or head_dim != config.head_dim):
            raise ConfigError(f"head_dim {head_dim!r} must equal hidden_size / num_attention_heads "
                              f"({config.head_dim})")
        return config

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / "config.json"
        path.write_text(json.dumps(self.to_hf_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> "ModelConfig":
        path = Path(path)
        if path.is_dir():
            path = path / "config.json"
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_CONFIG_BYTES + 1)
        except FileNotFoundError:
            raise ConfigError(f"no config.json at {path}") from None
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path} is too large for a model config (over {MAX_CONFIG_BYTES >> 10} KiB)")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path} is not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start})") from None
        except RecursionError:
            raise ConfigError(f"{path} is not a model config: its JSON is nested too deeply") from None
        except ValueError as e:  # JSONDecodeError, and integers past Python's digit limit
            raise ConfigError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a JSON object")
        try:
            return cls.from_hf_dict(data)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        except TypeError as e:  # wrong value types reaching the dataclass
            raise ConfigError(f"{path}: {e}") from None

    @classmethod
    def from_name(cls, name: str, **overrides: Any) -> "ModelConfig":
        """A named size preset (see PRESETS), with checked overrides."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**{**PRESETS[name], **overrides})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _round_up(x: int, multiple: int) -> int:
    return (x + multiple - 1) // multiple * multiple


# Size presets for the study. Parameter counts (with an 8192-token vocabulary, tied) are
# in the comments; `ModelConfig.num_parameters` computes them exactly.
PRESETS: dict[str, dict[str, Any]] = {
    "nano": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4),      # ~1.8M
    "micro": dict(hidden_size=192, num_hidden_layers=6, num_attention_heads=6),     # ~4.3M
    "tiny": dict(hidden_size=256, num_hidden_layers=6, num_attention_heads=8),      # ~6.8M
    "small": dict(hidden_size=384, num_hidden_layers=8, num_attention_heads=6),     # ~17M
    "base": dict(hidden_size=512, num_hidden_layers=10, num_attention_heads=8, num_key_value_heads=4),  # ~33M
    "medium": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=4),  # ~80M
}
