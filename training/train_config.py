"""The training config: typed dataclasses read from a TOML file, with checked overrides.

One file describes one run. Every key has a typed default; a key the dataclasses do not
know is an error (a typo must not silently train with a default). Overrides on the command
line use the same dotted names, `train.max_steps=100`, and their values are TOML literals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError
from pycodesmall.training.toml_file import from_table, read_toml, tomllib

__all__ = ["TrainConfig", "load_config", "apply_overrides", "incompatible_keys", "SCHEDULE_KEYS"]


@dataclass
class ModelSection:
    """A size preset of `pycodesmall.config.PRESETS` and/or explicit `ModelConfig` fields.

    `vocab_size` defaults to the tokenizer's; `max_position_embeddings` to `block_size`.
    """

    preset: str = ""
    block_size: int = 512  # training context length in tokens
    sizes: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields, flat in the TOML


@dataclass
class DataSection:
    shards: str = ""  # directory written by `pycodesmall-train data pack`
    tokenizer: str = ""  # directory (or file) holding the tokenizer.json the shards were made with


@dataclass
class ObjectiveSection:
    fim_rate: float = 0.0  # fraction of documents turned into fill-in-the-middle examples
    fim_spm_rate: float = 0.5  # of those, the fraction in SPM rather than PSM order


@dataclass
class OptimizerSection:
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 0.1  # on 2-D parameters (matrices, embeddings) only
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping


@dataclass
class ScheduleSection:
    kind: str = "wsd"  # "wsd" (warmup-stable-decay) or "cosine"
    warmup_steps: int = 100
    min_lr_ratio: float = 0.0  # final learning rate as a fraction of the peak
    decay_fraction: float = 0.2  # wsd: the last fraction of max_steps that decays
    decay_start: int = -1  # wsd: explicit first decay step (cooldowns); -1 uses decay_fraction
    decay_shape: str = "linear"  # wsd: "linear" or "sqrt" (1 - sqrt, Hägele et al. 2024)


@dataclass
class TrainSection:
    batch_size: int = 8  # sequences per micro-batch in one process
    grad_accum: int = 1  # micro-batches per step over all processes; a multiple of the world size
    max_steps: int = 1000
    seed: int = 1337
    device: str = "auto"  # "auto", "cpu", "cuda"
    # "auto": bf16 autocast where the device computes in bf16 natively (CUDA, or a CPU with
    # AVX512_BF16 or AMX), fp32 elsewhere; "fp32"; "bf16" (emulated, slow, on other CPUs)
    precision: str = "auto"
    compile: bool = False  # torch.compile the model
    gradient_checkpointing: bool = False
    init_from: str = ""  # checkpoint to continue from in a new run, e.g. a WSD cooldown


@dataclass
class EvalSection:
    interval: int = 100  # steps between validation runs (and at the last step)
    batches: int = 10  # micro-batches of validation windows, the same windows every time


@dataclass
class CheckpointSection:
    interval: int = 200  # steps between saves of `checkpoint.pt` (and at the last step)
    keep_every: int = 0  # also keep `step_XXXXXX.pt` every N steps, for WSD cooldowns; 0: never


@dataclass
class OutputSection:
    dir: str = "runs/default"
    log_interval: int = 10  # steps between metric lines


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    objective: ObjectiveSection = field(default_factory=ObjectiveSection)
    optimizer: OptimizerSection = field(default_factory=OptimizerSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    output: OutputSection = field(default_factory=OutputSection)

    def to_dict(self) -> dict[str, Any]:
        """The config as the TOML tables it was read from (model sizes flat in `model`)."""
        d = dataclasses.asdict(self)
        sizes = d["model"].pop("sizes")
        d["model"].update(sizes)
        return d

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The `ModelConfig` of this run, given the tokenizer's vocabulary size."""
        sizes = {"vocab_size": vocab_size, "max_position_embeddings": self.model.block_size,
                 **self.model.sizes}
        if self.model.preset:
            return ModelConfig.from_name(self.model.preset, **sizes)
        return ModelConfig(**sizes)


_MODEL_FIELDS = {f.name for f in dataclasses.fields(ModelConfig)}
_CHOICES = {("schedule", "kind"): ("wsd", "cosine"), ("schedule", "decay_shape"): ("linear", "sqrt"),
            ("train", "device"): ("auto", "cpu", "cuda"), ("train", "precision"): ("auto", "fp32", "bf16")}


