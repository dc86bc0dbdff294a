"""Tiny stand-ins for the corpus builder's outputs, made from a few stdlib files."""

from __future__ import annotations

import gzip
import json
import sysconfig
from pathlib import Path

import numpy as np

from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training.data_loader import tokenizer_sha256
from pycodesmall.training.tokenizer_training import read_texts

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = REPO / "training" / "configs" / "test_tiny.toml"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SPLITS = {  # split -> stdlib files, different packages in each split
    "train": ["json/__init__.py", "json/decoder.py", "json/encoder.py", "textwrap.py", "shlex.py",
              "fnmatch.py", "glob.py", "bisect.py", "heapq.py", "colorsys.py", "keyword.py",
              "string.py", "tokenize.py", "dataclasses.py"],
    "val": ["calendar.py", "graphlib.py"],
    "test": ["netrc.py"],
}


def write_corpus(out_dir: Path) -> Path:
    """A `data build`-style corpus: {split}.jsonl.gz with one record per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, files in SPLITS.items():
        with gzip.open(out_dir / f"{split}.jsonl.gz", "wt", encoding="utf-8") as f:
            for name in files:
                record = {"text": (STDLIB / name).read_text(encoding="utf-8"), "path": name,
                          "package": name.split("/")[0], "source": "stdlib"}
                f.write(json.dumps(record) + "\n")
    return out_dir


def pack_shards(corpus_dir: Path, tokenizer_dir: Path, out_dir: Path) -> Path:
    """A `data pack`-style output: {split}.bin (uint16, EOT after each file) and shards.json."""
    tokenizer = PythonTokenizer.from_file(tokenizer_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = {}
    for split in SPLITS:
        ids, num_bytes, files = [], 0, 0
        for text in read_texts(corpus_dir, split):
            ids += tokenizer.encode(text) + [tokenizer.eot_id]
            num_bytes += len(text.encode("utf-8"))
            files += 1
        np.asarray(ids, dtype=np.uint16).tofile(out_dir / f"{split}.bin")
        splits[split] = {"file": f"{split}.bin", "tokens": len(ids), "bytes": num_bytes, "files": files,
                         "sha256": None}
    manifest = {"dtype": "uint16", "tokenizer_sha256": tokenizer_sha256(tokenizer_dir),
                "variant": tokenizer.variant, "splits": splits}
    (out_dir / "shards.json").write_text(json.dumps(manifest, indent=2))
    return out_dir
