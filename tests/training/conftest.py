"""Shared fixtures: a tiny corpus from stdlib files, a tokenizer trained on it, its shards."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from training_fixtures import pack_shards, write_corpus

from pycodesmall.training.tokenizer_training import tokenizer_command


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def tokenizer_dir(corpus_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tokenizer")
    result = CliRunner().invoke(tokenizer_command, ["--corpus", str(corpus_dir), "--variant", "indent",
                                                    "--vocab-size", "512", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def shards_dir(corpus_dir, tokenizer_dir, tmp_path_factory) -> Path:
    return pack_shards(corpus_dir, tokenizer_dir, tmp_path_factory.mktemp("shards"))


@pytest.fixture
def data_overrides(shards_dir, tokenizer_dir) -> list[str]:
    return [f"data.shards={shards_dir}", f"data.tokenizer={tokenizer_dir}"]
