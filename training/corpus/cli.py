"""`pycodesmall-train data build|pack`: the command-line face of the corpus builder."""

from __future__ import annotations

import json

import click

from pycodesmall.errors import PycodesmallError

__all__ = ["data"]


@click.group()
def data() -> None:
    """Build the training corpus (sources, filters, dedup, splits) and pack it into token shards."""


@data.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Corpus config TOML (e.g. training/configs/corpus.toml).")
@click.option("--output-dir", default=None, help="Override the config's output_dir.")
def build(config_path: str, output_dir: str | None) -> None:
    """Build train/val/test JSONL splits and build_report.json from a corpus config."""
    from pycodesmall.training.corpus.build import REPORT_NAME, build_corpus
    from pycodesmall.training.corpus.config import load_config

    try:
        config = load_config(config_path, output_dir=output_dir)
        report = build_corpus(config)
    except PycodesmallError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps({"splits": report["splits"], "wall_time_s": report["wall_time_s"]}))
    click.echo(f"report: {config.output_dir}/{REPORT_NAME}")


@data.command()
@click.option("--corpus", "corpus_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder of `data build`.")
@click.option("--tokenizer", "tokenizer_path", required=True, type=click.Path(),
              help="tokenizer.json (or the folder holding it).")
@click.option("--out", "out_dir", required=True, help="Folder for the .bin shards and shards.json.")
@click.option("--batch-size", default=256, show_default=True, help="Files per encode_batch call.")
def pack(corpus_dir: str, tokenizer_path: str, out_dir: str, batch_size: int) -> None:
    """Tokenize each split into a flat memory-mapped .bin file plus shards.json."""
    from pycodesmall.training.corpus.shards import pack_corpus

    try:
        manifest = pack_corpus(corpus_dir, tokenizer_path, out_dir, batch_size)
    except PycodesmallError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps({s: {k: v[k] for k in ("tokens", "bytes", "files")}
                           for s, v in manifest["splits"].items()}))
