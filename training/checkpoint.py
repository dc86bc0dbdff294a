"""Atomic training checkpoints that hold everything an exact resume needs.

A checkpoint is a plain dict of tensors, numbers, strings and lists (model and optimizer
state, step, RNG states, the config as a dict), written with `torch.save` to a temporary
file and renamed into place, so a crash never leaves a half-written checkpoint. It is read
with `torch.load(weights_only=True)`, which refuses to unpickle arbitrary objects.

The file also holds `sha256`, the `checkpoint_digest` of everything else, which
`load_checkpoint` verifies: torch reads a file with a flipped bit in a tensor without
complaint, and the run would train on from corrupted state. Non-finite model or optimizer
state is refused when saving and when loading. Checkpoints written before the digest
existed load unverified.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pycodesmall.errors import ConfigError, PycodesmallError
from pycodesmall.training.train_config import incompatible_keys

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "check_compatible",
           "checkpoint_digest", "rng_states", "restore_rng_states"]

log = logging.getLogger(__name__)

DIGEST_KEY = "sha256"
# What a checkpoint holds, and of which type: anything else is not one of ours.
FIELDS: dict[str, type | tuple[type, ...]] = {
    "model": dict, "optimizer": dict, "step": int, "config": dict, "precision": str, "rng": dict,
    "elapsed_s": (int, float)}


class CheckpointError(PycodesmallError):
    """A checkpoint that is missing, unreadable, corrupted, or from an incompatible config."""


def checkpoint_digest(checkpoint: dict[str, Any]) -> str:
    """sha256 over every entry but `sha256` itself: tensors by dtype, shape and bytes, other
    values by type and repr, containers in order (`torch.load` keeps dict order)."""
    digest = hashlib.sha256()

    def feed(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous().reshape(-1)
            digest.update(f"tensor {tensor.dtype} {tuple(value.shape)};".encode())
            digest.update(tensor.view(torch.uint8).numpy().data)
        elif isinstance(value, dict):
            digest.update(f"dict {len(value)};".encode())
            for key, item in value.items():
                feed(key)
                feed(item)
        elif isinstance(value, (list, tuple)):
            digest.update(f"list {len(value)};".encode())
            for item in value:
                feed(item)
        else:
            digest.update(f"{type(value).__name__} {value!r};".encode())

    feed({k: v for k, v in checkpoint.items() if k != DIGEST_KEY})
    return digest.hexdigest()


def _non_finite(checkpoint: dict[str, Any]) -> str | None:
    """Where the model or optimizer state holds nan or inf, or None."""
    def tensors(value: Any, name: str):
        if isinstance(value, torch.Tensor):
            yield name, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from tensors(item, f"{name}.{key}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from tensors(item, f"{name}[{index}]")

    for part in ("model", "optimizer"):
        for name, tensor in tensors(checkpoint[part], part):
            if tensor.is_floating_point() and not (finite := torch.isfinite(tensor)).all():
                return f"{int((~finite).sum())} of {tensor.numel()} in {name}"
    return None


def save_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    path = Path(path)
    where = _non_finite(checkpoint)
    if where is not None:
        raise CheckpointError(f"not saving checkpoint {path}: the state holds non-finite values ({where})")
    tmp = path.with_name(path.name + ".tmp")
    torch.save({**checkpoint, DIGEST_KEY: checkpoint_digest(checkpoint)}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint at `path`, verified; a `CheckpointError` that says what is wrong with
    it otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): it was never written in full")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        reason = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise CheckpointError(f"cannot read checkpoint {path}: {reason[:300]}") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} is not a training checkpoint: it holds a "
                              f"{type(checkpoint).__name__}, not a dict")
    missing = sorted(set(FIELDS) - set(checkpoint))
    if missing:
        raise CheckpointError(f"{path} is not a training checkpoint: it lacks {', '.join(missing)}")
    for key, kind in FIELDS.items():
        if not isinstance(checkpoint[key], kind) or isinstance(checkpoint[key], bool):
            raise CheckpointError(f"{path} is not a training checkpoint: {key} is a "
                                  f"{type(checkpoint[key]).__name__}")
    stored = checkpoint.pop(DIGEST_KEY, None)
    if stored is None:
        log.info("checkpoint %s has no digest (written by an older version): loaded unverified", path)
    elif stored != checkpoint_digest(checkpoint):
        raise CheckpointError(f"checkpoint {path} is corrupted: its contents do not match the sha256 "
                              "recorded when it was written")
    where = _non_finite(checkpoint)
    if where is not None:
        raise CheckpointError(f"checkpoint {path} holds non-finite values ({where}): the run had "
                              "diverged when it was saved")
    return checkpoint


def check_compatible(checkpoint: dict[str, Any], config: dict[str, Any], path: str | Path,
                     branch: bool = False) -> None:
    """Fail with the differing keys when a checkpoint does not belong to this config: the
    same run for a resume, or a run whose schedule ahead may differ for a branch."""
    differing = incompatible_keys(checkpoint["config"], config, branch)
    if not differing:
        return
    message = f"checkpoint {path} was trained with a different config: " + "; ".join(differing)
    if not branch and incompatible_keys(checkpoint["config"], config, branch=True) != differing:
        message += ("; a resume continues the same run on the same schedule: to train on with "
                    f"another schedule, branch into a new output.dir with train.init_from={path}")
    raise ConfigError(message)


def rng_states() -> dict[str, Any]:
    """Python, numpy and torch RNG states in a form `torch.load(weights_only=True)` accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = {"python": random.getstate(), "numpy": [kind, torch.from_numpy(keys.copy()), pos, has_gauss, cached],
              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy(), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
