"""`pycodesmall-train study run PLAN.toml` and `pycodesmall-train study report`.

    pycodesmall-train study run training/study/size_sweep.toml --dry-run
    pycodesmall-train study run training/study/size_sweep.toml [--only lr_sweep]
    pycodesmall-train study report

Paths in a plan are relative to the repository root, and so are the data paths of the
training configs it names: run these from the repository root.
"""

from __future__ import annotations

from pathlib import Path

import click

from pycodesmall.errors import PycodesmallError
from pycodesmall.training.study.plan import load_plan

__all__ = ["study"]


@click.group()
def study() -> None:
    """Run a scaling-study plan and write its report."""


@study.command("run")
@click.argument("plan_path", metavar="PLAN", type=click.Path(exists=True, dir_okay=False))
@click.option("--only", default=None, help="Run only this experiment of the plan.")
@click.option("--dry-run", is_flag=True, help="Print runs, parameters, tokens, FLOPs and hours; train nothing.")
def run_command(plan_path: str, only: str | None, dry_run: bool) -> None:
    """Train and evaluate every point of PLAN not yet in its results."""
    try:
        plan = load_plan(plan_path)
        if dry_run:
            from pycodesmall.training.study.dry_run import dry_run as estimate
            text, _ = estimate(plan, only)
            click.echo(text)
            return
        from pycodesmall.training.study.runner import run_plan
        for path in run_plan(plan, only, echo=click.echo):
            click.echo(f"wrote {path}")
    except PycodesmallError as e:
        raise click.ClickException(str(e)) from None


@study.command("report")
@click.option("--results", "results_dir", default="results/study", show_default=True,
              type=click.Path(file_okay=False), help="The study's results folder.")
@click.option("--bootstraps", default=400, show_default=True, type=click.IntRange(min=20),
              help="Resamples behind the scaling fits' 95% intervals (the tokenizer comparison's paired file bootstrap always takes 2000).")
def report_command(results_dir: str, bootstraps: int) -> None:
    """Write REPORT.md, fits.json and the figures from the result files."""
    from pycodesmall.training.study.report import write_report
    results = Path(results_dir)
    write_report(results, results / "REPORT.md", bootstraps=bootstraps)
    click.echo(str(results / "REPORT.md"))
