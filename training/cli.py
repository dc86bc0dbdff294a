"""`pycodesmall-train`: one command group for every step of the study.

Subcommands are imported only when invoked, so `pycodesmall-train --help` stays fast and a
missing optional dependency only affects the step that needs it.
"""

from __future__ import annotations

import importlib

import click

# name -> (module relative to pycodesmall.training, attribute, one-line help)
_COMMANDS = {
    "data": ("corpus.cli", "data", "Build the training corpus (sources, filters, dedup, splits, shards)."),
    "tokenizer": ("tokenizer_training", "tokenizer_command", "Train a tokenizer variant on the corpus."),
    "train": ("train", "train_command", "Train a model from a TOML config."),
    "eval": ("evaluation.cli", "eval_command", "Evaluate a model on HumanEval, MBPP and more."),
    "report": ("evaluation.report", "report_command", "Render result files into tables."),
    "release": ("release", "release_command", "Bundle a trained model, record it, write its card."),
    "card": ("release", "card_command", "Re-render a model card (and README figures) from result files."),
    "study": ("study.cli", "study", "Run a scaling-study plan and write its report."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_COMMANDS)

    def get_command(self, ctx, name):
        if name not in _COMMANDS:
            return None
        module, attribute, _ = _COMMANDS[name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)

    def format_commands(self, ctx, formatter):
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="pycodesmall")
def main() -> None:
    """Build, train and evaluate pycodesmall models."""
