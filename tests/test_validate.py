import pytest

from pycodesmall import validate


def test_valid_completion_is_kept_whole():
    result = validate("def f(x):\n", "    return x + 1\n")
    assert result.valid and not result.truncated and result.text == "    return x + 1\n"


def test_cut_to_the_longest_valid_prefix_at_a_line_boundary():
    result = validate("def f(x):\n", "    y = x * 2\n    return g(y,\n        1\n")
    assert result.valid and result.truncated
    assert result.text == "    y = x * 2"
    assert "never closed" in result.syntax_error


def test_nothing_valid_left():
    result = validate("def f(x):\n", "    return x +\n")
    assert not result.valid and result.text == "" and result.truncated


def test_a_block_left_open_at_the_end_of_the_file_is_invalid():
    assert validate("def f(x):\n", "    if x:", "\n\n").text == ""


def test_empty_completion_is_trivially_valid():
    assert validate("x = 1\n", "").valid


def test_file_that_did_not_parse_before_may_stay_broken_elsewhere():
    # The suffix has its own syntax error; the completion must not add another.
    prefix, suffix = "def f(x):\n    ", "\n\ny = (\n"
    assert validate(prefix, "return x", suffix).valid
    bad = validate(prefix, "return x +", suffix)
    assert not bad.valid


def test_pyflakes_problems_that_the_completion_introduces():
    result = validate("import os\n\ndef f(x):\n    ", "return undefined_name + x\n", "\nf(os)\n")
    assert result.valid and result.has_undefined_names
    assert [p.kind for p in result.problems] == ["UndefinedName"]
    clean = validate("import os\n\ndef f(x):\n    ", "return os.path.join(x)\n")
    assert clean.problems == []


def test_problems_already_in_the_file_are_not_blamed_on_the_completion():
    prefix = "import sys\nprint(missing)\n"
    result = validate(prefix, "x = 1\n")
    assert result.valid and result.problems == []


@pytest.mark.parametrize("completion", ["\x00", "(" * 300 + ")" * 300, "\ttabbed\n  spaced\n"])
def test_malformed_input_never_raises(completion):
    result = validate("def f():\n", completion)
    assert isinstance(result.valid, bool)
