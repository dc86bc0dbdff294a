"""Oracle checks: reference solutions pass in the harness, empty completions do not.

These run every HumanEval problem and every MBPP reference in the sandbox, so a wrong
prompt/test assembly, a guard that breaks the standard library or a too-tight limit
shows up here. Limits are generous: a shared CI machine must not turn slow into failed.
"""

from __future__ import annotations

import pytest

from pycodesmall.training.evaluation.sandbox import SandboxLimits, run_programs
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems
from pycodesmall.training.evaluation.tasks.mbpp import KNOWN_REFERENCE_FAILURES, mbpp_problems

ORACLE_LIMITS = SandboxLimits(timeout_s=60.0, cpu_s=30)


def failing(problems, completions):
    """The problems whose completion fails, judged as the evaluation judges them: the
    solution in the sandbox, the tests in a separate judge process."""
    outcomes = run_programs([p.solution(c) for p, c in zip(problems, completions)],
                            ORACLE_LIMITS, checks=[p.checks for p in problems])
    return {p.task_id: o for p, o in zip(problems, outcomes) if not o.passed}


def test_all_canonical_humaneval_solutions_pass(data_dir):
    problems = humaneval_problems(data_dir)
    assert len(problems) == 164
    failures = failing(problems, [p.reference for p in problems])
    assert failures == {}


def test_an_empty_body_passes_no_humaneval_problem(data_dir):
    problems = humaneval_problems(data_dir)
    failures = failing(problems, [""] * len(problems))
    assert len(failures) == 164
    categories = {o.category for o in failures.values()}
    assert categories <= {"wrong_answer", "type_error", "attribute_error", "other"}


@pytest.mark.parametrize("variant, count", [("full", 500), ("sanitized", 427)])
def test_mbpp_reference_solutions_pass(data_dir, variant, count):
    problems = mbpp_problems(variant, 0, data_dir)
    assert len(problems) == count
    failures = failing(problems, [p.reference for p in problems])
    assert set(failures) == set(KNOWN_REFERENCE_FAILURES)


def test_an_empty_completion_passes_no_mbpp_problem(data_dir):
    problems = mbpp_problems("sanitized", 0, data_dir)[:100]
    failures = failing(problems, [""] * len(problems))
    assert len(failures) == len(problems)
    # The prompt ends with the signature: a def with no body is "expected an indented block".
    assert {o.category for o in failures.values()} == {"indentation_error"}
