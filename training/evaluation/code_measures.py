"""Python-specific measures of generated code that need no execution.

Whether it compiles (and if not, whether indentation was the reason and what the compiler
said), which idioms it uses (counted from the AST), how many PEP 8 violations it has per
line (pycodestyle), whether it ends in a comment, and whether each imported top-level module
can be found. Import resolution is static, with `importlib.util.find_spec` in the evaluating
interpreter: for a top-level name it only searches the path and runs none of the module's code.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import io
import re
import tokenize
import warnings

__all__ = ["compile_status", "compile_error_message", "idiom_counts", "pep8_violations", "ends_in_comment",
           "imported_modules", "module_resolves", "measure_code", "IDIOMS"]

IDIOMS = ("comprehensions", "generator_expressions", "decorators", "context_managers",
          "f_strings", "generator_functions")


def compile_status(source: str) -> str:
    """"valid", "tab_error", "indentation_error" or "syntax_error", as `compile` sees it."""
    return _status(_compile_error(source))


def _compile_error(source: str) -> SyntaxError | ValueError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes
            compile(source, "<sample>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:  # ValueError: null bytes in the source
        return error
    return None


def _status(error: SyntaxError | ValueError | None) -> str:
    if error is None:
        return "valid"
    if isinstance(error, TabError):
        return "tab_error"
    return "indentation_error" if isinstance(error, IndentationError) else "syntax_error"


def compile_error_message(error: SyntaxError | ValueError) -> str:
    """The compiler's message without the line it names, so that one mistake counts as one
    kind across samples ("'(' was never closed", "expected ':'")."""
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    return re.sub(r"\bline \d+", "line N", re.sub(r" \(detected at line \d+\)", "", message))


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def idiom_counts(tree: ast.AST) -> dict[str, int]:
    counts = dict.fromkeys(IDIOMS, 0)
    for node in ast.walk(tree):
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp)):
            counts["comprehensions"] += 1
        elif isinstance(node, ast.GeneratorExp):
            counts["generator_expressions"] += 1
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            counts["context_managers"] += 1
        elif isinstance(node, ast.JoinedStr):
            counts["f_strings"] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts["decorators"] += len(node.decorator_list)
            if not isinstance(node, ast.ClassDef) and _yields(node):
                counts["generator_functions"] += 1
    return counts


def _yields(function: ast.AST) -> bool:
    """True if `function` itself (not a nested function) contains yield."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return False


def pep8_violations(source: str) -> int:
    import pycodestyle

    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"  # a missing final newline is the cut of the sample, not style
    return pycodestyle.Checker(lines=lines, quiet=True).check_all()


def ends_in_comment(source: str) -> bool:
    """True if the last token of `source` (which must compile) is a comment: where a greedy
    completion that repeats a comment line up to its token cap ends, and still parses."""
    layout = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    last = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in layout:
            last = token.type
    return last == tokenize.COMMENT


def imported_modules(tree: ast.AST) -> list[str]:
    """Top-level names of absolute imports, in order of appearance, without repeats."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


@functools.lru_cache(maxsize=None)
def module_resolves(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def measure_code(source: str) -> dict:
    """All measures of one generated program, as stored with each sample."""
    error = _compile_error(source)
    tree = _parse(source) if error is None else None
    lines = max(1, len(source.splitlines()))
    measures = {"compile": _status(error), "lines": lines}
    if error is not None:
        measures["compile_error"] = compile_error_message(error)
    if tree is not None:
        imports = imported_modules(tree)
        measures.update(idioms=idiom_counts(tree), pep8_violations=pep8_violations(source),
                        ends_in_comment=ends_in_comment(source), imports=imports,
                        unresolved_imports=[name for name in imports if not module_resolves(name)])
    return measures
