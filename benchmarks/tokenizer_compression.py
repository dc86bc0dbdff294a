"""Bytes per token and encode cost of every tokenizer variant and vocabulary (issue #14).

    python benchmarks/tokenizer_compression.py                     # every data/tok*/, about 4 minutes
    python benchmarks/tokenizer_compression.py data/tok-bpe-4096 data/tok-ast-4096
    python benchmarks/tokenizer_compression.py --quick --out /tmp/tokenizer_compression.json

Tokenizers are the directories given, else every data/tok*/ with a tokenizer.json, each
named `variant-vocab_size` from the `config` of its tokenizer_report.json (data/tok is
indent-8192). The study's models are compared in bits per byte, so a tokenizer's
compression does not decide between them; it sets how many tokens, and so how many decoding
steps, a completion of a given length costs: characters per second of generation are bytes
per token times tokens per second, which other benchmarks measure.

Corpora, every file counted once:
- `stdlib`: the .py files of this interpreter's standard library as the corpus build walks
  it (`training.corpus.sources.stdlib`), without the test directories (`test`, `tests`,
  `idle_test`: 60% of its bytes, deliberately odd code and data literals); files that are
  not UTF-8 are skipped. Most of these bytes are in the corpus's train split, which the
  tokenizers were trained on: the result records each split's share. In-sample compression.
- `test`: the corpus's test split (held-out packages), all of it unless `--test-files`.

Measures, per tokenizer and corpus:
- bytes per token: UTF-8 bytes of the sources over the ids of `PythonTokenizer.encode` (no
  end-of-document id), summed over files, with a 95% percentile bootstrap interval that
  resamples files (the test split has few packages, so the interval says how precisely
  these files are measured, not how far it carries to other packages);
- the paired ratio of bytes per token to each variant earlier in (bpe, indent, ast) at the
  same vocabulary, on the same resamples: below 1, the variant needs more tokens;
- the share of ids that are each marker token (indentation and statement markers).

Encode cost, on a seeded subset of test files of about `--timing-mb` MB (1 MB = 10^6 bytes):
seconds per MB of `tokenizer.transform` per variant (the Python step alone, as `encode`
calls it) and of the whole `PythonTokenizer.encode` per tokenizer, the median of `--repeats`
passes, in wall time (perf_counter) and process CPU time. The build machine runs training
beside this: absolute times are pessimistic (load averages are recorded), ratios between
variants are what count.

Writes benchmarks/results/tokenizer_compression.json (see `--out`; `--quick` writes only
where `--out` says).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from pycodesmall import indentation
from pycodesmall.tokenizer import VARIANTS, PythonTokenizer, transform
from pycodesmall.training.corpus.config import StdlibSource
from pycodesmall.training.corpus.sources.stdlib import Stdlib
from pycodesmall.training.data_loader import tokenizer_sha256
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
TEST_DIRS = {"test", "tests", "idle_test"}
MARKER_NAMES = {indentation.INDENT4: "INDENT4", indentation.INDENT: "INDENT",
                indentation.DEDENT: "DEDENT", indentation.ESCAPE: "ESCAPE",
                **dict(zip(indentation.MARKERS[4:], indentation.STATEMENT_TYPES, strict=True))}
QUICK = {"test_files": 100, "stdlib_files": 100, "timing_mb": 0.3, "repeats": 2, "bootstrap": 200}


@dataclass
class Corpus:
    name: str
    texts: list[str]
    file_bytes: np.ndarray  # UTF-8 bytes per file
    info: dict


@dataclass
class Entry:
    name: str  # variant-vocab_size
    path: Path
    variant: str
    vocab_size: int
    tokenizer: PythonTokenizer
    marker_ids: dict[str, int]  # marker name -> id, for the markers this vocabulary holds


# ----------------------------------------------------------------------------- inputs

def load_entry(path: Path) -> Entry:
    """A tokenizer directory, named by the config it was trained with; fails if the file
    disagrees (a directory whose report belongs to another tokenizer)."""
    config = json.loads((path / "tokenizer_report.json").read_text())["config"]
    tokenizer = PythonTokenizer.from_file(path)
    assert (tokenizer.variant, tokenizer.vocab_size) == (config["variant"], config["vocab_size"]), path
    raw = Tokenizer.from_file(str(path / "tokenizer.json"))
    ids = {name: raw.token_to_id(marker) for marker, name in MARKER_NAMES.items()}
    return Entry(f"{config['variant']}-{config['vocab_size']}", path, config["variant"], config["vocab_size"],
                 tokenizer, {name: i for name, i in ids.items() if i is not None})


def discover() -> list[Path]:
    return [p.parent for p in sorted((ROOT / "data").glob("tok*/tokenizer.json"))]


def corpus(name: str, texts: list[str], info: dict) -> Corpus:
    sizes = np.array([len(t.encode("utf-8")) for t in texts], dtype=np.int64)
    return Corpus(name, texts, sizes, {**info, "files": len(texts), "bytes": int(sizes.sum())})


def load_stdlib(sample: int | None, seed: int, build_report: Path) -> Corpus:
    """The stdlib's .py files outside test directories, as the module docstring says."""
    stdlib = Stdlib(StdlibSource())
    packages = json.loads(build_report.read_text())["packages"] if build_report.exists() else {}
    files, excluded, undecodable = [], 0, 0  # (text, the corpus split of its package)
    for source in stdlib.files():
        if not source.path.endswith(".py"):
            continue
        if TEST_DIRS & set(source.path.split("/")[:-1]):
            excluded += 1
            continue
        try:
            text = source.data.decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
            continue
        files.append((text, packages.get(source.package_key, {}).get("split", "not in corpus")))
    if sample and sample < len(files):
        files = [files[i] for i in sorted(random.Random(f"{seed}:stdlib").sample(range(len(files)), sample))]
    split_bytes = Counter()
    for text, split in files:
        split_bytes[split] += len(text.encode("utf-8"))
    total = sum(split_bytes.values())
    return corpus("stdlib", [text for text, _ in files], {
        "root": str(stdlib.root), "excluded_test_dir_files": excluded, "skipped_not_utf8": undecodable,
        "sampled": bool(sample),
        "corpus_split_byte_share": {k: round(v / total, 4) for k, v in sorted(split_bytes.items())}})