def load_config(path: str | Path, overrides: list[str] = (), values: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML config and apply `section.key=value` overrides (strings, as on a command
    line) and then `values` ({"section.key": value}, as a study plan gives them); errors
    name the bad key."""
    raw = set_values(apply_overrides(read_toml(path), overrides), values or {})
    return _build(raw, source=str(path))


def set_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`raw` with each dotted `section.key` of `values` set."""
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for name, value in values.items():
        section, dot, key = name.partition(".")
        if not dot or not section or not key:
            raise ConfigError(f"override key {name!r} must look like section.key")
        raw.setdefault(section, {})[key] = value
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`raw` with each `section.key=value` set; the value is a TOML literal or a bare string."""
    values = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or not dot or not key:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()  # bare strings such as paths need no quotes
        values[f"{section}.{key}"] = value
    return set_values(raw, values)


def _build(raw: dict[str, Any], source: str) -> TrainConfig:
    raw = dict(raw)
    model = raw.get("model", {})
    if isinstance(model, dict):  # ModelConfig fields sit flat in [model]
        sizes = {k: v for k, v in model.items() if k in _MODEL_FIELDS}
        unknown = sorted(set(model) - _MODEL_FIELDS - {"preset", "block_size"})
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(f'model.{k}' for k in unknown)}; "
                              f"[model] takes preset, block_size or ModelConfig fields "
                              f"({', '.join(sorted(_MODEL_FIELDS))})")
        raw["model"] = {**{k: v for k, v in model.items() if k not in _MODEL_FIELDS}, "sizes": sizes}
    config = from_table(TrainConfig, raw, source)
    _check(config, source)
    return config


def _check(config: TrainConfig, source: str) -> None:
    problems = []
    for (section, key), choices in _CHOICES.items():
        value = getattr(getattr(config, section), key)
        if value not in choices:
            problems.append(f"{section}.{key} must be one of {', '.join(choices)}, got {value!r}")
    positive = [("model", "block_size"), ("train", "batch_size"), ("train", "grad_accum"),
                ("train", "max_steps"), ("eval", "interval"), ("eval", "batches"),
                ("checkpoint", "interval"), ("output", "log_interval")]
    for section, key in positive:
        if getattr(getattr(config, section), key) <= 0:
            problems.append(f"{section}.{key} must be positive")
    for key in ("fim_rate", "fim_spm_rate"):
        if not 0.0 <= getattr(config.objective, key) <= 1.0:
            problems.append(f"objective.{key} must lie in [0, 1]")
    if not 0.0 <= config.schedule.decay_fraction <= 1.0:
        problems.append("schedule.decay_fraction must lie in [0, 1]")
    if config.schedule.warmup_steps < 0:
        problems.append("schedule.warmup_steps must not be negative")
    if not config.data.shards or not config.data.tokenizer:
        problems.append("data.shards and data.tokenizer are required")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


# Keys that may differ between a checkpoint and any run continuing from it: how the same
# computation is executed (precision included: the weights and optimizer state are fp32
# either way) and how often the run logs, evaluates and saves.
_EXECUTION_KEYS = {"train.init_from", "train.compile", "train.gradient_checkpointing", "train.device",
                   "train.precision", "eval", "checkpoint", "output"}
# The schedule ahead: may differ only in a branch (a new run from `train.init_from`, such as
# a WSD cooldown), never in a resume of the same run. `schedule.check_branch` then checks
# that the branch agrees with its parent on the steps before the checkpoint.
SCHEDULE_KEYS = {"train.max_steps", "schedule"}


def incompatible_keys(saved: dict[str, Any], current: dict[str, Any], branch: bool = False) -> list[str]:
    """Dotted keys whose values differ between two config dicts and must not for a resume
    (`branch` False) or for a branch (`branch` True)."""
    may_differ = _EXECUTION_KEYS | SCHEDULE_KEYS if branch else _EXECUTION_KEYS
    differing = []
    for section in sorted(set(saved) | set(current)):
        if section in may_differ:
            continue
        a, b = saved.get(section, {}), current.get(section, {})
        for key in sorted(set(a) | set(b)):
            if f"{section}.{key}" not in may_differ and a.get(key) != b.get(key):
                differing.append(f"{section}.{key}: checkpoint {a.get(key)!r}, config {b.get(key)!r}")
    return differing
