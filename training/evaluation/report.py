"""`pycodesmall-train report`: Markdown tables rendered from result files only."""

from __future__ import annotations

from pathlib import Path

import click

from pycodesmall.training.evaluation.code_measures import IDIOMS
from pycodesmall.training.evaluation.error_classes import CATEGORIES
from pycodesmall.training.evaluation.results import RESULTS_ROOT, read_results
from pycodesmall.training.evaluation.tasks.lines import LINE_SCORES

__all__ = ["render_report", "report_command"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _number(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pass_cell(summary: dict, k: int) -> str:
    if f"pass@{k}" not in summary:
        return "–"
    low, high = summary[f"pass@{k}_ci95"]
    return f"{_percent(summary[f'pass@{k}'])} [{_percent(low)}, {_percent(high)}]"


def _functional(results: list[dict]) -> list[str]:
    chosen = [r for r in results if r["task"] == "humaneval" or r["task"].startswith("mbpp")]
    if not chosen:
        return []
    rows = [[r["model"], r["task"], str(r["summary"]["problems"]),
             str(r["summary"]["samples_per_problem"]),
             *(_pass_cell(r["summary"], k) for k in (1, 10, 100))]
            for r in chosen]
    categories = [[r["model"], r["task"],
                   *(_percent(r["summary"]["categories"][c]) for c in CATEGORIES)]
                  for r in chosen]
    return ["## Functional correctness (pass@k, %, 95% bootstrap interval over problems)",
            _table(["model", "task", "problems", "n", "pass@1", "pass@10", "pass@100"], rows),
            "## How samples ended (% of samples)",
            _table(["model", "task", *(c.replace("_", " ") for c in CATEGORIES)], categories)]


def _code_rows(model: str, label: str, code: dict) -> list[str]:
    idioms = code["idioms_per_sample"] or {}
    ended = code.get("ended_on_their_own") or {}  # absent from results before it was measured
    return [model, label, str(code["samples"]), _percent(code.get("cut_by_length_rate")),
            _percent(code["compile_rate"]), _percent(ended.get("compile_rate")),
            _percent(code["indentation_error_rate"]), _percent(ended.get("indentation_error_rate")),
            _percent(code["tab_error_rate"]),
            _percent(code["import_resolution_rate"]), _number(code["pep8_violations_per_line"]),
            *(_number(idioms.get(idiom), 2) for idiom in IDIOMS)]


def _code_measures(results: list[dict]) -> list[str]:
    rows = []
    for r in results:
        if "code" in r["summary"]:
            rows.append(_code_rows(r["model"], r["task"], r["summary"]["code"]))
        elif r["task"] == "syntax":
            rows += [_code_rows(r["model"], f"syntax ({source})", summary)
                     for source, summary in r["summary"]["sources"].items()]
    if not rows:
        return []
    header = ["model", "task", "samples", "cut at the token cap %", "compiles %",
              "compiles % (ended on their own)", "IndentationError+TabError %",
              "IndentationError+TabError % (ended on their own)", "TabError %", "imports resolved %", "PEP 8 per line",
              *(f"{idiom.replace('_', ' ')} per sample" for idiom in IDIOMS)]
    return ["## Generated code: syntax, indentation, imports, style and idioms",
            _table(header, rows)]


def _lines(results: list[dict]) -> list[str]:
    # Results from before the indentation and code parts were kept show "–" there.
    rows = [[r["model"], str(r["summary"]["lines"]),
             *(_percent(r["summary"].get(score)) for score in LINE_SCORES)]
            for r in results if r["task"] == "lines"]
    if not rows:
        return []
    return ["## Line completion (held-out files)",
            _table(["model", "lines", "exact match %", "edit similarity %", "indentation right %",
                    "edit similarity after the indentation %"], rows)]


def _bpb(results: list[dict]) -> list[str]:
    rows = [[r["model"], r["tokenizer"], str(r["summary"]["files"]), str(r["summary"]["bytes"]),
             _number(r["summary"]["bits_per_byte"]), _number(r["summary"]["bytes_per_token"], 2)]
            for r in results if r["task"] == "bpb"]
    if not rows:
        return []
    return ["## Bits per byte (held-out files)",
            _table(["model", "tokenizer", "files", "bytes", "bits per byte", "bytes per token"],
                   rows)]


def _commit(commit: str | None) -> str:
    if commit is None:
        return "unknown"
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def _provenance(results: list[dict]) -> list[str]:
    rows = [[r["model"], r["task"], r["config_sha256"][:16], _commit(r["git_commit"]),
             f"{r['wall_time_s']:.1f}",
             f"{r['hardware'].get('cpu_count')} × {r['hardware'].get('processor')}"]
            for r in results]
    return ["## Provenance",
            _table(["model", "task", "config hash", "commit", "wall time s", "CPUs"], rows)]


def render_report(results: list[dict]) -> str:
    results = sorted(results, key=lambda r: (r["model"], r["task"]))
    sections = (_functional(results) + _code_measures(results) + _lines(results)
                + _bpb(results) + _provenance(results))
    return "# Evaluation results\n\n" + "\n\n".join(sections) + "\n"


@click.command("report")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write the Markdown here instead of standard output.")
def report_command(paths, output):
    """Render result files (or folders of them, default results/models) as Markdown tables."""
    if not paths and not Path(RESULTS_ROOT).is_dir():
        raise click.UsageError(f"no PATHS given and no {RESULTS_ROOT} folder here")
    results = read_results(list(paths) or [RESULTS_ROOT])
    if not results:
        raise click.UsageError("no result files found")
    text = render_report(results)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
