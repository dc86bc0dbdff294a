"""MBPP (Austin et al. 2021): short programming problems stated in English, checked by
three asserts.

Two prompt formats from the literature on base models. Zero-shot (the default), as in
bigcode-evaluation-harness: the description and the first test inside a docstring, and
the model writes the whole function. Three-shot, as in the MBPP paper: worked examples
from task_ids 2-4, each "You are an expert Python programmer, ..." with its tests and
its code between [BEGIN] and [DONE].

Variants: `sanitized` (all 427 hand-checked problems) and `full` (the 500-problem test
split, task_ids 11-510, of the original file).
"""

from __future__ import annotations

from pycodesmall.training.evaluation.benchmark_data import (MBPP_PROMPT_IDS, MBPP_TEST_IDS,
                                                            load_mbpp)
from pycodesmall.training.evaluation.generation import Generate, Request
from pycodesmall.training.evaluation.results import TaskResult
from pycodesmall.training.evaluation.tasks.functional import Problem, evaluate_functional

__all__ = ["ZERO_SHOT_STOP", "THREE_SHOT_STOP", "KNOWN_REFERENCE_FAILURES", "mbpp_problems",
           "evaluate"]

ZERO_SHOT_STOP = ("\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n```")
THREE_SHOT_STOP = ("[DONE]",)

# Upstream reference solutions that fail in this harness, task_id -> reason. None do: all
# 974 references of the full file (and the 11 challenge tests of the test split) and all
# 427 of the sanitized file pass. Two details make that so. The full file's CRLF line
# endings are normalised, and its test_setup_code goes after the solution, since in task
# 367 the setup builds trees from the solution's own Node class (NameError otherwise).
KNOWN_REFERENCE_FAILURES: dict[str, str] = {}


def _description(record: dict) -> str:
    return record.get("text") or record["prompt"]  # full file: "text"; sanitized: "prompt"


def _tests(record: dict) -> str:
    """Setup code (full file) or imports (sanitized file), then the asserts. Setup goes
    after the solution: in task 367 it builds trees from the solution's own class."""
    setup = record.get("test_setup_code") or "\n".join(record.get("test_imports", []))
    return "\n".join(filter(None, [setup, *record["test_list"]]))


def _three_shot_block(record: dict) -> str:
    tests = "\n".join(record["test_list"])
    return (f"You are an expert Python programmer, and here is your task: "
            f"{_description(record)} Your code should pass these tests:\n\n{tests}\n[BEGIN]\n")


def mbpp_problems(variant: str = "sanitized", shots: int = 0,
                  data_dir: str | None = None) -> list[Problem]:
    records = load_mbpp(variant, data_dir)
    if variant == "full":
        records = [record for record in records if record["task_id"] in MBPP_TEST_IDS]
    if shots == 3:
        examples = {record["task_id"]: record for record in load_mbpp("full", data_dir)}
        header = "".join(_three_shot_block(examples[task_id]) + examples[task_id]["code"]
                         + "\n[DONE]\n" for task_id in MBPP_PROMPT_IDS)
    elif shots != 0:
        raise ValueError(f"MBPP prompts have 0 or 3 shots, got {shots}")
    problems = []
    for record in records:
        if shots == 3:
            request = Request(header + _three_shot_block(record), THREE_SHOT_STOP)
        else:
            request = Request(f'"""\n{_description(record)}\n{record["test_list"][0]}\n"""\n',
                              ZERO_SHOT_STOP)
        problems.append(Problem(task_id=f"Mbpp/{record['task_id']}", request=request,
                                solution_prefix="", tests=_tests(record),
                                reference=record["code"]))
    return problems


def evaluate(config, generate: Generate, scorer=None) -> TaskResult:
    problems = mbpp_problems(config.mbpp_variant, config.mbpp_shots, config.data_dir)
    return evaluate_functional(f"mbpp-{config.mbpp_variant}-{config.mbpp_shots}shot",
                               problems[:config.limit], generate, config.sampling,
                               config.limits, config.workers)
