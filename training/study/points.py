"""Point files: one JSON object per evaluated (model, budget), `<results>/<experiment>/<hash>.json`.

The runner writes them and reads them back (to skip finished points and to choose a value
from another experiment's results); the report reads nothing else. Both go through here, so
both skip the same files: one half written by a killed sweep, or one of another schema.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["SCHEMA_VERSION", "write_point", "read_points", "experiment_points"]

SCHEMA_VERSION = 1


def write_point(path: Path, record: dict) -> None:
    """Write `record` to `path` atomically: a kill leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_points(results_dir: Path) -> tuple[dict[str, list[dict]], list[dict[str, str]]]:
    """Points by experiment (each sorted by file name) and the files skipped, with why.

    A file is skipped when it is not JSON, not an object of schema_version `SCHEMA_VERSION`,
    or lacks `experiment`; its folder need not match its experiment. Each point read carries
    its path relative to `results_dir` as `_file`.
    """
    experiments: dict[str, list[dict]] = {}
    skipped = []
    for path in sorted(Path(results_dir).glob("*/*.json")):
        reason = None
        try:
            point = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            point, reason = None, f"unreadable: {e}"
        if reason is None and not isinstance(point, dict):
            reason = "not a JSON object"
        elif reason is None and point.get("schema_version") != SCHEMA_VERSION:
            reason = f"schema_version {point.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        elif reason is None and not isinstance(point.get("experiment"), str):
            reason = "no experiment name"
        if reason is not None:
            skipped.append({"path": str(path.relative_to(results_dir)), "reason": reason})
            continue
        point["_file"] = str(path.relative_to(results_dir))
        experiments.setdefault(point["experiment"], []).append(point)
    return experiments, skipped


def experiment_points(results_dir: Path, experiment: str) -> list[dict]:
    """The readable points of one experiment, in file-name order."""
    return read_points(results_dir)[0].get(experiment, [])
