"""The measures of a point's evaluation record, by name: where `measure.py` writes each one.

The report's size-sweep tables and its tokenizer section read them through here, so both
follow `measure.py`'s layout (sampled measures nest under their task) from one table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Measure", "MEASURES", "LATER_MEASURES", "MEASURE", "value", "measure_value"]


@dataclass(frozen=True)
class Measure:
    """A measure of a point: where it lies under the point's "eval" and which way is better."""

    key: str
    name: str
    path: tuple[str, ...]
    lower_is_better: bool
    digits: int


MEASURES = (
    Measure("test_bpb", "test bpb", ("test_bpb",), True, 4),
    Measure("humaneval_reference_bpb", "HumanEval reference bpb", ("humaneval_reference_bpb",), True, 4),
    Measure("pass_at_1", "HumanEval pass@1", ("sampled", "humaneval", "pass@1"), False, 3),
    Measure("pass_at_10", "HumanEval pass@10", ("sampled", "humaneval", "pass@10"), False, 3),
    Measure("humaneval_syntax_valid", "syntax valid (HumanEval samples)",
            ("sampled", "humaneval", "syntax_valid"), False, 3),
    Measure("syntax_task_syntax_valid", "syntax valid (syntax task)", ("sampled", "syntax", "syntax_valid"), False, 3),
    Measure("humaneval_indentation_errors", "indentation errors (HumanEval samples)",
            ("sampled", "humaneval", "indentation_error_rate"), True, 3),
    Measure("syntax_task_indentation_errors", "indentation errors (syntax task)",
            ("sampled", "syntax", "indentation_error_rate"), True, 3),
    Measure("line_exact_match", "line exact match", ("sampled", "lines", "exact_match"), False, 3),
    Measure("line_edit_similarity", "line edit similarity", ("sampled", "lines", "edit_similarity"), False, 3),
)
# Kept since the vocabulary runs, so out of MEASURES, over which the tokenizer verdict and its
# seed noise run (the earlier points lack them): how often the token cap cut a sample and the
# validity of the samples that ended on their own; and line completion's two parts.
LATER_MEASURES = (
    Measure("humaneval_cut_by_length", "cut by the token cap (HumanEval samples)",
            ("sampled", "humaneval", "cut_by_length_rate"), True, 3),
    Measure("humaneval_syntax_valid_ended", "syntax valid when ended (HumanEval samples)",
            ("sampled", "humaneval", "ended_on_their_own", "syntax_valid"), False, 3),
    Measure("syntax_task_cut_by_length", "cut by the token cap (syntax task)",
            ("sampled", "syntax", "cut_by_length_rate"), True, 3),
    Measure("syntax_task_syntax_valid_ended", "syntax valid when ended (syntax task)",
            ("sampled", "syntax", "ended_on_their_own", "syntax_valid"), False, 3),
    Measure("line_indentation_match", "line indentation right", ("sampled", "lines", "indentation_match"), False, 3),
    Measure("line_code_edit_similarity", "line edit similarity after the indentation",
            ("sampled", "lines", "code_edit_similarity"), False, 3),
)
MEASURE = {m.key: m for m in (*MEASURES, *LATER_MEASURES)}


def value(x) -> float | None:
    """A finite number, from a number or a {"value": number} measure; None otherwise."""
    if isinstance(x, dict):
        x = x.get("value")
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


def measure_value(point: dict | None, measure: Measure) -> float | None:
    """`measure` of `point`, None where the point lacks it."""
    x = (point or {}).get("eval")
    for key in measure.path:
        x = x.get(key) if isinstance(x, dict) else None
    return value(x)
