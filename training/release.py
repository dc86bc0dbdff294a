"""`pycodesmall-train release`: turn a finished training run into a released model.

Converts the run's exported model to half precision, bundles it inside the package (or
writes it to a folder for the Hub), generates a few unedited samples with it, records
everything in `results/models/<name>/release.json` and renders the model card from that
record. The card is data-driven: `pycodesmall-train card` re-renders it from the JSON
(`--readme README.md`: the README's generated figures too).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from pycodesmall.api import DEFAULT_REPETITION_PENALTY, complete
from pycodesmall.errors import ConfigError, PycodesmallError
from pycodesmall.hub import bundled_path
from pycodesmall.pretrained import CodeModel

from .corpus.checksums import sha256_file
from .model_card import render_card
from .provenance import provenance
from .readme_blocks import RELEASED as README_MODEL
from .readme_blocks import update_readme

__all__ = ["release", "release_command", "card_command", "SAMPLE_PROMPTS", "SAMPLE_SAMPLING"]

MAX_BUNDLED_BYTES = 20 * 1024 * 1024
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}

# Prompts for the card's samples: fixed, so that releases can be compared.
SAMPLE_PROMPTS = [
    "def fibonacci(n):\n",
    "import os\n\n\ndef list_python_files(directory):\n    \"\"\"Return the paths of all .py files below directory.\"\"\"\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
    "def is_palindrome(s: str) -> bool:\n",
    "with open(path) as f:\n",
]
# How the samples are decoded: greedy, with the repetition penalty that `complete()` applies
# by default, so that they show what a user of `complete(prompt, temperature=0)` gets.
SAMPLE_SAMPLING = {"temperature": 0.0, "repetition_penalty": DEFAULT_REPETITION_PENALTY}


def release(run_dir: Path, name: str, dtype: str, out_dir: Path, corpus_report: Path | None,
            results_dir: Path, corpus_config: Path, train_config: Path) -> dict:
    run = json.loads((run_dir / "run.json").read_text())
    model = CodeModel.from_directory(run_dir / "model", name=name, device="cpu", backend="torch")
    model.save_pretrained(out_dir, dtype=DTYPES[dtype])
    size = sum(f.stat().st_size for f in out_dir.iterdir() if f.is_file())
    if out_dir == bundled_path(name) and size > MAX_BUNDLED_BYTES:
        raise ConfigError(f"{name} takes {size / 2**20:.1f} MiB; a bundled model may take at most "
                          f"{MAX_BUNDLED_BYTES / 2**20:.0f} MiB: publish it on the Hub instead")
    released = CodeModel.from_directory(out_dir, name=name, device="cpu", backend="torch")
    samples = []
    for prompt in SAMPLE_PROMPTS:
        result = complete(prompt, model=released, max_new_tokens=min(96, released.context_length // 2),
                          **SAMPLE_SAMPLING)
        samples.append({"prompt": prompt, "completion": result.text, "valid": result.valid,
                        "raw_completion": result.raw_text, "finish_reason": result.finish_reason})
    record = {
        **provenance({"run": str(run_dir), "name": name, "dtype": dtype}),
        "name": name,
        "dtype": dtype,
        "files": {f.name: {"bytes": f.stat().st_size, "sha256": sha256_file(f)}
                  for f in sorted(out_dir.iterdir()) if f.is_file()},
        "parameters": released.module.num_parameters(),
        "tokenizer": {"variant": released.tokenizer.variant, "vocab_size": released.tokenizer.vocab_size},
        "training": {k: run.get(k) for k in ("config", "config_sha256", "git_commit", "hardware",
                                             "steps", "tokens", "val_loss", "val_bpb_approx", "precision",
                                             "wall_time_s", "world_size")},
        "corpus": _corpus_summary(corpus_report),
        "commands": _commands(run["config"], released.tokenizer, corpus_config, train_config,
                              run_dir, name, dtype),
        "sampling": SAMPLE_SAMPLING,
        "samples": samples,
    }
    target = results_dir / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "release.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _commands(config: dict, tokenizer, corpus_config: Path, train_config: Path, run_dir: Path,
              name: str, dtype: str) -> list[str]:
    """The commands that rebuild this release from nothing, in order."""
    data = config["data"]
    corpus_dir = Path(data["shards"]).parent / "corpus"
    return [
        f"pycodesmall-train data build --config {corpus_config} --output-dir {corpus_dir}",
        f"pycodesmall-train tokenizer --corpus {corpus_dir} --variant {tokenizer.variant} "
        f"--vocab-size {tokenizer.vocab_size} --out {data['tokenizer']}",
        f"pycodesmall-train data pack --corpus {corpus_dir} --tokenizer {data['tokenizer']}/tokenizer.json "
        f"--out {data['shards']}",
        f"pycodesmall-train train --config {train_config} output.dir={run_dir}",
        f"pycodesmall-train release --run {run_dir} --name {name} --dtype {dtype} "
        f"--corpus-config {corpus_config} --train-config {train_config}",
    ]


def _corpus_summary(report_path: Path | None) -> dict | None:
    if report_path is None or not report_path.is_file():
        return None
    report = json.loads(report_path.read_text())
    return {"report": str(report_path), "config_sha256": report.get("config_sha256"),
            "splits": report.get("splits"), "bytes_by_source": report.get("bytes_by_source"),
            "sources": len(report.get("sources", [])),
            "decontamination_dropped": len(report.get("decontamination", {}).get("dropped_files", []))}


@click.command("release")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A finished training run (holding run.json and model/).")
@click.option("--name", default="pycodesmall-tiny", show_default=True)
@click.option("--dtype", type=click.Choice(sorted(DTYPES)), default="fp16", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the model; default: bundled inside the package.")
@click.option("--corpus-report", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("results/corpus/build_report.json"), show_default=True)
@click.option("--corpus-config", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("training/configs/corpus.toml"), show_default=True,
              help="The corpus config the run's data came from (for the card's commands).")
@click.option("--train-config", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("training/configs/tiny.toml"), show_default=True,
              help="The training config of the run (for the card's commands).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/models"), show_default=True)
@click.option("--cards", "cards_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("model_cards"), show_default=True)
def release_command(run_dir, name, dtype, out_dir, corpus_report, corpus_config, train_config,
                    results_dir, cards_dir):
    """Bundle (or export) a trained model, record it and write its model card."""
    try:
        record = release(run_dir, name, dtype, out_dir or bundled_path(name), corpus_report,
                         results_dir, corpus_config, train_config)
    except PycodesmallError as e:
        raise click.ClickException(str(e)) from None
    card = _write_card(record, results_dir, cards_dir)
    click.echo(f"released {name}: {sum(f['bytes'] for f in record['files'].values()) / 2**20:.1f} MiB, "
               f"card {card}")


@click.command("card")
@click.option("--name", default="pycodesmall-tiny", show_default=True)
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/models"), show_default=True)
@click.option("--cards", "cards_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("model_cards"), show_default=True)
@click.option("--readme", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help=f"Also rewrite this README's generated blocks (about {README_MODEL}, whatever "
                   "--name is) from the result files of the repository it is at the root of.")
def card_command(name, results_dir, cards_dir, readme):
    """Re-render a model card from its release record and evaluation results, and README figures."""
    path = results_dir / name / "release.json"
    if not path.is_file():
        raise click.ClickException(f"no release record at {path}: run `pycodesmall-train release` first")
    click.echo(str(_write_card(json.loads(path.read_text()), results_dir, cards_dir)))
    if readme is not None:
        try:
            click.echo(str(update_readme(readme)))
        except PycodesmallError as e:
            raise click.ClickException(str(e)) from None


def _write_card(record: dict, results_dir: Path, cards_dir: Path) -> Path:
    cards_dir.mkdir(parents=True, exist_ok=True)
    evaluations = sorted((results_dir / record["name"]).glob("eval_*.json"))
    card = cards_dir / f"{record['name']}.md"
    card.write_text(render_card(record, [json.loads(p.read_text()) for p in evaluations]))
    return card
