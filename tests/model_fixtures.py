"""Plain helpers for the library's tests (fixtures live in conftest.py).

Imported as `model_fixtures` by test modules: a unique module name, since several test
folders have a `conftest.py` and only one of them can be imported as `conftest`.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from pycodesmall.config import ModelConfig
from pycodesmall.training.evaluation.benchmark_data import DATA_DIR_ENV

STDLIB = Path(sysconfig.get_paths()["stdlib"])
REPOSITORY = Path(__file__).resolve().parents[1]


def find_benchmark_data() -> Path | None:
    """$PYCODESMALL_EVAL_DATA, else a `shared/data` folder next to the checkout or above
    it (the project keeps the benchmark files there, outside the repository)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    for folder in REPOSITORY.parents:
        candidate = folder / "shared" / "data"
        if (candidate / "HumanEval.jsonl.gz").exists():
            return candidate
    return None


def stdlib_sources(*packages: str) -> list[str]:
    return [p.read_text(encoding="utf-8") for name in packages
            for p in sorted((STDLIB / name).glob("*.py"))]


def tiny_config(vocab_size: int, **overrides) -> ModelConfig:
    settings = dict(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    settings.update(overrides)
    return ModelConfig(**settings)
