"""Functional correctness, shared by HumanEval and MBPP: generate, run the tests in the
sandbox, score pass@k, classify failures and measure the generated code."""

from __future__ import annotations

import ast
import warnings
from collections import Counter
from dataclasses import dataclass

from pycodesmall.training.evaluation.code_measures import IDIOMS, measure_code
from pycodesmall.training.evaluation.error_classes import CATEGORIES
from pycodesmall.training.evaluation.generation import (Generate, Request, Sample, Sampling,
                                                        generation_summary)
from pycodesmall.training.evaluation.pass_at_k import (bootstrap_interval, pass_at_k,
                                                       reportable_ks)
from pycodesmall.training.evaluation.results import TaskResult
from pycodesmall.training.evaluation.sandbox import Checks, Outcome, SandboxLimits, run_programs

__all__ = ["CUT_RATES", "Problem", "evaluate_functional", "score_functional", "summarise_code"]

COMMONEST_MESSAGES = 8  # compiler messages kept by name in a summary
OTHER_MESSAGES = "(other messages)"
# the rates over all samples that `summarise_code` adds when it is given which samples the cap cut
CUT_RATES = ("cut_by_length_rate", "cut_and_valid_rate", "cut_valid_in_comment_rate")


@dataclass(frozen=True)
class Problem:
    """One test-checked problem. The candidate solution is `solution_prefix + completion`.
    The sandbox runs it, and runs `tests` in a separate judge process (`sandbox_judge.py`),
    after `helpers`: trusted code of the benchmark that the tests call, such as HumanEval's
    prompt. `reference` is a completion known to pass (the oracle); `entry_point` is the
    function the tests call."""

    task_id: str
    request: Request
    solution_prefix: str
    tests: str
    reference: str
    entry_point: str
    helpers: str = ""

    def solution(self, completion: str) -> str:
        return self.solution_prefix + completion

    def defines_entry_point(self, solution: str) -> bool:
        """The solution parses and defines the function the tests call at module level."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(solution)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and node.name == self.entry_point for node in tree.body)

    def program(self, completion: str) -> str:
        """Solution and tests as one program, as the benchmarks' own harnesses run them."""
        return f"{self.solution(completion)}\n\n{self.tests}\n"

    @property
    def checks(self) -> Checks:
        return Checks(self.tests, self.entry_point, self.helpers)


def evaluate_functional(name: str, problems: list[Problem], generate: Generate,
                        sampling: Sampling, limits: SandboxLimits,
                        workers: int | None) -> TaskResult:
    completions = generate([problem.request for problem in problems], sampling)
    flat = [(problem, completion) for problem, samples in zip(problems, completions)
            for completion in samples]
    outcomes = run_programs([problem.solution(completion.text) for problem, completion in flat],
                            limits, workers, [problem.checks for problem, _ in flat])
    return score_functional(name, problems, completions, outcomes)


def summarise_code(measures: list[dict], cut_by_length: list[bool] | None = None) -> dict:
    """Aggregates of `measure_code` results: rates over all samples, the rest over the
    samples that compile; "compile_errors" are the commonest compiler messages, each as a
    rate over all samples. With `cut_by_length` (one flag per sample: generation stopped at
    its token cap), also the syntax rates of the samples that ended on their own under
    "ended_on_their_own": a completion cut mid-block is an IndentationError or SyntaxError
    of the cap, not of the model's Python. A cut one can also parse, where the cap fell at a
    complete statement or inside a comment: "cut_and_valid_rate" counts those, and
    "cut_valid_in_comment_rate" those of them that end in a comment (a greedy completion
    repeating a comment line up to the cap), each over all samples."""
    total = len(measures)
    valid = [m for m in measures if m["compile"] == "valid"]
    statuses = Counter(m["compile"] for m in measures)
    imports = [name for m in valid for name in m["imports"]]
    unresolved = [name for m in valid for name in m["unresolved_imports"]]
    lines = sum(m["lines"] for m in valid)
    summary = {
        "samples": total,
        "compile_rate": len(valid) / total if total else 0.0,
        "indentation_error_rate": (statuses["indentation_error"] + statuses["tab_error"]) / total
        if total else 0.0,
        "tab_error_rate": statuses["tab_error"] / total if total else 0.0,
        "compile_errors": _commonest_messages(measures),
        "imports": len(imports),
        "import_resolution_rate": 1.0 - len(unresolved) / len(imports) if imports else None,
        "unresolved_imports": sorted(set(unresolved)),
        "pep8_violations_per_line": sum(m["pep8_violations"] for m in valid) / lines
        if lines else None,
        "idioms_per_sample": {idiom: sum(m["idioms"][idiom] for m in valid) / len(valid)
                              for idiom in IDIOMS} if valid else None,
    }
    if cut_by_length is not None:
        ended = summarise_code([m for m, cut in zip(measures, cut_by_length) if not cut])
        cut_valid = [m for m, cut in zip(measures, cut_by_length) if cut and m["compile"] == "valid"]
        summary["cut_by_length_rate"] = sum(cut_by_length) / total if total else 0.0
        summary["cut_and_valid_rate"] = len(cut_valid) / total if total else 0.0
        summary["cut_valid_in_comment_rate"] = (sum(m["ends_in_comment"] for m in cut_valid) / total
                                                if total else 0.0)
        summary["ended_on_their_own"] = {key: ended[key] for key in (
            "samples", "compile_rate", "indentation_error_rate", "tab_error_rate", "compile_errors")}
    return summary


