"""HumanEval (Chen et al. 2021): 164 functions to complete from signature and docstring.

The prompt is the problem's prompt as given; the completion is the function body, stopped
at the end of the block or at the top-level starts the Codex paper stops at. The prompt is
also the tests' helpers: three checks call a function it defines (`poly`, `encode_cyclic`,
`encode_shift`), and the judge takes those from the prompt, not from the solution.
"""

from __future__ import annotations

from pycodesmall.training.evaluation.benchmark_data import load_humaneval
from pycodesmall.training.evaluation.generation import Generate, Request
from pycodesmall.training.evaluation.results import TaskResult
from pycodesmall.training.evaluation.tasks.functional import Problem, evaluate_functional

__all__ = ["STOP", "humaneval_problems", "evaluate"]

STOP = ("\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#")


def humaneval_problems(data_dir: str | None = None) -> list[Problem]:
    return [Problem(task_id=record["task_id"],
                    request=Request(record["prompt"], STOP, stop_at_block_end=True),
                    solution_prefix=record["prompt"],
                    tests=f"{record['test']}\ncheck({record['entry_point']})",
                    reference=record["canonical_solution"], entry_point=record["entry_point"],
                    helpers=record["prompt"])
            for record in load_humaneval(data_dir)]


def evaluate(config, generate: Generate, scorer=None) -> TaskResult:
    problems = humaneval_problems(config.data_dir)[:config.limit]
    return evaluate_functional("humaneval", problems, generate, config.sampling,
                               config.limits, config.workers)
