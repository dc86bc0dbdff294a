"""`data build`: every source file through filters, dedup and decontamination into splits.

The pipeline is one pass over the files in source order (stdlib, local, PyPI, Hugging
Face), so memory holds only hashes and MinHash signatures, never the corpus. The first
copy of a duplicate wins, which makes the result deterministic for a given config.

Output, in `output_dir`: `train.jsonl.gz`, `val.jsonl.gz`, `test.jsonl.gz` (one
`{"text", "path", "package", "source"}` object per line) and `build_report.json`.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pycodesmall.training.corpus import licences
from pycodesmall.training.corpus.config import CorpusConfig
from pycodesmall.training.corpus.decontamination import ContaminationIndex
from pycodesmall.training.corpus.dedup import ExactDeduplicator, NearDeduplicator
from pycodesmall.training.corpus.filters import FileFilter, decode, parses
from pycodesmall.training.corpus.notebooks import notebook_to_python
from pycodesmall.training.corpus.sources import Source, SourceFile
from pycodesmall.training.corpus.sources.huggingface import HuggingFaceDataset
from pycodesmall.training.corpus.sources.local import LocalFolder
from pycodesmall.training.corpus.sources.pypi import PyPI
from pycodesmall.training.corpus.sources.stdlib import Stdlib
from pycodesmall.training.corpus.split import SPLITS, assign_split
from pycodesmall.training.provenance import provenance

__all__ = ["build_corpus", "REPORT_NAME"]

REPORT_NAME = "build_report.json"

# Stages in pipeline order; the report counts the files and bytes that pass each one
# (bytes as stored up to `utf8`, then of the text, notebooks converted).
STAGES = ("discovered", "licence", "utf8", "notebooks", "quality", "parse", "exact_dedup",
          "near_dedup", "decontamination")


@dataclass
class _Tally:
    files: int = 0
    bytes: int = 0

    def add(self, n_bytes: int) -> None:
        self.files += 1
        self.bytes += n_bytes


@dataclass
class _Package:
    source: str
    name: str
    split: str
    files_in: int = 0
    files_out: int = 0
    bytes_out: int = 0


@dataclass
class _Stats:
    passed: dict[str, _Tally] = field(default_factory=lambda: {s: _Tally() for s in STAGES})
    dropped: dict[str, _Tally] = field(default_factory=dict)
    notebooks_converted: int = 0
    unparsable_kept: _Tally = field(default_factory=_Tally)
    contaminated: list[dict] = field(default_factory=list)
    packages: dict[str, _Package] = field(default_factory=dict)

    def drop(self, reason: str, n_bytes: int) -> None:
        self.dropped.setdefault(reason, _Tally()).add(n_bytes)


def build_corpus(config: CorpusConfig) -> dict[str, Any]:
    """Build the corpus described by `config`; returns the report it also writes."""
    started = time.time()
    run_record = provenance(config.to_dict())  # taken first: the code that runs, not HEAD at the end
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = _sources(config)
    contamination = ContaminationIndex.from_config(config.decontamination)
    pipeline = _Pipeline(config, contamination)
    writers = {s: gzip.open(out / f"{s}.jsonl.gz.tmp", "wt", encoding="utf-8", compresslevel=6)
               for s in SPLITS}
    try:
        with tqdm(desc="corpus files", unit="file", mininterval=2) as bar:
            for source in sources:
                for file in source.files():
                    bar.update()
                    row = pipeline.process(file)
                    if row is not None:
                        split, record = row
                        writers[split].write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        for w in writers.values():
            w.close()
    for s in SPLITS:
        (out / f"{s}.jsonl.gz.tmp").replace(out / f"{s}.jsonl.gz")
    report = {**run_record, "wall_time_s": round(time.time() - started, 1),
              **_counts(config, sources, pipeline.stats, contamination)}
    (out / REPORT_NAME).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def _sources(config: CorpusConfig) -> list[Source]:
    s = config.sources
    found: list[Source] = [Stdlib(s.stdlib)] if s.stdlib.enabled else []
    found += [LocalFolder(local) for local in s.local]
    if s.pypi_manifest:
        found.append(PyPI(s.pypi_manifest, s.pypi_cache))
    found += [HuggingFaceDataset(hf) for hf in s.huggingface]
    return found


class _Pipeline:
    def __init__(self, config: CorpusConfig, contamination: ContaminationIndex):
        self.config = config
        self.quality = FileFilter(config.filters)
        self.exact = ExactDeduplicator()
        self.near = NearDeduplicator(config.dedup)
        self.contamination = contamination
        self.stats = _Stats()

    def process(self, file: SourceFile) -> tuple[str, dict] | None:
        """(split, JSONL record) for a file that stays in the corpus, else None (counted)."""
        stats, key = self.stats, file.package_key
        package = stats.packages.get(key)
        if package is None:
            package = stats.packages[key] = _Package(
                file.source, file.package, assign_split(key, self.config.split))
        package.files_in += 1
        text = self._filtered_text(file)
        if text is None:
            return None
        n_bytes = len(text.encode("utf-8"))
        found = self.contamination.match(text)
        if found is not None:
            stats.drop("contaminated", n_bytes)
            stats.contaminated.append({"source": file.source, "package": file.package,
                                       "path": file.path, "tasks": list(found.tasks),
                                       "ngram": found.ngram})
            return None
        stats.passed["decontamination"].add(n_bytes)
        package.files_out += 1
        package.bytes_out += n_bytes
        return package.split, {"text": text, "path": file.path, "package": file.package,
                               "source": file.source}

    def _filtered_text(self, file: SourceFile) -> str | None:
        """The file's text if it passes every filter and both dedups; counts where it stops."""
        stats, passed = self.stats, self.stats.passed
        size = len(file.data)
        passed["discovered"].add(size)
        verdict = licences.classify(file.licence)
        if verdict != licences.PERMISSIVE:
            stats.drop(f"licence_{verdict}", size)
            return None
        passed["licence"].add(size)
        text = decode(file.data)
        if text is None:
            stats.drop("non_utf8", size)
            return None
        passed["utf8"].add(size)
        if file.path.endswith(".ipynb"):
            try:
                text = notebook_to_python(text)
            except ValueError:
                stats.drop("bad_notebook", size)
                return None
            stats.notebooks_converted += 1
        size = len(text.encode("utf-8"))
        passed["notebooks"].add(size)
        reason = self.quality.reject_reason(file.path, text)
        if reason is not None:
            stats.drop(reason, size)
            return None
        passed["quality"].add(size)
        if not parses(text):
            if self.config.filters.drop_unparsable:
                stats.drop("unparsable", size)
                return None
            stats.unparsable_kept.add(size)
        passed["parse"].add(size)
        if self.exact.is_duplicate(text):
            stats.drop("exact_duplicate", size)
            return None
        passed["exact_dedup"].add(size)
        if self.near.is_duplicate(text):
            stats.drop("near_duplicate", size)
            return None
        passed["near_dedup"].add(size)
        return text