def _commonest_messages(measures: list[dict]) -> dict[str, float]:
    """The COMMONEST_MESSAGES most frequent compiler messages and OTHER_MESSAGES for the
    rest, as rates over all samples (results from before messages were kept have none)."""
    counts = Counter(m["compile_error"] for m in measures if "compile_error" in m)
    commonest = counts.most_common(COMMONEST_MESSAGES)
    rates = {message: count / len(measures) for message, count in commonest}
    rest = counts.total() - sum(count for _, count in commonest)
    if rest:
        rates[OTHER_MESSAGES] = rest / len(measures)
    return rates


def score_functional(name: str, problems: list[Problem], completions: list[list[Sample]],
                     outcomes: list[Outcome]) -> TaskResult:
    """Per-sample records and the summary: pass@k with bootstrap intervals, error classes,
    code measures and which sandbox isolation was in force."""
    samples, per_problem, position = [], [], 0
    for problem, problem_completions in zip(problems, completions):
        passed = 0
        for index, completion in enumerate(problem_completions):
            outcome = outcomes[position]
            position += 1
            passed += outcome.passed
            solution = problem.solution(completion.text)
            samples.append({"task_id": problem.task_id, "sample": index,
                            "completion": completion.text, **completion.record(),
                            "category": outcome.category,
                            "exception": outcome.exception, "message": outcome.message,
                            "line": outcome.line, "duration_s": round(outcome.duration_s, 4),
                            "defines_entry_point": problem.defines_entry_point(solution),
                            "code": measure_code(solution)})
        per_problem.append((len(problem_completions), passed))
    n = min((count for count, _ in per_problem), default=0)
    # Flat headline numbers ("pass@1", "pass@1_ci95"), as model cards list top-level ones.
    summary = {"problems": len(problems), "samples_per_problem": n}
    for k in reportable_ks(n):
        values = [pass_at_k(count, passed, k) for count, passed in per_problem]
        summary[f"pass@{k}"] = sum(values) / len(values)
        summary[f"pass@{k}_ci95"] = list(bootstrap_interval(values))
    summary["categories"] = _category_rates(samples)
    # The same over the samples that ended on their own: a sample cut at the token cap
    # fails to compile because it was cut.
    summary["categories_ended_on_their_own"] = _category_rates(
        [sample for sample in samples if sample["finish_reason"] != "length"])
    summary["defines_entry_point_rate"] = (
        sum(sample["defines_entry_point"] for sample in samples) / len(samples) if samples else 0.0)
    summary["code"] = summarise_code([sample["code"] for sample in samples],
                                     [sample["finish_reason"] == "length" for sample in samples])
    summary["generation"] = generation_summary(completions)
    summary["isolation"] = sorted({_describe(outcome.isolation) for outcome in outcomes
                                   if outcome.isolation is not None})
    return TaskResult(name, summary, samples)


def _category_rates(samples: list[dict]) -> dict:
    categories = Counter(sample["category"] for sample in samples)
    return {category: categories[category] / len(samples) if samples else 0.0 for category in CATEGORIES}


def _describe(isolation: dict) -> str:
    """One line per distinct isolation level; normally every sample has the same."""
    return ", ".join(f"{key}: {value}" for key, value in isolation.items())
