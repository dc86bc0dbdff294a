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


def test_a_misplaced_future_import_is_judged_invalid_not_a_crash():
    result = validate("def f():\n", "    from __future__ import annotations\n")
    assert not result.valid and result.text == ""
    assert "__future__" in result.syntax_error


def test_a_file_that_already_has_a_misplaced_future_import_can_still_be_completed():
    prefix = "def f():\n    from __future__ import annotations\n    "
    result = validate(prefix, "return 1\n")
    assert result.valid and result.text == "return 1\n"
    assert [p.kind for p in result.problems] == ["Unchecked"]
    assert "__future__" in result.problems[0].message


def test_nesting_too_deep_for_pyflakes_is_recorded_as_a_problem():
    result = validate("x = ", "1" + "+1" * 400)
    assert result.valid and [p.kind for p in result.problems] == ["Unchecked"]


def test_return_outside_a_function_is_invalid():
    assert not validate("x = 1\n", "return x\n").valid


# Files broken at the cursor, as in an editor: the completion is judged by itself.

def test_a_completion_in_a_new_empty_block_must_fill_it():
    prefix, suffix = "def f(x):\n    if x:\n        ", "\n    return x\n"
    assert validate(prefix, "x += 1\n", suffix).text == "x += 1\n"
    assert not validate(prefix, "if x > 1:\n", suffix).valid  # the block stays empty
    assert not validate(prefix, ", 1)\n", suffix).valid


def test_a_cut_line_must_be_finished_unless_the_model_ran_out_of_tokens():
    prefix, suffix = "def f(a):\n    x = max(a, ", "\n    return x\n"
    assert validate(prefix, "0)", suffix).text == "0)"
    assert not validate(prefix, "0", suffix).valid
    ran_out = validate(prefix, "0", suffix, cut_off=True)
    assert ran_out.valid and ran_out.ends_open and ran_out.text == "0"
    assert not validate(prefix, "0))", suffix, cut_off=True).valid


def test_a_block_header_whose_body_comes_next_is_shown_cut_at_its_line_end():
    raw = 'if i % 2:\n        raise ValueError("odd numbers are not'
    result = validate("for i in range(10):\n    ", raw, cut_off=True)
    assert result.valid and result.ends_open and result.truncated
    assert result.text == "if i % 2:"


def test_a_line_that_ran_out_of_tokens_is_shown_where_it_can_go_on():
    prefix = "import os\n\ndef list_python_files(root):\n    "
    raw = 'return [os.path.join(root, name) for name in os.listdir(root) if name.endswith('
    assert validate(prefix, raw, cut_off=True).text == raw
    assert validate(prefix, "total = len(root) +", cut_off=True).ends_open
    assert not validate(prefix, "total = len(root) +\n", cut_off=True).valid  # ended the line
    assert not validate(prefix, "return ), 1", cut_off=True).valid


def test_a_line_limit_may_stop_a_completion_at_a_block_header_whose_body_comes_next():
    prefix = 'text = "a b"\nword = "a"\n'
    stopped = validate(prefix, "if word in text:", line_cut=True)
    assert stopped.valid and stopped.ends_open and stopped.text == "if word in text:"
    assert validate(prefix, "if word in text:", "\nprint(word)\n", line_cut=True).ends_open
    assert validate(prefix, "total = len(", line_cut=True).ends_open  # arguments on the next lines
    assert not validate(prefix, "if word in text:").valid  # ended there: the body never comes
    assert not validate(prefix, "total = len(text) +", line_cut=True).valid  # its line ended
    assert not validate(prefix, "if word in text", line_cut=True).valid


def test_a_complete_cut_is_preferred_to_a_longer_open_one():
    raw = "x = 1\n    y = max(x,\n        2"
    assert validate("def f():\n    ", raw, cut_off=True).text == "x = 1"


def test_a_break_earlier_in_the_file_does_not_hide_the_completion():
    prefix = "def f(:\n    pass\n\n\ndef g(x):\n    "
    assert validate(prefix, "return x\n", "\n").valid
    assert not validate(prefix, ", 1)\n", "\n").valid