def load_test_split(path: Path, sample: int | None, seed: int) -> Corpus:
    texts = [f.text for f in load_corpus_files(path, None, sample, seed)]
    return corpus("test", texts, {"path": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                                  "sampled": bool(sample), "seed": seed})


# ----------------------------------------------------------------------------- measures

def resample_weights(files: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, files): how often each file is drawn in each bootstrap resample; one
    matrix per corpus, shared by every tokenizer, so that ratios are paired."""
    picks = rng.integers(0, files, size=(resamples, files))
    weights = np.zeros((resamples, files))
    np.add.at(weights, (np.arange(resamples)[:, None], picks), 1)
    return weights


def ratio_of_sums(numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray) -> dict:
    """sum(numerator) / sum(denominator) over files, with its 95% bootstrap interval."""
    low, high = np.percentile((weights @ numerator) / (weights @ denominator), [2.5, 97.5])
    return {"value": round(float(numerator.sum() / denominator.sum()), 4),
            "ci95": [round(float(low), 4), round(float(high), 4)]}


def count_tokens(entry: Entry, texts: list[str]) -> tuple[np.ndarray, dict[str, int]]:
    """Ids per file from `encode`, and how many of all the ids are each marker."""
    tokens, counts = np.zeros(len(texts), dtype=np.int64), np.zeros(entry.vocab_size, dtype=np.int64)
    for i, text in enumerate(texts):
        ids = entry.tokenizer.encode(text)
        tokens[i] = len(ids)
        counts += np.bincount(ids, minlength=entry.vocab_size)
    return tokens, {name: int(counts[i]) for name, i in entry.marker_ids.items()}


def seconds_per_mb(encode, texts: list[str], repeats: int) -> dict:
    """Median over `repeats` passes over `texts` of wall and process CPU seconds per 10^6 bytes."""
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for text in texts:
            encode(text)
        wall.append((time.perf_counter() - w0) / mb)
        cpu.append((time.process_time() - c0) / mb)
    return {"wall_s_per_mb": round(statistics.median(wall), 4), "cpu_s_per_mb": round(statistics.median(cpu), 4),
            "wall_passes": [round(x, 4) for x in wall], "load_average_1min_after": os.getloadavg()[0]}


def timing_subset(test: Corpus, megabytes: float, seed: int) -> list[str]:
    """Seeded test files, whole, until about `megabytes` MB."""
    order = random.Random(f"{seed}:timing").sample(range(len(test.texts)), len(test.texts))
    chosen, size = [], 0
    for i in order:
        if size >= megabytes * 1e6:
            break
        chosen.append(test.texts[i])
        size += int(test.file_bytes[i])
    return chosen


def compare(entries: list[Entry], corpora: list[Corpus], tokens: dict, markers: dict, weights: dict) -> dict:
    """Per tokenizer and corpus: tokens, bytes per token, ratios to earlier variants at the
    same vocabulary, marker shares."""
    out = {}
    for entry in entries:
        earlier = [e for e in entries if e.vocab_size == entry.vocab_size
                   and VARIANTS.index(e.variant) < VARIANTS.index(entry.variant)]
        out[entry.name] = {}
        for c in corpora:
            mine, total = tokens[entry.name, c.name], int(tokens[entry.name, c.name].sum())
            out[entry.name][c.name] = {
                "tokens": total,
                "bytes_per_token": ratio_of_sums(c.file_bytes, mine, weights[c.name]),
                # bytes/token of this variant over the other's, same bytes: their tokens over ours
                "bytes_per_token_ratio_to": {e.name: ratio_of_sums(tokens[e.name, c.name], mine, weights[c.name])
                                             for e in earlier},
                "marker_share": {name: round(n / total, 5) for name, n in markers[entry.name, c.name].items()},
            }
    return out


# ----------------------------------------------------------------------------- report

def table(result: dict) -> str:
    corpora = list(result["corpora"])
    head = "".join(f"  {c + ' bytes/token [95%]':>26}" for c in corpora)
    lines = [f"{'tokenizer':<14}{head}  {'encode MB/s':>11}"]
    for name, r in result["tokenizers"].items():
        cells = "".join(f"  {r[c]['bytes_per_token']['value']:>9.3f} "
                        f"[{r[c]['bytes_per_token']['ci95'][0]:.3f}, {r[c]['bytes_per_token']['ci95'][1]:.3f}]"
                        for c in corpora)
        lines.append(f"{name:<14}{cells}  {1 / result['encode'][name]['wall_s_per_mb']:>11.2f}")
    for name, r in result["tokenizers"].items():
        for other in r[corpora[0]]["bytes_per_token_ratio_to"]:
            cells = []
            for c in corpora:
                ratio = r[c]["bytes_per_token_ratio_to"][other]
                cells.append(f"{c} {ratio['value']:.4f} [{ratio['ci95'][0]:.4f}, {ratio['ci95'][1]:.4f}] "
                             f"({100 * (1 / ratio['value'] - 1):+.1f}% tokens)")
            lines.append(f"{name} / {other} bytes/token: " + ", ".join(cells))
    for variant, t in result["transform"].items():
        lines.append(f"transform {variant}: {1 / t['wall_s_per_mb']:.2f} MB/s wall, {1 / t['cpu_s_per_mb']:.2f} CPU")
    for name, r in result["tokenizers"].items():
        statements = {m: s for m, s in r["test"]["marker_share"].items() if m in indentation.STATEMENT_TYPES}
        if statements:
            parts = ", ".join(f"{m} {100 * s:.2f}%" for m, s in statements.items())
            lines.append(f"{name} statement markers on test: {100 * sum(statements.values()):.2f}% of ids ({parts})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tokenizers", nargs="*", type=Path, help="tokenizer directories (default: data/tok*/)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus" / "test.jsonl.gz")
    parser.add_argument("--test-files", type=int, default=None, help="a seeded sample of the test split")
    parser.add_argument("--stdlib-files", type=int, default=None, help="a seeded sample of the stdlib files")
    parser.add_argument("--timing-mb", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help=f"development settings: {QUICK}")
    parser.add_argument("--note", default="", help="recorded in the results, e.g. what else ran on the machine")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: benchmarks/results/tokenizer_compression.json (none with --quick)")
    args = parser.parse_args()
    if args.quick:
        vars(args).update(QUICK)
    out = args.out or (None if args.quick else ROOT / "benchmarks" / "results" / "tokenizer_compression.json")
    started = time.perf_counter()
    entries = sorted((load_entry(p) for p in args.tokenizers or discover()),
                     key=lambda e: (e.vocab_size, VARIANTS.index(e.variant)))
    config = {"tokenizers": [e.name for e in entries], "test_files": args.test_files,
              "stdlib_files": args.stdlib_files, "timing_mb": args.timing_mb, "repeats": args.repeats,
              "bootstrap": args.bootstrap, "bootstrap_unit": "file", "seed": args.seed}
    record = provenance(config)
    corpora = [load_stdlib(args.stdlib_files, args.seed, args.corpus.parent / "build_report.json"),
               load_test_split(args.corpus, args.test_files, args.seed)]
    for c in corpora:
        print(f"{c.name}: {c.info['files']} files, {c.info['bytes'] / 1e6:.1f} MB", flush=True)
    rng = np.random.default_rng(args.seed)
    weights = {c.name: resample_weights(len(c.texts), args.bootstrap, rng) for c in corpora}
    tokens, markers = {}, {}
    for entry in entries:
        for c in corpora:
            tokens[entry.name, c.name], markers[entry.name, c.name] = count_tokens(entry, c.texts)
            print(f"{entry.name} {c.name}: {c.info['bytes'] / tokens[entry.name, c.name].sum():.3f} bytes/token "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)
    subset = timing_subset(corpora[1], args.timing_mb, args.seed)
    variants = sorted({e.variant for e in entries} - {"bpe"}, key=VARIANTS.index)
    transform_cost = {v: seconds_per_mb(lambda s, v=v: transform(s, v), subset, args.repeats) for v in variants}
    encode_cost = {e.name: seconds_per_mb(e.tokenizer.encode, subset, args.repeats) for e in entries}
    print(f"timed on {len(subset)} files ({time.perf_counter() - started:.0f}s)", flush=True)
    result = {
        **record,
        "note": args.note,
        "corpora": {c.name: c.info for c in corpora},
        "tokenizer_files": {e.name: {"path": str(e.path.relative_to(ROOT) if e.path.is_relative_to(ROOT) else e.path),
                                     "sha256": tokenizer_sha256(e.path)} for e in entries},
        "tokenizers": compare(entries, corpora, tokens, markers, weights),
        "timing_subset": {"files": len(subset), "bytes": sum(len(t.encode("utf-8")) for t in subset)},
        "transform": transform_cost,
        "encode": encode_cost,
        "load_average_at_end": os.getloadavg(),
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    print(table(result))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"-> {out} ({result['wall_time_s']}s)")


if __name__ == "__main__":
    sys.exit(main())
