"""Evaluation tasks by name. Each is `evaluate(config, generate, scorer) -> TaskResult`:
generative tasks use `generate` (see `generation.py`), `bpb` uses `scorer`."""

from pycodesmall.training.evaluation.tasks import bpb, humaneval, lines, mbpp, syntax

__all__ = ["TASKS"]

TASKS = {"humaneval": humaneval.evaluate, "mbpp": mbpp.evaluate, "syntax": syntax.evaluate,
         "lines": lines.evaluate, "bpb": bpb.evaluate}
