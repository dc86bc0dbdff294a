"""Plain helpers for the corpus tests, under a module name no other test folder uses."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

LOCAL_PACKAGE = "planted"


def read_split(corpus: Path, split: str) -> list[dict]:
    with gzip.open(corpus / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]
