"""Training batches from the packed shards: random windows, a pure function of (seed, step).

The shards are flat memmaps of token ids with an end-of-document id after every file,
described by `shards.json` (see `pycodesmall.training.corpus.shards`). Each row of a batch
is a window of `block_size + 1` tokens at a random offset, drawn from a generator seeded by
(seed, split, step, row). Nothing about the data position needs saving beyond the step,
resume is exact, and the rows of a step are the same whatever the number of processes:
each DDP rank reads only its own rows, and together they read what one process would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pycodesmall.training.corpus.checksums import sha256_file
from pycodesmall.training.corpus.shards import ShardError, open_split, read_manifest
from pycodesmall.training.objectives import NextToken, Objective

__all__ = ["Split", "load_split", "check_tokenizer", "Batches", "tokenizer_sha256"]

_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


@dataclass
class Split:
    """The tokens of one split and its manifest entry (for bits per byte)."""

    tokens: np.ndarray  # (N,) memmap of token ids
    num_bytes: int  # UTF-8 bytes of the original source behind the tokens

    @property
    def bytes_per_token(self) -> float:
        return self.num_bytes / len(self.tokens)


def load_split(shards_dir: str | Path, split: str) -> Split:
    """The tokens of `split`, checked against shards.json (size and sha256) by the corpus package."""
    tokens = open_split(shards_dir, split)
    return Split(tokens, read_manifest(shards_dir)["splits"][split]["bytes"])


def tokenizer_sha256(tokenizer_path: str | Path) -> str:
    """sha256 of a tokenizer.json file (or the one in a directory), as shards.json records it."""
    path = Path(tokenizer_path)
    return sha256_file(path / "tokenizer.json" if path.is_dir() else path)


def check_tokenizer(shards_dir: str | Path, tokenizer_path: str | Path, vocab_size: int,
                    splits: list[Split]) -> None:
    """Fail unless the shards were packed with this tokenizer and every id fits its vocabulary."""
    recorded, actual = read_manifest(shards_dir).get("tokenizer_sha256"), tokenizer_sha256(tokenizer_path)
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
