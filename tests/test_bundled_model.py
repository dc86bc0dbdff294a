"""The released model bundled in the package: loads offline, is small, and is trained.

Whether it writes good code is for the evaluation (results/), not for unit tests; these
check what a user relies on after `pip install`: it loads without a network, fits the
wheel, and predicts held-out Python far better than chance.
"""

import hashlib
import json
import math
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

import pycodesmall
from model_fixtures import STDLIB
from pycodesmall import hub

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundled():
    return pycodesmall.load(device="cpu")


def test_default_model_loads_offline_from_the_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = pycodesmall.load(device="cpu")
    assert model.name == hub.DEFAULT_MODEL
    assert hub.resolve(hub.DEFAULT_MODEL).is_relative_to(Path(pycodesmall.__file__).parent)


def test_bundled_files_fit_the_wheel_budget():
    files = list(hub.bundled_path(hub.DEFAULT_MODEL).iterdir())
    assert {f.name for f in files} >= {"config.json", "model.safetensors", "tokenizer.json"}
    assert sum(f.stat().st_size for f in files) <= 20 * 1024 * 1024


def test_predicts_held_out_code_far_better_than_chance(bundled):
    # A file of a package that the corpus build put in the test split.
    report = json.loads((ROOT / "results/corpus/build_report.json").read_text())
    assert report["packages"]["stdlib:netrc"]["split"] == "test"
    text = (STDLIB / "netrc.py").read_text()
    uniform = math.log2(bundled.tokenizer.vocab_size) * len(bundled.tokenizer.encode(text)) / len(text.encode())
    assert bundled.bits_per_byte(text).value < uniform / 2


def test_complete_without_a_model_uses_the_bundled_one(bundled):
    result = pycodesmall.complete("def fibonacci(n):\n", max_new_tokens=32)
    assert result.tokens > 0 and result.valid is not None


def test_a_prompt_cut_after_a_colon_goes_on_to_the_next_line(bundled):
    # Training text had one token for "):" plus the newline; token healing lets the model
    # choose it although the prompt ends at "):" (the README's quick start).
    result = pycodesmall.complete("def fibonacci(n):", model=bundled, max_new_tokens=8)
    assert result.raw_text.startswith("\n")


def test_a_one_line_completion_that_opens_a_block_is_kept(bundled):
    # The line limit stopped it: the body was to come on the next line.
    prefix = "def count(words, text):\n    n = 0\n    for word in words:\n        "
    result = pycodesmall.complete(prefix, model=bundled, max_lines=1)
    assert result.stop_rule == "max_lines" and result.raw_text.endswith(":")
    assert result.valid and result.text == result.raw_text


def test_the_bundled_weights_carry_their_checksum_and_the_wheel_ships_every_file():
    directory = hub.bundled_path(hub.DEFAULT_MODEL)
    digest, name = (directory / "model.safetensors.sha256").read_text().split()
    assert name == "model.safetensors"
    assert digest == hashlib.sha256((directory / name).read_bytes()).hexdigest()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for f in directory.iterdir():
        assert any(fnmatch(f"models/{directory.name}/{f.name}", p) for p in package_data["pycodesmall"]), f.name
