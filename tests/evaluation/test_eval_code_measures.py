import ast
import textwrap

import pytest

from pycodesmall.training.evaluation.code_measures import (compile_status, idiom_counts,
                                                           ends_in_comment, imported_modules, measure_code,
                                                           module_resolves, pep8_violations)


def test_compile_status_separates_indentation_from_other_syntax_errors():
    assert compile_status("def f():\n    return 1\n") == "valid"
    assert compile_status("def f():\nreturn 1\n") == "indentation_error"
    assert compile_status("if x:\n    a = 1\n      b = 2\n") == "indentation_error"
    assert compile_status("if x:\n\ta = 1\n        b = 2\n") == "tab_error"
    assert compile_status("def f(:\n    pass\n") == "syntax_error"
    assert compile_status("x = 1\0") == "syntax_error"
    assert compile_status("x = '\\d'\n") == "valid"  # a warning, not an error


def test_idioms_are_counted_from_the_ast():
    source = textwrap.dedent("""\
        import functools

        @functools.lru_cache
        @staticmethod
        def numbers(path):
            with open(path) as handle, open(path) as again:
                yield from (int(line) for line in handle)
            squares = [x * x for x in range(3)] + list({x for x in range(2)})
            table = {k: v for k, v in zip("ab", "cd")}
            print(f"{squares} {table}", f"{path!r}")

        def plain():
            def inner():
                yield 1
            return inner
    """)
    assert idiom_counts(ast.parse(source)) == {
        "comprehensions": 3, "generator_expressions": 1, "decorators": 2,
        "context_managers": 1, "f_strings": 2, "generator_functions": 2}


def test_pep8_violations_are_counted():
    assert pep8_violations("def f(a, b):\n    return a + b\n") == 0
    # E231 (missing space after comma) and E111 (indent not a multiple of four); E226
    # (a+b) is in pycodestyle's default ignore list.
    assert pep8_violations("def f(a,b):\n  return a+b\n") == 2
    assert pep8_violations("x = 1") == 0  # the missing final newline is the sample's cut


def test_imports_resolve_against_the_interpreter():
    tree = ast.parse("import os.path, json\nfrom collections import abc\nfrom . import x\n"
                     "import no_such_module_xyz\n")
    assert imported_modules(tree) == ["os", "json", "collections", "no_such_module_xyz"]
    assert module_resolves("json") and not module_resolves("no_such_module_xyz")


def test_measure_code_records_everything_for_valid_code_and_only_status_otherwise():
    measures = measure_code("import nope_xyz\ndef f(xs):\n    return [x for x in xs]\n")
    assert measures["compile"] == "valid"
    assert measures["unresolved_imports"] == ["nope_xyz"]
    assert measures["idioms"]["comprehensions"] == 1
    assert measure_code("def f(:\n") == {"compile": "syntax_error", "lines": 1, "compile_error": "invalid syntax"}


def test_compiler_messages_drop_the_line_they_name_so_one_mistake_is_one_kind():
    assert measure_code("s = \"\"\"abc\n")["compile_error"] == "unterminated triple-quoted string literal"
    assert measure_code("if x:\npass\n")["compile_error"] == (
        "expected an indented block after 'if' statement on line N")
    assert measure_code("x = 1\0")["compile_error"] == "source code string cannot contain null bytes"
    assert measure_code("x = (1,\n")["compile_error"] == measure_code("y = 2\n\nx = (1,\n")["compile_error"]


def test_the_commonest_compiler_messages_are_rates_over_all_samples_and_the_rest_is_pooled(monkeypatch):
    from pycodesmall.training.evaluation.tasks import functional
    monkeypatch.setattr(functional, "COMMONEST_MESSAGES", 2)
    sources = ["x = (1,\n", "y = 2\nx = [1,\n", "z = (\n", "def f(:\n", "if x:\npass\n", "x = 1\n"]
    summary = functional.summarise_code([measure_code(source) for source in sources], [True] * 3 + [False] * 3)
    assert summary["compile_errors"] == pytest.approx(
        {"'(' was never closed": 2 / 6, "'[' was never closed": 1 / 6, "(other messages)": 2 / 6})
    assert summary["ended_on_their_own"]["compile_errors"] == pytest.approx(
        {"invalid syntax": 1 / 3, "expected an indented block after 'if' statement on line N": 1 / 3})


def test_syntax_rates_of_samples_cut_at_the_token_cap_are_also_given_without_them():
    from pycodesmall.training.evaluation.tasks.functional import summarise_code
    measures = [measure_code("def f():\n    return 1\n"),      # ended on its own, valid
                measure_code("def f():\n    if x:\n"),         # cut by the cap mid-block
                measure_code("def f():\nreturn 1\n")]          # ended on its own, broken
    summary = summarise_code(measures, [False, True, False])
    assert summary["indentation_error_rate"] == pytest.approx(2 / 3)
    assert summary["cut_by_length_rate"] == pytest.approx(1 / 3)
    ended = summary["ended_on_their_own"]
    assert ended["samples"] == 2 and ended["compile_rate"] == 0.5 and ended["indentation_error_rate"] == 0.5


def test_a_comment_is_recognised_as_the_end_only_when_it_is_the_last_token():
    assert ends_in_comment("def f():\n    # loop\n    # loop\n")
    assert ends_in_comment("x = 1  # trailing")
    assert not ends_in_comment("x = 1\n# note\ny = 2\n")
    assert not ends_in_comment("s = '# not a comment'\n\n")
    assert measure_code("def f():\n    return 1\n    # again")["ends_in_comment"]
    assert "ends_in_comment" not in measure_code("def f(:\n    # broken\n")  # only for code that compiles


def test_cut_samples_that_parse_are_counted_and_those_ending_in_a_comment_apart():
    from pycodesmall.training.evaluation.tasks.functional import summarise_code
    measures = [measure_code("def f():\n    x = 1\n    # step\n    # step"),  # cut, parses, in a comment
                measure_code("def f():\n    x = 1\n    x = 1"),                # cut, parses at a statement
                measure_code("def f():\n    if x:\n"),                         # cut mid-block
                measure_code("def f():\n    return 1  # done\n")]              # ended on its own
    summary = summarise_code(measures, [True, True, True, False])
    assert summary["cut_by_length_rate"] == pytest.approx(3 / 4)
    assert summary["cut_and_valid_rate"] == pytest.approx(2 / 4)
    assert summary["cut_valid_in_comment_rate"] == pytest.approx(1 / 4)
