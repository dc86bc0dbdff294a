"""Atomic training checkpoints that hold everything an exact resume needs.

A checkpoint is a plain dict of tensors, numbers, strings and lists (model and optimizer
state, step, RNG states, the config as a dict), written with `torch.save` to a temporary
file and renamed into place, so a crash never leaves a half-written checkpoint. It is read
with `torch.load(weights_only=True)`, which refuses to unpickle arbitrary objects.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pycodesmall.errors import ConfigError, PycodesmallError
from pycodesmall.training.train_config import incompatible_keys

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "check_compatible",
           "rng_states", "restore_rng_states"]


class CheckpointError(PycodesmallError):
    """A checkpoint that is missing, unreadable, or from an incompatible config."""


def save_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from None


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