def _counts(config: CorpusConfig, sources: list[Source], stats: _Stats,
            contamination: ContaminationIndex) -> dict[str, Any]:
    splits = {s: {"files": 0, "bytes": 0, "packages": 0} for s in SPLITS}
    for p in stats.packages.values():
        if p.files_out:
            splits[p.split]["files"] += p.files_out
            splits[p.split]["bytes"] += p.bytes_out
            splits[p.split]["packages"] += 1
    by_source = Counter()
    for p in stats.packages.values():
        by_source[p.source] += p.bytes_out
    return {
        "sources": [record for source in sources for record in source.provenance()],
        "stages": {name: vars(t) for name, t in stats.passed.items()},
        "dropped": {reason: vars(t) for reason, t in sorted(stats.dropped.items())},
        "unparsable_kept": vars(stats.unparsable_kept),
        "notebooks_converted": stats.notebooks_converted,
        "decontamination": {
            "ngram": config.decontamination.ngram,
            "indexed_ngrams": len(contamination),
            "skipped_ngrams": contamination.skipped,
            "dropped_files": stats.contaminated,
        },
        "bytes_by_source": dict(sorted(by_source.items())),
        "splits": splits,
        "packages": {key: {"split": p.split, "files_in": p.files_in, "files_out": p.files_out,
                           "bytes_out": p.bytes_out}
                     for key, p in sorted(stats.packages.items())},
    }

