import pytest

from pycodesmall.runtime import StopRules


def cut(rules, text):
    position = rules.cut(text)
    return text if position is None else text[:position]


@pytest.mark.parametrize("line_prefix, text, expected", [
    ("", "    r = 1\n\n    return r\n\n\ndef check(x):\n", "    r = 1\n\n    return r"),
    ("    ", "if a:\n        b\n    c\nd = 1", "if a:\n        b\n    c"),
    ("def f():", "\n    return 1\nx = 2", "\n    return 1"),
    ("", "\tx = 1\n        y = 2\nz", "\tx = 1\n        y = 2"),  # a tab is 8 columns
    ("", "    x = 1\n    y", "    x = 1\n    y"),  # not over yet
])
def test_block_end(line_prefix, text, expected):
    assert cut(StopRules(line_prefix=line_prefix, block_end=True), text) == expected


@pytest.mark.parametrize("line_prefix, text, lines, expected", [
    ("    x = ", "1\n    y = 2\n", 1, "1"),
    ("def f():", "\n    a = 1\n    b = 2\n    c", 2, "\n    a = 1\n    b = 2"),
    ("", "a\n\n\nb\nc\n", 2, "a\n\n\nb"),  # blank lines do not count
])
def test_max_lines(line_prefix, text, lines, expected):
    assert cut(StopRules(line_prefix=line_prefix, max_lines=lines), text) == expected


def test_earliest_rule_wins():
    rules = StopRules(block_end=True, stop_strings=("#",))
    assert cut(rules, "    a = 1  # note\nb") == "    a = 1  "
