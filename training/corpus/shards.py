"""`data pack` and `open_split`: token ids of each split in one flat memory-mapped file.

Layout (nanoGPT style): `train.bin`, `val.bin`, `test.bin` hold the token ids of every
file of the split back to back, each file followed by the end-of-document id, as
`np.uint16` when the vocabulary fits (else `np.uint32`). `shards.json` records what the
training loop needs to trust them: the dtype, the tokenizer's sha256 and variant, and per
split the token count, the UTF-8 byte count of the original text (the denominator of
bits per byte), the file count and the sha256 of the .bin file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pycodesmall.errors import PycodesmallError
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training.corpus.checksums import sha256_file
from pycodesmall.training.corpus.split import SPLITS

__all__ = ["ShardError", "MANIFEST_NAME", "pack_corpus", "open_split", "read_manifest"]

MANIFEST_NAME = "shards.json"


class ShardError(PycodesmallError):
    """Token shards that are missing, truncated or do not match their manifest."""


def pack_corpus(corpus_dir: str | Path, tokenizer_path: str | Path, out_dir: str | Path,
                batch_size: int = 256) -> dict[str, Any]:
    """Tokenize every split of a built corpus into `out_dir`; returns the manifest it writes."""
    corpus_dir, tokenizer_path, out_dir = Path(corpus_dir), Path(tokenizer_path), Path(out_dir)
    if tokenizer_path.is_dir():
        tokenizer_path = tokenizer_path / "tokenizer.json"
    tokenizer = PythonTokenizer.from_file(tokenizer_path)
    dtype = np.uint16 if tokenizer.vocab_size <= 2**16 else np.uint32
    assert tokenizer.vocab_size <= np.iinfo(dtype).max + 1, "vocabulary does not fit the dtype"
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "dtype": np.dtype(dtype).name,
        "tokenizer_sha256": sha256_file(tokenizer_path),
        "variant": tokenizer.variant,
        "vocab_size": tokenizer.vocab_size,
        "eot_id": tokenizer.eot_id,
        "splits": {},
    }
    for split in SPLITS:
        source = corpus_dir / f"{split}.jsonl.gz"
        if not source.exists():
            raise ShardError(f"no {source}: build the corpus first (pycodesmall-train data build)")
        manifest["splits"][split] = _pack_split(source, tokenizer, dtype, out_dir / f"{split}.bin",
                                                batch_size)
    tmp = out_dir / f"{MANIFEST_NAME}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out_dir / MANIFEST_NAME)
    return manifest


def _pack_split(source: Path, tokenizer: PythonTokenizer, dtype: type, target: Path,
                batch_size: int) -> dict[str, Any]:
    tokens = n_bytes = files = 0
    digest = hashlib.sha256()
    tmp = target.with_suffix(".bin.tmp")
    with gzip.open(source, "rt", encoding="utf-8") as lines, open(tmp, "wb") as out, \
            tqdm(desc=f"pack {source.name}", unit="file", mininterval=2) as bar:
        for batch in _batches(lines, batch_size):
            ids = [i for doc in tokenizer.encode_batch(batch) for i in (*doc, tokenizer.eot_id)]
            chunk = np.asarray(ids, dtype=dtype).tobytes()
            out.write(chunk)
            digest.update(chunk)
            tokens += len(ids)
            n_bytes += sum(len(text.encode("utf-8")) for text in batch)
            files += len(batch)
            bar.update(len(batch))
    tmp.replace(target)
    return {"file": target.name, "tokens": tokens, "bytes": n_bytes, "files": files,
            "sha256": digest.hexdigest()}


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(json.loads(line)["text"])
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def read_manifest(shards_dir: str | Path) -> dict[str, Any]:
    path = Path(shards_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"no {MANIFEST_NAME} in {shards_dir}: pack the corpus first "
                         "(pycodesmall-train data pack)") from None
    except json.JSONDecodeError as e:
        raise ShardError(f"{path} is not valid JSON: {e}") from None
    missing = {"dtype", "tokenizer_sha256", "variant", "splits"} - set(manifest)
    if missing:
        raise ShardError(f"{path} lacks {', '.join(sorted(missing))}")
    return manifest


def open_split(shards_dir: str | Path, split: str, verify_sha256: bool = True) -> np.memmap:
    """The token ids of `split` as a read-only memmap, checked against `shards.json`.

    The size check is free and always runs; the sha256 check reads the whole file, so a
    loop that re-opens the memmap for every batch should verify once and then pass
    `verify_sha256=False`.
    """
    manifest = read_manifest(shards_dir)
    entry = manifest["splits"].get(split)
    if entry is None:
        raise ShardError(f"no split {split!r} in {Path(shards_dir) / MANIFEST_NAME}; "
                         f"it has {', '.join(manifest['splits'])}")
    path = Path(shards_dir) / entry["file"]
    dtype = np.dtype(manifest["dtype"])
    expected = entry["tokens"] * dtype.itemsize
    actual = path.stat().st_size if path.exists() else None
    if actual is None:
        raise ShardError(f"shard {path} is missing")
    if actual != expected:
        raise ShardError(f"shard {path} has {actual} bytes but {MANIFEST_NAME} says "
                         f"{entry['tokens']} {dtype.name} tokens ({expected} bytes): "
                         "truncated or from another pack; re-run pycodesmall-train data pack")
    if entry["tokens"] == 0:
        raise ShardError(f"split {split!r} in {shards_dir} is empty: give it packages "
                         "(split fractions in the corpus config) and rebuild")
    if verify_sha256 and sha256_file(path) != entry["sha256"]:
        raise ShardError(f"shard {path} does not match the sha256 in {MANIFEST_NAME}; "
                         "re-run pycodesmall-train data pack")
    return np.memmap(path, dtype=dtype, mode="r")
