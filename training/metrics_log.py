"""The metrics of a run as JSON lines (always) and TensorBoard scalars (when installed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog", "read_records"]


class MetricsLog:
    """Appends one JSON object per `write`; numeric fields of records with a step also go to
    TensorBoard.

    A new run starts a new file. A resumed run keeps the records up to the step it resumes
    from and drops the later ones, which an interrupted run logged after its last checkpoint
    and the resumed run logs again, so that every step appears once (TensorBoard purges them
    likewise)."""

    def __init__(self, out_dir: str | Path, resume_step: int | None = None):
        self.path = Path(out_dir) / "metrics.jsonl"
        if resume_step is None:
            self.path.write_text("")
        else:
            self._drop_after(resume_step)
        self.file = self.path.open("a")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            self.tensorboard = None
        else:
            purge = None if resume_step is None else resume_step + 1  # events at this step and later go
            self.tensorboard = SummaryWriter(str(Path(out_dir) / "tensorboard"), purge_step=purge)

    def _drop_after(self, step: int) -> None:
        if not self.path.exists():
            return
        kept = [r for r in read_records(self.path) if "event" in r or r["step"] <= step]  # start records stay
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, self.path)

    def write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if self.tensorboard is not None and "step" in record:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.tensorboard.add_scalar(key, value, record["step"])

    def __enter__(self) -> "MetricsLog":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()
        if self.tensorboard is not None:
            self.tensorboard.close()


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics file, skipping lines that do not parse (a kill leaves at most
    the last one cut short, and a resumed run writes that step again)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
