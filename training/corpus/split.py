"""Train/validation/test assignment by package: a deterministic hash, no package in two splits.

Hashing the package key (not drawing at random) keeps a package's split fixed when other
packages are added to or removed from the sources.
"""

from __future__ import annotations

import hashlib

from pycodesmall.training.corpus.config import SplitConfig

__all__ = ["SPLITS", "assign_split"]

SPLITS = ("train", "val", "test")


def assign_split(package_key: str, config: SplitConfig) -> str:
    digest = hashlib.sha256(f"{config.seed}\0{package_key}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if position < config.test:
        return "test"
    if position < config.test + config.validation:
        return "val"
    return "train"
