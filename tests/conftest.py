"""Shared fixtures: a small tokenizer trained on real stdlib code, and tiny random models.

Random weights are fine for what these tests check (shapes, parity, caching, errors);
model quality is measured by the evaluation runs, never by unit tests.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
import torch

from pycodesmall.config import ModelConfig
from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.tokenizer import PythonTokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def stdlib_sources(*packages: str) -> list[str]:
    return [p.read_text(encoding="utf-8") for name in packages
            for p in sorted((STDLIB / name).glob("*.py"))]


@pytest.fixture(scope="session")
def training_texts() -> list[str]:
    return stdlib_sources("json", "email", "logging")


@pytest.fixture(scope="session", params=["bpe", "indent", "ast"])
def tokenizer(request, training_texts) -> PythonTokenizer:
    return PythonTokenizer.train(training_texts, request.param, vocab_size=1024)


@pytest.fixture(scope="session")
def indent_tokenizer(training_texts) -> PythonTokenizer:
    return PythonTokenizer.train(training_texts, "indent", vocab_size=1024)


def tiny_config(vocab_size: int, **overrides) -> ModelConfig:
    settings = dict(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    settings.update(overrides)
    return ModelConfig(**settings)


@pytest.fixture
def tiny_model(indent_tokenizer) -> CodeModel:
    torch.manual_seed(0)
    return CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size)), indent_tokenizer,
                     device="cpu")


@pytest.fixture
def tiny_model_dir(tiny_model, tmp_path) -> Path:
    return tiny_model.save_pretrained(tmp_path / "tiny")
