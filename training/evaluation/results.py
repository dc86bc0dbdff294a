"""Result files: one JSON per (model, task) with every sample and its provenance.

Tables and figures are generated from these files only, so each one carries what is
needed to trust and reproduce it: the config and its hash, the git commit, the model and
tokenizer identifiers, the hardware and the wall time.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pycodesmall.training.provenance import provenance

__all__ = ["TaskResult", "run_record", "build_result", "write_result", "read_results",
           "result_filename", "default_output_dir", "RESULTS_ROOT"]

SCHEMA_VERSION = 1
RESULTS_ROOT = "results/models"


@dataclass
class TaskResult:
    """What a task returns: `name` labels the variant (e.g. "mbpp-sanitized-0shot")."""

    name: str
    summary: dict
    samples: list[dict] = field(default_factory=list)


def run_record(config) -> dict:
    """Provenance shared by every result file of one run, taken when it starts: the config
    and its hash, git commit, hardware and start time (`training.provenance`), plus the
    run-only settings."""
    return {**provenance(config.settings()), "run": config.run_settings()}


def build_result(task: TaskResult, record: dict, model_id: str, tokenizer_id: str,
                 wall_time_s: float) -> dict:
    return {"schema_version": SCHEMA_VERSION, "task": task.name, "model": model_id,
            "tokenizer": tokenizer_id, **record, "wall_time_s": round(wall_time_s, 3),
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
