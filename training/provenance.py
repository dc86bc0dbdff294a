"""What every result file records about how it was made: config and hash, commit, hardware."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

__all__ = ["provenance", "git_commit", "hardware", "dict_hash"]

_REPO = Path(__file__).resolve().parent.parent


def dict_hash(d: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of `d`."""
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def git_commit() -> str | None:
    """The commit of the checkout the code runs from, with "-dirty" for uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None  # an installed package outside a git checkout
    return commit + ("-dirty" if dirty else "")


def hardware() -> dict[str, Any]:
    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name()
    return info


def provenance(config: dict[str, Any]) -> dict[str, Any]:
    """The record to put in a result file: config, its hash, commit, hardware, start time."""
    return {"config": config, "config_sha256": dict_hash(config), "git_commit": git_commit(),
            "hardware": hardware(),
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
