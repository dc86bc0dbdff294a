"""MBPP (Austin et al. 2021): short programming problems stated in English, checked by
three asserts.

Two prompt formats from the literature on base models. Zero-shot (the default): the
description and the first test inside a docstring, as in bigcode-evaluation-harness, then
the reference solution's imports and the `def` line of the function the tests call, so
the model writes the body. Without the `def` line a model with relative indentation tokens
reads the docstring as one inside a function (the transform encodes both alike) and
writes a body at column 0; a signature also fixes the name and arguments the tests use,
as HumanEval's prompts do. Helper functions and constants of the reference are not in the
prompt: the reference completion (the oracle) puts them after the body. Three-shot, as
in the MBPP paper: worked examples from task_ids 2-4, each "You are an expert Python
programmer, ..." with its tests and its code between [BEGIN] and [DONE].

Variants: `sanitized` (all 427 hand-checked problems) and `full` (the 500-problem test
split, task_ids 11-510, of the original file).
"""

from __future__ import annotations

import ast
import re

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


def _entry_point(record: dict, tree: ast.Module) -> ast.FunctionDef:
    """The reference's top-level function that the first test calls."""
    called = [node for node in tree.body if isinstance(node, ast.FunctionDef)
              and re.search(rf"\b{re.escape(node.name)}\s*\(", record["test_list"][0])]
    if not called:
        raise ValueError(f"MBPP task {record['task_id']}: the first test calls no function "
                         "of the reference solution")
    return called[-1]


def _zero_shot(record: dict) -> tuple[str, str, str]:
    """(prompt, reference completion, entry point) of the zero-shot format."""
    code = record["code"]
    tree = ast.parse(code)
    entry = _entry_point(record, tree)
    lines = code.splitlines(keepends=True)

    def source(node) -> str:
        return "".join(lines[node.lineno - 1:node.end_lineno])

    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    signature = "".join(lines[entry.lineno - 1:entry.body[0].lineno - 1])
    body = "".join(lines[entry.body[0].lineno - 1:entry.end_lineno])
    others = [source(node) for node in tree.body if node is not entry and node not in imports]
    docstring = f'"""\n{_description(record)}\n{record["test_list"][0]}\n"""\n'
    prompt = docstring + "".join(source(node) for node in imports) + signature
    reference = "\n".join([body.rstrip("\n"), *(other.rstrip("\n") for other in others)]) + "\n"
    return prompt, reference, entry.name


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
        prompt, reference, entry_point = _zero_shot(record)
        if shots == 3:
            request, prefix, reference = (Request(header + _three_shot_block(record), THREE_SHOT_STOP),
                                          "", record["code"])
        else:
            request, prefix = Request(prompt, ZERO_SHOT_STOP), prompt
        problems.append(Problem(task_id=f"Mbpp/{record['task_id']}", request=request,
                                solution_prefix=prefix, tests=_tests(record),
                                reference=reference, entry_point=entry_point))
    return problems


def evaluate(config, generate: Generate, scorer=None) -> TaskResult:
    problems = mbpp_problems(config.mbpp_variant, config.mbpp_shots, config.data_dir)
    return evaluate_functional(f"mbpp-{config.mbpp_variant}-{config.mbpp_shots}shot",
                               problems[:config.limit], generate, config.sampling,
                               config.limits, config.workers)
