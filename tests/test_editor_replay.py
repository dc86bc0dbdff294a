"""The replay benchmark's own logic: keystrokes, the typist, the confirmation measures, censored
quantiles, the judged region; and the shared judge on editor states it once got wrong."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))
import editor_replay  # noqa: E402
from syntax_judge import adds_syntax_error  # noqa: E402


def test_enter_brings_the_next_lines_indentation_in_one_keystroke():
    assert editor_replay.keystrokes("if x:\n    y()") == ["i", "f", " ", "x", ":", "\n    ", "y", "(", ")"]


def test_the_typist_pauses_longest_on_a_new_line_then_after_a_token():
    gaps = editor_replay.Typist(jitter=0).gaps_ms(["a", "b", " ", "\n  ", "c"], random.Random(0))
    within, after_token, new_line = gaps[0], gaps[1], gaps[3]
    assert within < after_token < new_line


@pytest.mark.parametrize("shown, typed_next, token, line", [
    ("nt(x)", "nt(x)\n    return", True, True),  # the cursor inside a name
    ("nter(x)", "nt(x)\n", False, False),  # a longer name is another token
    (" x + 1", " x - 1\n", True, False),
    ("\n    return x", "\n    return x\n", True, True),  # at a line's end: the next line
    ('"""Docs', '"""Docs."""\n', False, False),  # an open string: the whole line decides
])
def test_a_suggestion_is_confirmed_by_what_is_typed_next(shown, typed_next, token, line):
    assert editor_replay.confirmed(shown, typed_next) == (token, line)


def test_cancelled_requests_only_bound_the_latency_from_below():
    # Answers at 10, 20, 40 ms; one cancelled at 15 ms: after 10 ms 3/4 are left, after
    # 20 ms 3/4 * 1/2, so the median is 20 ms (it would be 15 if the cancel counted as an answer).
    assert editor_replay.km_quantile([10, 15, 20, 40], [True, False, True, True], 0.5) == 20
    assert editor_replay.km_quantile([10, 20, 30], [True, True, True], 0.95) == 30
    assert editor_replay.km_quantile([10, 50, 60], [True, False, False], 0.95) is None


def test_the_judged_region_is_the_whole_top_level_statements_around_the_stretch():
    text = "import os\n\n\n@decorator\ndef f():\n    a = 1\n    return a\n\n\nx = 2\n"
    assert editor_replay._top_level_lines(text, 6, 6) == (4, 7)
    assert editor_replay._top_level_lines(text, 7, 10) == (4, 10)


def test_the_judge_leaves_the_brackets_to_a_suffix_that_closes_them():
    prefix, suffix = "f(a=1,\n  ", "\n)\n"
    assert not adds_syntax_error(prefix, "b", suffix)  # `=value` can still follow
    assert adds_syntax_error(prefix, "b c", suffix)


def test_the_judge_goes_on_after_a_comment_on_the_next_line():
    assert not adds_syntax_error("x = 1\n", "f(a,  # why", "\ny = 2\n")
    assert not adds_syntax_error("if x:\n    ", "# why", "\ny = 2\n")  # the body comes next
    assert adds_syntax_error("x = 1\n", "f(a b  # why", "\ny = 2\n")


def test_the_judge_finishes_a_conditional_expression_inside_the_brackets():
    assert not adds_syntax_error("x = d[", '"a" if y == 1', "\nz = 3\n")
