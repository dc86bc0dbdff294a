"""Shared fixtures: a small tokenizer trained on real stdlib code, and tiny random models.

Random weights are fine for what these tests check (shapes, parity, caching, errors);
model quality is measured by the evaluation runs, never by unit tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from model_fixtures import find_benchmark_data, stdlib_sources, tiny_config

from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training.evaluation.benchmark_data import DATA_DIR_ENV


@pytest.fixture(scope="session")
def benchmark_data_dir() -> Path:
    found = find_benchmark_data()
    if found is None:
        pytest.skip(f"benchmark files not found: set {DATA_DIR_ENV} to the folder with "
                    "HumanEval.jsonl.gz, mbpp.jsonl and sanitized-mbpp.json")
    return found


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models decode fastest on one thread; on a busy machine two spinning OpenMP
    threads slow every step by 10x or more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def training_texts() -> list[str]:
    return stdlib_sources("json", "email", "logging")


@pytest.fixture(scope="session", params=["bpe", "indent", "ast"])
def tokenizer(request, training_texts) -> PythonTokenizer:
    return PythonTokenizer.train(training_texts, request.param, vocab_size=1024)


@pytest.fixture(scope="session")
def indent_tokenizer(training_texts) -> PythonTokenizer:
    return PythonTokenizer.train(training_texts, "indent", vocab_size=1024)


@pytest.fixture
def tiny_model(indent_tokenizer) -> CodeModel:
    torch.manual_seed(0)
    return CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size)), indent_tokenizer,
                     device="cpu")


@pytest.fixture
def tiny_model_dir(tiny_model, tmp_path) -> Path:
    return tiny_model.save_pretrained(tmp_path / "tiny")
