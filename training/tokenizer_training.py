"""`pycodesmall-train tokenizer`: train a tokenizer variant on the corpus's train split.

    pycodesmall-train tokenizer --corpus data/corpus --variant indent --vocab-size 8192 \\
        --out data/tokenizers/indent-8192

Reads the `build` output (`train.jsonl.gz`, `val.jsonl.gz`: one JSON object with a "text"
per line) as a stream, saves `tokenizer.json` and writes `tokenizer_report.json` with bytes
per token on the validation split (the tokenizers' compression, to compare variants) and
the provenance every result file records.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path

import click

from pycodesmall.errors import PycodesmallError
from pycodesmall.tokenizer import VARIANTS, PythonTokenizer
from pycodesmall.training.data_loader import tokenizer_sha256
from pycodesmall.training.provenance import provenance

__all__ = ["read_texts", "train_tokenizer", "tokenizer_command"]


class CorpusError(PycodesmallError):
    """A corpus directory without the expected split files, or with malformed lines."""


def read_texts(corpus_dir: str | Path, split: str) -> Iterator[str]:
    """The "text" of every record of a split of a `build` output, streamed."""
    path = Path(corpus_dir) / f"{split}.jsonl.gz"
    if not path.exists():
        raise CorpusError(f"no {path.name} in {corpus_dir}: run `pycodesmall-train data build` first")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                yield json.loads(line)["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise CorpusError(f"{path}:{number} is not a JSON object with a 'text' field") from None


def train_tokenizer(corpus_dir: str | Path, variant: str, vocab_size: int, out_dir: str | Path) -> dict:
    """Train, save tokenizer.json into `out_dir`, and return (and save) the report."""
    t_start = time.time()
    settings = {"corpus": str(corpus_dir), "variant": variant, "vocab_size": vocab_size}
    record = provenance(settings)
    counts = {"files": 0, "bytes": 0}

    def train_texts() -> Iterator[str]:
        for text in read_texts(corpus_dir, "train"):
            counts["files"] += 1
            counts["bytes"] += len(text.encode("utf-8"))
            yield text

    tokenizer = PythonTokenizer.train(train_texts(), variant=variant, vocab_size=vocab_size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(out_dir)

    val = {"files": 0, "bytes": 0, "tokens": 0}
    for text in read_texts(corpus_dir, "val"):
        val["files"] += 1
        val["bytes"] += len(text.encode("utf-8"))
        val["tokens"] += len(tokenizer.encode(text))
    if not val["tokens"]:
        raise CorpusError(f"the validation split of {corpus_dir} is empty: cannot measure bytes per token")
    report = {
        **record,
        "tokenizer_sha256": tokenizer_sha256(out_dir),
        "vocab_size": tokenizer.vocab_size,
        "train": counts,
        "val": {**val, "bytes_per_token": val["bytes"] / val["tokens"]},
        "wall_time_s": time.time() - t_start,
    }
    (out_dir / "tokenizer_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


@click.command()
@click.option("--corpus", required=True, type=click.Path(file_okay=False),
              help="Output directory of `pycodesmall-train data build`.")
@click.option("--variant", required=True, type=click.Choice(VARIANTS))
@click.option("--vocab-size", required=True, type=click.IntRange(min=1))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for tokenizer.json and tokenizer_report.json.")
def tokenizer_command(corpus: str, variant: str, vocab_size: int, out_dir: str) -> None:
    """Train a tokenizer on the train split and report bytes per token on the validation split."""
    try:
        report = train_tokenizer(corpus, variant, vocab_size, out_dir)
    except PycodesmallError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{variant} tokenizer, {report['vocab_size']} ids: {report['val']['bytes_per_token']:.3f} "
               f"bytes per token on {report['val']['files']} validation files -> {out_dir}")
