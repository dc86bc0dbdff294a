"""Fixtures for the language server tests: random-weight models on disk and a real server process.

Random weights are enough here: the tests check the protocol, validation, cancellation and
robustness, never what a trained model would suggest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
import torch

from pycodesmall.config import ModelConfig
from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel

from lsp_e2e import start_client


def save_random_model(directory: Path, tokenizer, **sizes) -> Path:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=tokenizer.vocab_size, **sizes)
    return CodeModel(Transformer(config), tokenizer, device="cpu").save_pretrained(directory)


@pytest.fixture(scope="session")
def lsp_model_dir(indent_tokenizer, tmp_path_factory) -> Path:
    """Small and quick: every request decodes in milliseconds."""
    return save_random_model(tmp_path_factory.mktemp("models") / "tiny", indent_tokenizer,
                             hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                             max_position_embeddings=512)


@pytest.fixture(scope="session")
def slow_model_dir(indent_tokenizer, tmp_path_factory) -> Path:
    """Large enough that a long decode takes seconds, for the cancellation tests."""
    return save_random_model(tmp_path_factory.mktemp("models") / "slow", indent_tokenizer,
                             hidden_size=512, num_hidden_layers=8, num_attention_heads=8,
                             num_key_value_heads=8, max_position_embeddings=1024)


@pytest_asyncio.fixture
async def client(lsp_model_dir):
    client = await start_client(lsp_model_dir)
    yield client
    await client.shutdown_session()
    await client.stop()
