"""Training batches from the packed shards: random windows, a pure function of (seed, step).

The shards are flat `uint16` memmaps of token ids with an end-of-document id after every
file, described by `shards.json` (see `pycodesmall-train data pack`). Each row of a batch
is a window of `block_size + 1` tokens at a random offset, drawn from a generator seeded by
(seed, split, step, row). Nothing about the data position needs saving beyond the step,
resume is exact, and the rows of a step are the same whatever the number of processes:
each DDP rank reads only its own rows, and together they read what one process would.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pycodesmall.errors import PycodesmallError
from pycodesmall.training.objectives import NextToken, Objective

__all__ = ["ShardError", "Split", "open_split", "check_tokenizer", "Batches", "tokenizer_sha256"]

_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


class ShardError(PycodesmallError):
    """Shards that are missing, truncated, or do not match their manifest or tokenizer."""


@dataclass
class Split:
    """The tokens of one split and its manifest entry (for bits per byte)."""

    tokens: np.ndarray  # (N,) uint16 memmap
    num_bytes: int  # UTF-8 bytes of the original source behind the tokens

    @property
    def bytes_per_token(self) -> float:
        return self.num_bytes / len(self.tokens)


def _read_manifest(shards_dir: Path) -> dict:
    path = shards_dir / "shards.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ShardError(f"no shards.json in {shards_dir}: run `pycodesmall-train data pack` first") from None
    except json.JSONDecodeError as e:
        raise ShardError(f"{path} is not valid JSON: {e}") from None
    if manifest.get("dtype") != "uint16":
        raise ShardError(f"{path}: dtype {manifest.get('dtype')!r} is not supported, expected 'uint16'")
    return manifest


def open_split(shards_dir: str | Path, split: str) -> Split:
    """The memmap of one split, checked against the manifest's token count.

    To be replaced by `pycodesmall.training.corpus.shards.open_split` once the corpus
    package provides it.
    """
    shards_dir = Path(shards_dir)
    manifest = _read_manifest(shards_dir)
    entry = manifest.get("splits", {}).get(split)
    if entry is None:
        raise ShardError(f"{shards_dir}/shards.json has no split {split!r}")
    path = shards_dir / entry["file"]
    if not path.exists():
        raise ShardError(f"shard {path} is missing")
    expected = entry["tokens"] * np.dtype(np.uint16).itemsize
    if path.stat().st_size != expected:
        raise ShardError(f"shard {path} has {path.stat().st_size} bytes but shards.json says "
                         f"{entry['tokens']} tokens ({expected} bytes): truncated or from another build")
    return Split(np.memmap(path, dtype=np.uint16, mode="r"), entry["bytes"])


def tokenizer_sha256(tokenizer_path: str | Path) -> str:
    """sha256 of a tokenizer.json file (or the one in a directory), as shards.json records it."""
    path = Path(tokenizer_path)
    if path.is_dir():
        path = path / "tokenizer.json"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_tokenizer(shards_dir: str | Path, tokenizer_path: str | Path, vocab_size: int,
                    splits: list[Split]) -> None:
    """Fail unless the shards were packed with this tokenizer and every id fits its vocabulary."""
    manifest = _read_manifest(Path(shards_dir))
    recorded, actual = manifest.get("tokenizer_sha256"), tokenizer_sha256(tokenizer_path)
    if recorded != actual:
        raise ShardError(f"{shards_dir}/shards.json was packed with tokenizer sha256 {recorded}, but "
                         f"{tokenizer_path} has sha256 {actual}: pack the shards with this tokenizer")
    for split in splits:
        if len(split.tokens) and int(split.tokens.max()) >= vocab_size:
            raise ShardError(f"shards in {shards_dir} hold token id {int(split.tokens.max())}, "
                             f"outside the tokenizer's vocabulary of {vocab_size}")


class Batches:
    """Micro-batches of one split, each a pair of (batch_size, block_size) int64 tensors."""

    def __init__(self, split: Split, name: str, block_size: int, batch_size: int, seed: int,
                 objective: Objective = NextToken()):
        if len(split.tokens) < block_size + 1:
            raise ShardError(f"the {name} split has {len(split.tokens)} tokens, fewer than one "
                             f"window of block_size + 1 = {block_size + 1}")
        self.split, self.code, self.block_size = split, _SPLIT_CODES[name], block_size
        self.batch_size, self.seed, self.objective = batch_size, seed, objective

    def micro_batch(self, step: int, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Micro-batch `index` of optimizer step `step`: rows index*batch_size onwards."""
        inputs, targets = [], []
        for row in range(index * self.batch_size, (index + 1) * self.batch_size):
            rng = np.random.default_rng([self.seed, self.code, step, row])
            start = int(rng.integers(0, len(self.split.tokens) - self.block_size))
            window = np.asarray(self.split.tokens[start:start + self.block_size + 1])
            x, y = self.objective.example(window, rng)
            inputs.append(x)
            targets.append(y)
        return torch.from_numpy(np.stack(inputs)), torch.from_numpy(np.stack(targets))