def test_a_break_in_the_statement_being_written_leaves_the_cursor_line_to_judge():
    prefix = "def f(:\n    x = 1\n    "
    assert validate(prefix, "y = x + 1\n    return y", "\n").valid
    assert not validate(prefix, ", 1)", "\n").valid


def test_in_a_broken_file_only_problems_on_the_completion_lines_are_reported():
    result = validate("if x:\n    ", "y = undefined_name\n", "\nfoo()\n")
    assert result.valid
    assert [(p.kind, p.message) for p in result.problems] == [
        ("UndefinedName", "undefined name 'undefined_name'")]


# Completions that the validation benchmark (benchmarks/validation_states.py) found adding a
# syntax error the file did not have, each class as a small case.

def test_a_docstring_left_open_is_not_shown_where_the_suffix_goes_on_as_a_body():
    prefix = "class Plugin:\n    "
    suffix = "\n        assert not name.endswith('x')\n\n    def other(self):\n        pass\n"
    raw = '"""A class for the given object.\n\n    This is a list of the methods.\n    The value'
    assert validate(prefix, raw, suffix, cut_off=True).text == ""
    # where the suffix follows at the docstring's own level, it may go on
    shown = validate(prefix, raw, "\n\n    def other(self):\n        pass\n", cut_off=True)
    assert shown.valid and shown.ends_open and shown.text.startswith('"""A class')


def test_a_completion_that_closes_the_block_the_suffix_goes_on_is_cut():
    prefix = "def f():\n    try"
    suffix = "\n        working_set = already.working_set\n    except AttributeError:\n        pass\n"
    raw = (":\n        return False\n\n    except ImportError:\n        pass\n    else:\n"
           "        raise ValueError('no')\n\n    if __name__ == '__main__':\n        main()\n")
    result = validate(prefix, raw, suffix)
    assert result.valid and result.truncated and "else" not in result.text
    assert compile(prefix + result.text + suffix, "<t>", "exec")
    cut_line = validate("def f(x):\n    if", " x:\n        return 1\n    else:\n        return 2",
                        "\n        return 3\n    else:\n        return 4\n")
    assert cut_line.text == " x:\n        return 1"


def test_an_open_bracket_is_not_shown_where_the_suffix_goes_on_as_a_body():
    prefix = "def f(sock, state):\n    try:\n        pass\n    finally:\n        "
    raw = "sock.sendall(state.decode('utf-8')"
    deeper = "\n            cleanup()\n        if sock:\n            sock.close()\n"
    assert validate(prefix, raw, deeper, cut_off=True).text == ""
    assert validate(prefix, raw, "\n        sock.close()\n", cut_off=True).text == raw
    header = validate(prefix, "if sock.ready(state", deeper, cut_off=True)  # can still open the block
    assert header.valid and header.ends_open and header.text == "if sock.ready(state"


def test_an_error_hidden_behind_an_open_string_or_bracket_is_found():
    prefix, suffix = "def reader(", "\n    m = 1\n    return m\n"
    raw = 'lock, mock.Mock() -> None:\n    """Apply the lock.\n\n    This is called'
    assert validate(prefix, raw, suffix, cut_off=True).text == ""  # no parameter list
    escape = validate("if x:\n    ", 'check(b"AB", f(1) == b"\\xd5\\x3"', "\ny = 2\n", cut_off=True)
    assert escape.text == ""  # a closed bytes literal with an invalid escape
    assert validate("x = ", 'f(1, "abc', "\ny = 2\n", cut_off=True).ends_open  # still open


def test_a_string_left_open_is_not_closed_by_the_suffixs_quotes():
    prefix = "def is_enum(type:"
    raw = ' Any) -> None:\n    """Return a string.\n\n    Args:\n        type'
    suffix = '\n    """Is this an enum?"""\n    return isinstance(type, Enum)\n'
    result = validate(prefix, raw, suffix, cut_off=True)
    assert result.valid and result.text == " Any) -> None:"
