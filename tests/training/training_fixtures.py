"""A tiny corpus in the `data build` format from a few stdlib files, packed by `data pack`;
and a way to damage a checkpoint file as a bad disk would."""

from __future__ import annotations

import gzip
import json
import sysconfig
import zipfile
from pathlib import Path

from pycodesmall.training.corpus.shards import pack_corpus

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
    """The corpus packed by the corpus package's `data pack`."""
    pack_corpus(corpus_dir, tokenizer_dir, out_dir)
    return out_dir


def flip_a_bit_in_the_largest_tensor(path):
    """Flip one bit in the middle of the largest stored tensor, as a bad disk would."""
    with zipfile.ZipFile(path) as archive:
        member = max(archive.infolist(), key=lambda info: info.file_size)
    data = bytearray(path.read_bytes())
    local_header = member.header_offset  # 30 fixed bytes, then the name and the extra field
    name_length, extra_length = (int.from_bytes(data[local_header + i:local_header + i + 2], "little")
                                 for i in (26, 28))
    start = local_header + 30 + name_length + extra_length
    data[start + member.file_size // 2] ^= 0x04
    path.write_bytes(bytes(data))
