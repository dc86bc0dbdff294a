"""Result files: one JSON per (model, task) with every sample and its provenance.

Tables and figures are generated from these files only, so each one carries what is
needed to trust and reproduce it: the config and its hash, the git commit, the model and
tokenizer identifiers, the hardware and the wall time.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["TaskResult", "build_result", "write_result", "read_results", "git_commit",
           "hardware", "result_filename", "default_output_dir", "RESULTS_ROOT"]

SCHEMA_VERSION = 1
RESULTS_ROOT = "results/models"
_REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class TaskResult:
    """What a task returns: `name` labels the variant (e.g. "mbpp-sanitized-0shot")."""

    name: str
    summary: dict
    samples: list[dict] = field(default_factory=list)


def git_commit(repository: Path = _REPOSITORY) -> str:
    """HEAD of the repository, with "-dirty" when tracked files have changes."""
    def git(*args):
        return subprocess.run(["git", "-C", str(repository), *args], capture_output=True,
                              text=True, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def hardware() -> dict:
    info = {"machine": platform.machine(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": sys.version.split()[0]}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def build_result(task: TaskResult, config, model_id: str, tokenizer_id: str,
                 wall_time_s: float, commit: str | None = None) -> dict:
    """`commit`: the code that ran, taken when the run started (default: HEAD now)."""
    return {"schema_version": SCHEMA_VERSION, "task": task.name, "model": model_id,
            "tokenizer": tokenizer_id, "config": config.to_dict(),
            "config_hash": config.config_hash(), "git_commit": commit or git_commit(),
            "hardware": hardware(), "wall_time_s": round(wall_time_s, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "summary": task.summary, "samples": task.samples}


def default_output_dir(model_id: str) -> Path:
    """`results/models/<model>/`, next to the release record that model cards are built
    from (`training/release.py` reads `eval_*.json` there)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model_id).name or model_id).strip("_")
    return Path(RESULTS_ROOT) / (slug or "model")


def result_filename(task_name: str) -> str:
    return f"eval_{task_name}.json"


def write_result(result: dict, directory: str | os.PathLike) -> Path:
    """Write atomically (temporary file, then rename) and return the path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / result_filename(result["task"])
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def read_results(paths: list[str | os.PathLike]) -> list[dict]:
    """Result files named directly or found (recursively) under directories."""
    files = []
    for path in map(Path, paths):
        files.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    results = []
    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("schema_version") == SCHEMA_VERSION:
            results.append(data)
    return results
